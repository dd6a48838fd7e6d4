import { Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { UseCase } from '../../shared/config/use-case.ts';
import { logRetentionOf, removalPolicyOf, type StageConfig } from '../config/stage.ts';
import { Audit } from '../constructs/audit.ts';
import { FeatureStore } from '../constructs/feature-store.ts';
import { LabelStore } from '../constructs/label-store.ts';
import type { LedgerTable } from '../constructs/mlops-table.ts';
import { ModelMonitoring } from '../constructs/monitoring.ts';
import { ModelServing } from '../constructs/serving.ts';
import { TrainingApprovals, TrainingPipeline } from '../constructs/training-pipeline/index.ts';

export interface ServiceStackProps extends StackProps {
  /** Stage settings: log retention, removal policy, sizing. */
  readonly stage: StageConfig;
  /** The data stack's key: encrypts the API's access logs and the functions' logs and queues. */
  readonly encryptionKey: IKey;
  /** The lineage ledger. */
  readonly ledger: LedgerTable;
  /** The Object Lock audit archive. */
  readonly auditArchive: IBucket;
  /** Online feature store table. */
  readonly onlineFeatures: ITableV2;
  /** Offline feature store bucket. */
  readonly offlineFeatures: IBucket;
  /** Datasets bucket (bulk ingest drop zone, labels, snapshots, run channels). */
  readonly datasets: IBucket;
  /** Model artifacts bucket (training output). */
  readonly artifacts: IBucket;
  /** Transient pipeline state keyed by `runId` (approval task tokens). */
  readonly runState: ITableV2;
  /** Prediction-log bucket: every prediction, delivered by each use case's Firehose stream. */
  readonly predictionLogs: IBucket;
  /** Served requests, which the feedback routes look up by requestId. */
  readonly servedRequests: ITableV2;
  /**
   * Folder holding the training pipeline's step handlers.
   * @default - functions/pipeline
   */
  readonly pipelineFunctionsDir?: string;
  /** Every use case of the deployment. */
  readonly useCases: readonly UseCase[];
}

/**
 * The product's API: ONE REST API, IAM-authorized by default, with JSON access logs in a
 * KMS-encrypted log group, X-Ray tracing and stage throttling. Features add their routes to
 * `api` through their own constructs; this stack only makes the decisions they share.
 */
export class ServiceStack extends Stack {
  /** The REST API every route of the product hangs off. */
  readonly api: apigw.RestApi;
  /** The audit routes, archiver and auditor role. */
  readonly audit: Audit;
  /** The feature store routes and bulk ingestion. */
  readonly features: FeatureStore;
  /** The label route and bulk label ingestion. */
  readonly labels: LabelStore;
  /** One training pipeline per use case, by use-case name. */
  readonly pipelines: Readonly<Record<string, TrainingPipeline>>;
  /** One predict route, function and set of deployment alarms per use case, by use-case name. */
  readonly serving: Readonly<Record<string, ModelServing>>;
  /** Per use case: the monitor, its schedule, alarms and dashboard. */
  readonly monitoring: Readonly<Record<string, ModelMonitoring>>;
  /** `POST /training/runs/{runId}/approval`, shared by every pipeline. */
  readonly trainingApprovals: TrainingApprovals;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, props);
    const { stage } = props;
    const removal = removalPolicyOf(stage);

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', {
      encryptionKey: props.encryptionKey,
      retention: logRetentionOf(stage),
      removalPolicy: removal,
    });
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: `mlops-${stage.name}`,
      description: `mlops ${stage.name}: features, labels, training, predict, feedback and audit routes`,
      endpointTypes: [apigw.EndpointType.REGIONAL],
      defaultMethodOptions: { authorizationType: apigw.AuthorizationType.IAM },
      // Execution logs need the account-level CloudWatch role.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: removal,
      deployOptions: {
        stageName: 'v1',
        tracingEnabled: true,
        metricsEnabled: true,
        loggingLevel: apigw.MethodLoggingLevel.ERROR,
        // Request and response bodies may carry features; never copy them to logs.
        dataTraceEnabled: false,
        // Every method of the stage ('/*/*'): predict, features, labels, feedback, training, audit.
        throttlingRateLimit: stage.apiThrottle.rateLimit,
        throttlingBurstLimit: stage.apiThrottle.burstLimit,
        accessLogDestination: new apigw.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigw.AccessLogFormat.jsonWithStandardFields({
          caller: true,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: true,
        }),
      },
    });

    this.features = new FeatureStore(this, 'Features', {
      onlineTable: props.onlineFeatures,
      offlineBucket: props.offlineFeatures,
      datasetsBucket: props.datasets,
      encryptionKey: props.encryptionKey,
      api: this.api,
      stage,
      useCases: props.useCases,
    });

    this.labels = new LabelStore(this, 'Labels', {
      datasetsBucket: props.datasets,
      encryptionKey: props.encryptionKey,
      api: this.api,
      stage,
      useCases: props.useCases,
    });

    const pipelines: Record<string, TrainingPipeline> = {};
    for (const useCase of props.useCases) {
      pipelines[useCase.name] = new TrainingPipeline(this, `Training-${useCase.name}`, {
        useCase,
        stage,
        encryptionKey: props.encryptionKey,
        ledger: props.ledger,
        datasetsBucket: props.datasets,
        offlineBucket: props.offlineFeatures,
        artifactsBucket: props.artifacts,
        runState: props.runState,
        predictionLogsBucket: props.predictionLogs,
        api: this.api,
        functionsDir: props.pipelineFunctionsDir,
      });
    }
    this.pipelines = pipelines;
    const serving: Record<string, ModelServing> = {};
    for (const useCase of props.useCases) {
      const pipeline = pipelines[useCase.name] as TrainingPipeline;
      serving[useCase.name] = new ModelServing(this, `Serving-${useCase.name}`, {
        useCase,
        stage,
        encryptionKey: props.encryptionKey,
        api: this.api,
        onlineTable: props.onlineFeatures,
        datasetsBucket: props.datasets,
        predictionLogs: props.predictionLogs,
        servedRequests: props.servedRequests,
        notifications: pipeline.topic,
        endpointName: pipeline.endpointName,
        modelPackageGroupName: pipeline.modelPackageGroupName,
      });
    }
    this.serving = serving;
    const monitoring: Record<string, ModelMonitoring> = {};
    for (const useCase of props.useCases) {
      const pipeline = pipelines[useCase.name] as TrainingPipeline;
      monitoring[useCase.name] = new ModelMonitoring(this, `Monitoring-${useCase.name}`, {
        useCase,
        stage,
        encryptionKey: props.encryptionKey,
        ledger: props.ledger,
        predictionLogs: props.predictionLogs,
        datasetsBucket: props.datasets,
        trainingPipeline: pipeline.stateMachine,
        notifications: pipeline.topic,
        endpointName: pipeline.endpointName,
      });
    }
    this.monitoring = monitoring;
    this.trainingApprovals = new TrainingApprovals(this, 'TrainingApprovals', {
      runState: props.runState,
      encryptionKey: props.encryptionKey,
      api: this.api,
      stage,
      pipelines: Object.values(pipelines),
      functionsDir: props.pipelineFunctionsDir,
    });

    this.audit = new Audit(this, 'Audit', {
      ledger: props.ledger,
      auditArchive: props.auditArchive,
      encryptionKey: props.encryptionKey,
      api: this.api,
      stage,
    });

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-COG4',
        reason: 'Every route is IAM-authorized (SigV4); callers are AWS principals, not Cognito users.',
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'Every route requires a SigV4-signed request, which API Gateway checks before any integration runs, and the stage throttles; a WAF web ACL is left to the platform team that owns the account edge.',
      },
      {
        id: 'NIST.800.53.R5-APIGWAssociatedWithWAF',
        reason:
          'Every route requires a SigV4-signed request, which API Gateway checks before any integration runs, and the stage throttles; a WAF web ACL is left to the platform team that owns the account edge.',
      },
      {
        id: 'NIST.800.53.R5-APIGWCacheEnabledAndEncrypted',
        reason:
          'Answers must reflect the ledger and feature store as they are now (a cached verify or served-at would mislead an auditor); responses carry cache-control: no-store.',
      },
      {
        id: 'NIST.800.53.R5-APIGWSSLEnabled',
        reason:
          'Every integration calls an AWS API over TLS (Lambda proxy, or Step Functions StartExecution); there is no HTTP backend to present a client certificate to.',
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'AmazonAPIGatewayPushToCloudWatchLogs is the AWS-maintained policy for the account-level role API Gateway uses to write execution logs; it grants only CloudWatch Logs writes.',
      },
    );
  }
}
