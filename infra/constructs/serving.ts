/**
 * ModelServing: a use case's `POST /predict/<useCase>` and `POST /feedback/<useCase>` routes and
 * their functions; the Firehose stream that delivers the prediction log to the prediction-log
 * bucket; and the alarms that guard its deployments (per variant slot: 5xx answers and model
 * latency p99; and the predict function's failures), plus one on predictions not kept. The
 * deployment alarms carry the names shared/deployment/names.ts derives, so the deploy machine
 * watches, and SageMaker's auto-rollback names, exactly these.
 */
import { join } from 'node:path';
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { UseCase } from '../../shared/config/use-case.ts';
import { deploymentAlarmNames, SLOTS, type Slot } from '../../shared/deployment/names.ts';
import { labelPrefix } from '../../shared/labels/schema.ts';
import {
  FeedbackEnvSchema,
  PREDICT_METRICS,
  PredictEnvSchema,
  SERVING_ROUTES,
  servingPath,
} from '../../shared/serving/api.ts';
import {
  PREDICTION_LOG_BUFFER,
  predictionLogDeliveryPrefix,
  predictionLogErrorPrefix,
  predictionLogErrorRoot,
  predictionLogPrefix,
} from '../../shared/serving/prediction-log.ts';
import { functionLogDefaults, logRetentionOf, removalPolicyOf, type StageConfig } from '../config/stage.ts';
import { throwIfProblems } from './errors.ts';
import { addIamRoutes } from './ingestion.ts';
import { MlopsFunction } from './mlops-function.ts';
import { bucketArnFor, iam5ResourceFinding } from './nag-ids.ts';
import { environmentFor } from './training-pipeline/step-functions.ts';

const FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions', 'serving');

export interface ModelServingProps {
  readonly useCase: UseCase;
  readonly stage: StageConfig;
  readonly encryptionKey: IKey;
  readonly api: apigw.RestApi;
  /** The online feature store, read with one BatchGetItem per prediction. */
  readonly onlineTable: ITableV2;
  /** Datasets bucket: each run's encoding.json, and the label path feedback writes to. */
  readonly datasetsBucket: IBucket;
  /** Where the prediction log is delivered. */
  readonly predictionLogs: IBucket;
  /** Served requests, written by predict and read by feedback. */
  readonly servedRequests: ITableV2;
  /** Where the alarm on predictions not kept notifies (the use case's failure topic). */
  readonly notifications: ITopic;
  /** The use case's endpoint. */
  readonly endpointName: string;
  /** The use case's model package group (serving models are named after it). */
  readonly modelPackageGroupName: string;
}

/** The per-period sum of one of the predict function's EMF counters. */
function predictSum(useCase: string, metricName: string, period: Duration): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: PREDICT_METRICS.namespace,
    metricName,
    dimensionsMap: { service: PREDICT_METRICS.service, useCase },
    statistic: 'Sum',
    period,
  });
}

/** Firehose stream names are at most 64 characters. */
const MAX_STREAM_NAME = 64;

