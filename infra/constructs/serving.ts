/**
 * ModelServing: a use case's `POST /predict/<useCase>` route, its predict function, and the
 * alarms that guard its deployments (per variant slot: 5xx answers and model latency p99; and the
 * predict function's failures). The alarms carry the names shared/deployment/names.ts derives, so
 * the deploy machine watches, and SageMaker's auto-rollback names, exactly these.
 */
import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { UseCase } from '../../shared/config/use-case.ts';
import { deploymentAlarmNames, SLOTS, type Slot } from '../../shared/deployment/names.ts';
import { PREDICT_METRICS, PredictEnvSchema, SERVING_ROUTES, servingPath } from '../../shared/serving/api.ts';
import { functionLogDefaults, type StageConfig } from '../config/stage.ts';
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
  /** Datasets bucket: each run's encoding.json. */
  readonly datasetsBucket: IBucket;
  /** The use case's endpoint. */
  readonly endpointName: string;
  /** The use case's model package group (serving models are named after it). */
  readonly modelPackageGroupName: string;
}

/** One use case's predict route, function and deployment alarms. */
export class ModelServing extends Construct {
  readonly predict: MlopsFunction;
  /** Every alarm, by name. */
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: ModelServingProps) {
    super(scope, id);
    const { useCase, stage, endpointName } = props;
    const guard = useCase.deployment.guardrails;

    // Build: the function, given exactly what its handler parses.
    const problems: string[] = [];
    const environment = environmentFor(
      'Predict',
      PredictEnvSchema,
      {
        USE_CASE_CONFIG: JSON.stringify(useCase),
        ONLINE_TABLE: props.onlineTable.tableName,
        ENDPOINT_NAME: endpointName,
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

    // Wire: least privilege, each grant next to its acknowledgement.
    const fn = this.predict.fn;
    props.encryptionKey.grant(fn, 'kms:Decrypt');
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
      metric: new cloudwatch.Metric({
        namespace: PREDICT_METRICS.namespace,
        metricName: PREDICT_METRICS.failures,
        dimensionsMap: { service: PREDICT_METRICS.service, useCase: useCase.name },
        statistic: 'Sum',
        period: Duration.minutes(1),
      }),
      threshold: guard.maxPredictErrorsPerMinute,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarms = alarms;
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
