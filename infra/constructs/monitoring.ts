/**
 * ModelMonitoring: a use case's monitor function on its schedule (`monitoring.schedule`), with
 * exactly the reads and writes a check needs; the alarms on drift and on quality (realized and
 * estimated) to the use case's topic; and a dashboard of the serving and monitoring figures.
 */
import { join } from 'node:path';
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { modelFeatures, type UseCase } from '../../shared/config/use-case.ts';
import { SLOTS } from '../../shared/deployment/names.ts';
import { labelPrefix } from '../../shared/labels/schema.ts';
import { MONITOR_METRICS, MonitorEnvSchema, monitorFunctionName } from '../../shared/monitoring/api.ts';
import { monitoringReportPrefix } from '../../shared/monitoring/monitor.ts';
import { trainingStateMachineName } from '../../shared/pipeline/names.ts';
import { PREDICT_METRICS } from '../../shared/serving/api.ts';
import { predictionLogPrefix } from '../../shared/serving/prediction-log.ts';
import { PRICES } from '../../shared/serving/prices.ts';
import { functionLogDefaults, type StageConfig } from '../config/stage.ts';
import { throwIfProblems } from './errors.ts';
import { MlopsFunction } from './mlops-function.ts';
import type { LedgerTable } from './mlops-table.ts';
import { bucketArnFor, iam5ResourceFinding } from './nag-ids.ts';
import { environmentFor } from './training-pipeline/step-functions.ts';

const FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions', 'monitoring');

/** A check reads a window of the log; 10^6 predictions need memory for one object and the samples. */
const MONITOR_MEMORY_MB = 2048;

export interface ModelMonitoringProps {
  readonly useCase: UseCase;
  readonly stage: StageConfig;
  readonly encryptionKey: IKey;
  readonly ledger: LedgerTable;
  /** The prediction log (read) and where the full reports go (`monitoring/<useCase>/`). */
  readonly predictionLogs: IBucket;
  /** Feedback labels, dataset manifests (snapshots) and each run's monitoring reference. */
  readonly datasetsBucket: IBucket;
  /** The training pipeline a drift starts. */
  readonly trainingPipeline: sfn.IStateMachine;
  /** Where drift and quality alarms notify. */
  readonly notifications: ITopic;
  readonly endpointName: string;
}

/** The per-period figure of one of the monitor's EMF metrics. */
function monitorMetric(
  useCase: string,
  metricName: string,
  statistic: string,
  period: Duration,
  extra: Record<string, string> = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: MONITOR_METRICS.namespace,
    metricName,
    dimensionsMap: { service: MONITOR_METRICS.service, useCase, ...extra },
    statistic,
    period,
  });
}