/** One use case's predict and feedback routes, their functions, the prediction log and the alarms. */
export class ModelServing extends Construct {
  readonly predict: MlopsFunction;
  readonly feedback: MlopsFunction;
  /** Delivers the prediction log to `predictions/<useCase>/date=/hour=/`. */
  readonly predictionLog: firehose.CfnDeliveryStream;
  /** Every alarm, by name. */
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: ModelServingProps) {
    super(scope, id);
    const { useCase, stage, endpointName } = props;
    const guard = useCase.deployment.guardrails;

    // Check
    const problems: string[] = [];
    const streamName = `mlops-${stage.name}-${useCase.name}-predictions`;
    if (streamName.length > MAX_STREAM_NAME) {
      problems.push(
        `the prediction-log stream name '${streamName}' is longer than ${MAX_STREAM_NAME} characters; shorten the stage or use-case name`,
      );
    }

    // Build: the prediction log's delivery, KMS-encrypted in the stream and in the bucket.
    const deliveryLogs = new logs.LogGroup(this, 'PredictionLogDelivery', {
      encryptionKey: props.encryptionKey,
      retention: logRetentionOf(stage),
      removalPolicy: removalPolicyOf(stage),
    });
    const deliveryErrors = new logs.LogStream(this, 'PredictionLogDeliveryErrors', {
      logGroup: deliveryLogs,
      removalPolicy: removalPolicyOf(stage),
    });
    const deliveryRole = new iam.Role(this, 'PredictionLogRole', {
      description: `Firehose: delivers the ${useCase.name} prediction log to the prediction-log bucket`,
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'sts:ExternalId': Stack.of(this).account } },
      }),
    });
    const logsBucketArn = bucketArnFor(this, props.predictionLogs, 'PredictionLogs');
    const deliveredObjects = [
      `${logsBucketArn}/${predictionLogPrefix(useCase.name)}*`,
      `${logsBucketArn}/${predictionLogErrorRoot(useCase.name)}*`,
    ];
    // The S3 destination's documented permissions, on this use case's prefixes only.
    deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'LocateBucket',
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [logsBucketArn],
      }),
    );
    deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DeliverObjects',
        actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
        resources: deliveredObjects,
      }),
    );
    deliveryRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReportDeliveryErrors',
        actions: ['logs:PutLogEvents'],
        resources: [
          Stack.of(this).formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: `${deliveryLogs.logGroupName}:log-stream:${deliveryErrors.logStreamName}`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    );
    props.encryptionKey.grant(deliveryRole, 'kms:Decrypt', 'kms:GenerateDataKey');
    Validations.of(deliveryRole).acknowledge(
      ...deliveredObjects.map((o) => ({
        id: iam5ResourceFinding(this, o),
        reason:
          "Limited to this use case's prediction-log and error prefixes, where Firehose names each delivered object by arrival time and a random suffix.",
      })),
      {
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason:
          "Statements are scoped to this use case's prefixes, key and log stream and owned by this one role; a managed policy would not narrow them.",
      },
    );
    this.predictionLog = new firehose.CfnDeliveryStream(this, 'PredictionLog', {
      deliveryStreamName: streamName,
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: {
        keyType: 'CUSTOMER_MANAGED_CMK',
        keyArn: props.encryptionKey.keyArn,
      },
      extendedS3DestinationConfiguration: {
        bucketArn: logsBucketArn,
        roleArn: deliveryRole.roleArn,
        prefix: predictionLogDeliveryPrefix(useCase.name),
        errorOutputPrefix: predictionLogErrorPrefix(useCase.name),
        bufferingHints: {
          intervalInSeconds: PREDICTION_LOG_BUFFER.intervalSeconds,
          sizeInMBs: PREDICTION_LOG_BUFFER.sizeMb,
        },
        compressionFormat: 'UNCOMPRESSED',
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: props.encryptionKey.keyArn } },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: deliveryLogs.logGroupName,
          logStreamName: deliveryErrors.logStreamName,
        },
      },
    });
    // The role's policy must exist before Firehose first writes with it.
    this.predictionLog.node.addDependency(deliveryRole);

    // Build: the functions, given exactly what their handlers parse.
    const environment = environmentFor(
      'Predict',
      PredictEnvSchema,
      {
        USE_CASE_CONFIG: JSON.stringify(useCase),
        ONLINE_TABLE: props.onlineTable.tableName,
        ENDPOINT_NAME: endpointName,
        PREDICTION_STREAM: streamName,
        SERVED_TABLE: props.servedRequests.tableName,
      },
      problems,
    );
    const feedbackEnvironment = environmentFor(
      'Feedback',
      FeedbackEnvSchema,
      {
        USE_CASE_CONFIG: JSON.stringify(useCase),
        SERVED_TABLE: props.servedRequests.tableName,
        DATASETS_BUCKET: props.datasetsBucket.bucketName,
      },
      problems,
    );
    throwIfProblems(this, problems);
    this.predict = new MlopsFunction(this, 'Predict', {
      entry: join(FUNCTIONS_DIR, 'predict.ts'),
      description: `${useCase.name}: POST /predict (online features, encode, InvokeEndpoint)`,
      encryptionKey: props.encryptionKey,
      timeout: Duration.seconds(29),
      memorySize: stage.lambdaMemoryMb,
      ...functionLogDefaults(stage),
      environment: {
        ...environment,
        // The alarm on the function's 5xx answers reads the metric under this service and namespace.
        POWERTOOLS_SERVICE_NAME: PREDICT_METRICS.service,
        POWERTOOLS_METRICS_NAMESPACE: PREDICT_METRICS.namespace,
      },
    });

    this.feedback = new MlopsFunction(this, 'Feedback', {
      entry: join(FUNCTIONS_DIR, 'feedback.ts'),
      description: `${useCase.name}: POST /feedback (ground truth of a served prediction, through the label path)`,
      encryptionKey: props.encryptionKey,
      timeout: Duration.seconds(29),
      memorySize: stage.lambdaMemoryMb,
      ...functionLogDefaults(stage),
      environment: feedbackEnvironment,
    });

    // Wire: least privilege, each grant next to its acknowledgement.
    const fn = this.predict.fn;
    // Decrypt: the online and served tables; GenerateDataKey: the served-request writes.
    props.encryptionKey.grant(fn, 'kms:Decrypt', 'kms:GenerateDataKey');
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'SendPredictionLog',
        actions: ['firehose:PutRecord'],
        resources: [this.predictionLog.attrArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StoreServedRequests',
        actions: ['dynamodb:PutItem'],
        resources: [props.servedRequests.tableArn],
      }),
    );
    const feedbackFn = this.feedback.fn;
    props.encryptionKey.grant(feedbackFn, 'kms:Decrypt', 'kms:GenerateDataKey');
    feedbackFn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ClaimServedRequests',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [props.servedRequests.tableArn],
      }),
    );
    const datasetsArn = bucketArnFor(this, props.datasetsBucket, 'Datasets');
    // Without ListBucket, HeadObject answers 403 instead of 404 for a label not written yet.
    feedbackFn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TellAbsentFromForbidden',
        actions: ['s3:ListBucket'],
        resources: [datasetsArn],
      }),
    );
    const labelObjects = `${datasetsArn}/${labelPrefix(useCase.name)}*`;
    feedbackFn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AppendLabelsAndCheckReplay',
        // GetObject also answers HeadObject, which detects a replayed label event.
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [labelObjects],
      }),
    );
    Validations.of(this.feedback).acknowledge({
      id: iam5ResourceFinding(this, labelObjects),
      reason: `Limited to this use case's labels (${labelPrefix(useCase.name)}), partitioned by day, whose object keys are content hashes of each label event, unknown in advance.`,
    });
    addIamRoutes(
      props.api,
      this.feedback,
      { id: `FeedbackParams-${useCase.name}`, name: `feedback-${useCase.name}` },
      [{ method: SERVING_ROUTES.feedback.method, path: servingPath('feedback', useCase.name) }],
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadOnlineFeatures',
        actions: ['dynamodb:BatchGetItem'],
        resources: [props.onlineTable.tableArn],
      }),
    );
    const sagemakerArn = (resource: string, name: string) =>
      this.stack.formatArn({ service: 'sagemaker', resource, resourceName: name });
    const endpointArn = sagemakerArn('endpoint', endpointName);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'InvokeAndDescribeEndpoint',
        actions: ['sagemaker:InvokeEndpoint', 'sagemaker:DescribeEndpoint'],
        resources: [endpointArn],
      }),
    );
    const configs = sagemakerArn('endpoint-config', `${endpointName}-*`);
    const models = sagemakerArn('model', `${props.modelPackageGroupName}-v*`);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadWhatServes',
        actions: ['sagemaker:DescribeEndpointConfig', 'sagemaker:DescribeModel'],
        resources: [configs, models],
      }),
    );
    const encodings = `${bucketArnFor(this, props.datasetsBucket, 'Datasets')}/runs/*/encoding.json`;
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'ReadEncodings', actions: ['s3:GetObject'], resources: [encodings] }),
    );
    Validations.of(this.predict).acknowledge(
      {
        id: iam5ResourceFinding(this, configs),
        reason:
          "Read-only, limited to this endpoint's configs (<endpoint>-*); each deployment names its own, known only at run time.",
      },
      {
        id: iam5ResourceFinding(this, models),
        reason:
          "Read-only, limited to this use case's serving models (<package group>-v<version>-serve), named at deployment.",
      },
      {
        id: iam5ResourceFinding(this, encodings),
        reason:
          "Read-only, limited to the runs' encoding.json files, one per training run, known only at run time.",
      },
    );
    addIamRoutes(
      props.api,
      this.predict,
      { id: `PredictParams-${useCase.name}`, name: `predict-${useCase.name}` },
      [{ method: SERVING_ROUTES.predict.method, path: servingPath('predict', useCase.name) }],
    );

    // Build: the alarms a deployment's bake watches, named as the deploy functions expect.
    const names = deploymentAlarmNames(endpointName);
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const variantMetric = (metricName: string, slot: Slot, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/SageMaker',
        metricName,
        dimensionsMap: { EndpointName: endpointName, VariantName: slot },
        statistic,
        period: Duration.minutes(1),
      });
    for (const slot of SLOTS) {
      alarms[names.errors[slot]] = new cloudwatch.Alarm(this, `Errors-${slot}`, {
        alarmName: names.errors[slot],
        alarmDescription: `The ${slot} variant of ${endpointName} answered 5xx more than ${guard.max5xxPerMinute} time(s) in a minute.`,
        metric: variantMetric('Invocation5XXErrors', slot, 'Sum'),
        threshold: guard.max5xxPerMinute,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarms[names.latency[slot]] = new cloudwatch.Alarm(this, `Latency-${slot}`, {
        alarmName: names.latency[slot],
        alarmDescription: `The ${slot} variant of ${endpointName} had a model latency p99 above ${guard.maxLatencyP99Ms} ms over a minute.`,
        // ModelLatency is reported in microseconds.
        metric: variantMetric('ModelLatency', slot, 'p99'),
        threshold: guard.maxLatencyP99Ms * 1000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    alarms[names.predictErrors] = new cloudwatch.Alarm(this, 'PredictErrors', {
      alarmName: names.predictErrors,
      alarmDescription: `The predict function of ${useCase.name} failed (5xx) more than ${guard.maxPredictErrorsPerMinute} time(s) in a minute.`,
      metric: predictSum(useCase.name, PREDICT_METRICS.failures, Duration.minutes(1)),
      threshold: guard.maxPredictErrorsPerMinute,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarms = alarms;

    // Predictions answered but not kept (log line or served request): the line is in the predict
    // function's logs, to be replayed; someone must know.
    const notKept = new cloudwatch.Alarm(this, 'PredictionsNotKept', {
      alarmName: `${endpointName}-predictions-not-kept`,
      alarmDescription: `Predictions of ${useCase.name} were answered but their log line or served request was not stored; the lines are in the predict function's logs ("prediction not kept").`,
      metric: predictSum(useCase.name, PREDICT_METRICS.notKept, Duration.minutes(5)),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Firehose retries a failed S3 delivery for 24 hours, then drops the data (a stream without
    // transformation writes no error output for S3 failures): alarm long before that.
    const delivery = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/Firehose',
        metricName,
        dimensionsMap: { DeliveryStreamName: streamName },
        statistic,
        period: Duration.minutes(5),
      });
    const deliveryFailing = new cloudwatch.Alarm(this, 'PredictionLogDeliveryFailing', {
      alarmName: `${endpointName}-prediction-log-delivery`,
      alarmDescription: `Firehose failed to deliver ${useCase.name}'s prediction log to S3 (it retries for 24 h, then drops the data); see the ${deliveryLogs.logGroupName} log group.`,
      metric: delivery('DeliveryToS3.Success', 'Minimum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const deliveryLate = new cloudwatch.Alarm(this, 'PredictionLogFreshness', {
      alarmName: `${endpointName}-prediction-log-freshness`,
      alarmDescription: `The oldest record of ${useCase.name}'s prediction log waiting in Firehose is more than 15 minutes old (the buffer is ${PREDICTION_LOG_BUFFER.intervalSeconds} s): deliveries are failing or stuck.`,
      metric: delivery('DeliveryToS3.DataFreshness', 'Maximum'),
      threshold: 900,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [notKept, deliveryFailing, deliveryLate]) {
      alarm.addAlarmAction(new actions.SnsAction(props.notifications));
    }
    for (const alarm of Object.values(alarms)) {
      Validations.of(alarm).acknowledge({
        id: 'NIST.800.53.R5-CloudWatchAlarmAction',
        reason:
          "Acted on by the deploy state machine's bake watch (DescribeAlarms) and SageMaker's AutoRollbackConfiguration, which roll the deployment back; an alarm action would act on the same state twice.",
      });
    }
  }

  private get stack() {
    return this.predict.fn.stack;
  }
}