/** One use case's monitor, its schedule, its alarms and its dashboard. */
export class ModelMonitoring extends Construct {
  readonly monitor: MlopsFunction;
  readonly schedule: events.Rule;
  /** The drift and quality alarms, by name. */
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ModelMonitoringProps) {
    super(scope, id);
    const { useCase, stage, endpointName } = props;

    // Check
    const problems: string[] = [];
    const functionName = monitorFunctionName(stage.name, useCase.name);
    if (functionName.length > 64) {
      problems.push(
        `the monitor function name '${functionName}' is longer than 64 characters; shorten the stage or use-case name`,
      );
    }
    const environment = environmentFor(
      'Monitor',
      MonitorEnvSchema,
      {
        USE_CASE_CONFIG: JSON.stringify(useCase),
        LEDGER_TABLE: props.ledger.table.tableName,
        LEDGER_CHAIN: 'main',
        LEDGER_SIGNING_KEY: props.ledger.signingKey.keyArn,
        PREDICTION_LOG_BUCKET: props.predictionLogs.bucketName,
        DATASETS_BUCKET: props.datasetsBucket.bucketName,
        ENDPOINT_NAME: endpointName,
        TRAINING_STATE_MACHINE_ARN: props.trainingPipeline.stateMachineArn,
      },
      problems,
    );
    throwIfProblems(this, problems);

    // Build
    this.monitor = new MlopsFunction(this, 'Monitor', {
      functionName,
      entry: join(FUNCTIONS_DIR, 'monitor.ts'),
      description: `${useCase.name}: drift, data and model quality over the prediction log; retrains on drift`,
      encryptionKey: props.encryptionKey,
      timeout: Duration.minutes(15),
      memorySize: Math.max(stage.lambdaMemoryMb, MONITOR_MEMORY_MB),
      ...functionLogDefaults(stage),
      invocation: 'async',
      // One check at a time per use case: the cooldown is read, then a run started.
      reservedConcurrentExecutions: 1,
      environment: {
        ...environment,
        POWERTOOLS_SERVICE_NAME: MONITOR_METRICS.service,
        POWERTOOLS_METRICS_NAMESPACE: MONITOR_METRICS.namespace,
      },
    });
    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Monitoring check of ${useCase.name}`,
      schedule: events.Schedule.expression(useCase.monitoring.schedule),
      // The Scheduled Event itself is the input: its `time` pins the window, so a retried or
      // replayed event checks the same window. A failed delivery or check lands in the function's DLQ.
      targets: [
        new targets.LambdaFunction(this.monitor.fn, {
          retryAttempts: 2,
          ...(this.monitor.deadLetterQueue ? { deadLetterQueue: this.monitor.deadLetterQueue } : {}),
        }),
      ],
    });

    // Wire: least privilege, each grant next to its acknowledgement.
    const fn = this.monitor.fn;
    props.ledger.grantAppend(fn);
    props.ledger.grantRead(fn);
    props.encryptionKey.grant(fn, 'kms:Decrypt', 'kms:GenerateDataKey');
    const logsArn = bucketArnFor(this, props.predictionLogs, 'PredictionLogs');
    const datasetsArn = bucketArnFor(this, props.datasetsBucket, 'Datasets');
    const logObjects = `${logsArn}/${predictionLogPrefix(useCase.name)}*`;
    const reports = `${logsArn}/${monitoringReportPrefix(useCase.name)}*`;
    const labels = `${datasetsArn}/${labelPrefix(useCase.name)}*`;
    const manifests = `${datasetsArn}/snapshots/${useCase.name}/*`;
    const references = `${datasetsArn}/runs/*/monitoring-reference.json`;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ListWindow',
        actions: ['s3:ListBucket'],
        resources: [logsArn],
        conditions: { StringLike: { 's3:prefix': [`${predictionLogPrefix(useCase.name)}*`] } },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ListFeedback',
        actions: ['s3:ListBucket'],
        resources: [datasetsArn],
        // Without listing the manifest's folder, a missing reference answers 403, not 404.
        conditions: {
          StringLike: {
            's3:prefix': [`${labelPrefix(useCase.name)}*`, `snapshots/${useCase.name}/*`, 'runs/*'],
          },
        },
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadWindowAndReferences',
        actions: ['s3:GetObject'],
        resources: [logObjects, labels, manifests, references],
      }),
    );
    // Manifests are read at the version DatasetBuilt recorded, which needs GetObjectVersion.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadManifestVersions',
        actions: ['s3:GetObjectVersion'],
        resources: [manifests],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'WriteReports', actions: ['s3:PutObject'], resources: [reports] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StartRetraining',
        actions: ['states:StartExecution'],
        resources: [props.trainingPipeline.stateMachineArn],
      }),
    );
    // A repeated check of a window asks whether its run (named after the window) exists.
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${trainingStateMachineName(stage.name, useCase.name)}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'FindRetraining',
        actions: ['states:DescribeExecution'],
        resources: [executions],
      }),
    );
    const ledgerKeyReason =
      "Granted by LedgerTable.grantAppend (the key's encrypt/decrypt set) so the monitor can write its reports to the KMS-encrypted ledger; scoped to that one key.";
    Validations.of(this.monitor).acknowledge(
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: ledgerKeyReason },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: ledgerKeyReason },
      {
        id: iam5ResourceFinding(this, logObjects),
        reason: `Read-only, limited to this use case's prediction log (${predictionLogPrefix(useCase.name)}), whose objects Firehose names by arrival time.`,
      },
      {
        id: iam5ResourceFinding(this, labels),
        reason: `Read-only, limited to this use case's labels (${labelPrefix(useCase.name)}), partitioned by day and named by content hash.`,
      },
      {
        id: iam5ResourceFinding(this, manifests),
        reason: `Read-only, limited to this use case's dataset snapshots and manifests, named by content hash.`,
      },
      {
        id: iam5ResourceFinding(this, references),
        reason:
          "Read-only, limited to each run's monitoring-reference.json; run IDs are known only at run time.",
      },
      {
        id: iam5ResourceFinding(this, executions),
        reason:
          "Read-only, limited to the executions of this use case's training pipeline, named by run ID at start.",
      },
      {
        id: iam5ResourceFinding(this, reports),
        reason: `Write-only, limited to this use case's monitoring reports (${monitoringReportPrefix(useCase.name)}), named by window and model version.`,
      },
    );

    // Build: the alarms. A drift alarm says the traffic moved; the retraining is already under way.
    const hour = Duration.hours(1);
    const floor = useCase.monitoring.qualityFloor;
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const alarm = (key: string, name: string, props: cloudwatch.AlarmProps) => {
      alarms[name] = new cloudwatch.Alarm(this, key, { ...props, alarmName: name });
    };
    alarm('Drift', `${endpointName}-drift`, {
      alarmDescription: `The share of drifted features of ${useCase.name} reached monitoring.driftShare (${useCase.monitoring.driftShare}); see the MonitoringReport in the ledger.`,
      metric: monitorMetric(useCase.name, MONITOR_METRICS.driftedShare, 'Maximum', hour),
      threshold: useCase.monitoring.driftShare,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('QualityFloor', `${endpointName}-quality-floor`, {
      alarmDescription: `The AUC of ${useCase.name}'s served predictions against their feedback fell below ${floor.auc ?? useCase.gates.minAuc}.`,
      metric: monitorMetric(useCase.name, MONITOR_METRICS.realizedAuc, 'Minimum', hour),
      threshold: floor.auc ?? useCase.gates.minAuc,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('EstimatedQualityFloor', `${endpointName}-estimated-quality-floor`, {
      alarmDescription: `The AUC of ${useCase.name} estimated from its scores (CBPE, before the labels) fell below ${floor.estimatedAuc ?? useCase.gates.minAuc}.`,
      metric: monitorMetric(useCase.name, MONITOR_METRICS.estimatedAuc, 'Minimum', hour),
      threshold: floor.estimatedAuc ?? useCase.gates.minAuc,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm('MonitorFailing', `${endpointName}-monitor-failing`, {
      alarmDescription: `The monitor of ${useCase.name} failed; its events are kept in its dead-letter queue.`,
      metric: fn.metricErrors({ period: hour, statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const a of Object.values(alarms)) a.addAlarmAction(new actions.SnsAction(props.notifications));
    this.alarms = alarms;

    // Build: the dashboard, one row per question.
    const minute = Duration.minutes(5);
    // Deployments alternate between the two slots: show both.
    const endpoint = (metricName: string, statistic: string) =>
      SLOTS.map(
        (slot) =>
          new cloudwatch.Metric({
            namespace: 'AWS/SageMaker',
            metricName,
            dimensionsMap: { EndpointName: endpointName, VariantName: slot },
            statistic,
            period: minute,
            label: `${metricName} ${slot}`,
          }),
      );
    const predict = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: PREDICT_METRICS.namespace,
        metricName,
        dimensionsMap: { service: PREDICT_METRICS.service, useCase: useCase.name },
        statistic,
        period: minute,
      });
    const invocations = predict('PredictLatency', 'SampleCount');
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `mlops-${stage.name}-${useCase.name}`,
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Predict latency (ms)',
            left: ['p50', 'p99'].map((s) => predict('PredictLatency', s)),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Predictions and errors',
            left: [invocations],
            right: [predict(PREDICT_METRICS.failures, 'Sum'), predict(PREDICT_METRICS.notKept, 'Sum')],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Endpoint slots: model latency p99 (µs), 5xx',
            left: endpoint('ModelLatency', 'p99'),
            right: endpoint('Invocation5XXErrors', 'Sum'),
            width: 8,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Drifted share of features',
            left: [monitorMetric(useCase.name, MONITOR_METRICS.driftedShare, 'Maximum', hour)],
            leftAnnotations: [{ value: useCase.monitoring.driftShare, label: 'driftShare' }],
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'Drift per feature (statistic, or 1 - p)',
            left: modelFeatures(useCase).map((f) =>
              monitorMetric(useCase.name, MONITOR_METRICS.featureDriftScore, 'Maximum', hour, {
                feature: f.name,
              }),
            ),
            width: 8,
          }),
          new cloudwatch.GraphWidget({
            title: 'AUC: realized (feedback) and estimated (CBPE)',
            left: [
              monitorMetric(useCase.name, MONITOR_METRICS.realizedAuc, 'Average', hour),
              monitorMetric(useCase.name, MONITOR_METRICS.estimatedAuc, 'Average', hour),
            ],
            leftAnnotations: [{ value: floor.auc ?? useCase.gates.minAuc, label: 'quality floor' }],
            width: 8,
          }),
        ],
        [
          ...costWidget(useCase, predict('PredictLatency', 'SampleCount').with({ period: Duration.days(1) })),
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(alarms), width: 12 }),
        ],
      ],
    });
  }
}

/** Cost per 1,000 predictions over a day: the instance hours over the predictions served. */
function costWidget(useCase: UseCase, predictions: cloudwatch.IMetric): cloudwatch.IWidget[] {
  const hourly = instanceHourlyCost(useCase);
  if (hourly === undefined) return [];
  return [
    new cloudwatch.SingleValueWidget({
      title: 'Cost per 1,000 predictions (USD, endpoint instance hours, last 24 h)',
      metrics: [
        new cloudwatch.MathExpression({
          label: `USD per 1,000 predictions at ${hourly} USD/h (see mlops cost for the full model)`,
          expression: `IF(n > 0, 1000 * ${hourly} * 24 / n, 0)`,
          usingMetrics: { n: predictions },
          period: Duration.days(1),
        }),
      ],
      width: 12,
    }),
  ];
}

/**
 * The endpoint's on-demand cost per hour at its initial size, from the price table; undefined for
 * serverless (billed per request: `mlops cost` models it) or an instance type the table lacks.
 */
function instanceHourlyCost(useCase: UseCase): number | undefined {
  const d = useCase.deployment;
  if (d.mode !== 'instance') return undefined;
  const price = PRICES.sagemaker.realTime[d.instanceType];
  return price ? price.usd * d.initialInstanceCount : undefined;
}
