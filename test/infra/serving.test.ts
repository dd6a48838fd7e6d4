/**
 * The serving resources as synthesized: the prediction-log stream, what the predict and feedback
 * functions may do (and nothing more), and who hears the alarms on predictions not kept.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app.ts';
import { loadStage } from '../../infra/config/stage.ts';
import { loadUseCases } from '../../infra/config/use-cases.ts';
import type { UseCase } from '../../shared/config/use-case.ts';
import { predictionLogDeliveryPrefix } from '../../shared/serving/prediction-log.ts';
import { SKIP_BUNDLING } from './helpers.ts';

type Json = Record<string, unknown>;
let service: Template;
let data: Template;
let useCase: UseCase;

/** A CloudFormation value as text: references and imports shown as `<...>`, joins concatenated. */
function flat(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(flat).join('');
  const o = (v ?? {}) as Json;
  if ('Ref' in o) return `<${String(o.Ref)}>`;
  if ('Fn::GetAtt' in o) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if ('Fn::ImportValue' in o) return `<import:${flat(o['Fn::ImportValue'])}>`;
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(flat).join(sep);
  }
  return JSON.stringify(o);
}

/** Every statement of the policies attached to the role of the one function whose environment fits. */
function statementsOfFunction(fits: (env: Json) => boolean): Json[] {
  const functions = Object.values(service.findResources('AWS::Lambda::Function')).filter((f) =>
    fits(((f.Properties as Json).Environment as { Variables?: Json } | undefined)?.Variables ?? {}),
  );
  expect(functions).toHaveLength(1);
  const role = flat(((functions[0]?.Properties ?? {}) as Json).Role).replace(/^<|\.Arn>$/g, '');
  return Object.values(service.findResources('AWS::IAM::Policy'))
    .filter((p) => ((p.Properties as Json).Roles as unknown[]).some((r) => flat(r) === `<${role}>`))
    .flatMap((p) => ((p.Properties as Json).PolicyDocument as { Statement: Json[] }).Statement);
}

function actionsOn(statements: readonly Json[]): { actions: string[]; resources: string[] }[] {
  return statements.map((s) => ({
    actions: [s.Action].flat().map(String),
    resources: [s.Resource].flat().map(flat),
  }));
}

beforeAll(async () => {
  const app = new App({ context: { '@aws-cdk/core:failSynthOnValidationErrors': false, ...SKIP_BUNDLING } });
  const [first] = await loadUseCases();
  if (!first) throw new Error('no use case');
  useCase = first;
  const stacks = buildApp(app, { stage: loadStage('dev'), region: 'us-east-1', useCases: [first] });
  service = Template.fromStack(stacks.service);
  data = Template.fromStack(stacks.data);
});

describe('the prediction log', () => {
  it('is a KMS-encrypted Direct PUT stream into the use case prefix, partitioned by day and hour', () => {
    const streams = Object.values(service.findResources('AWS::KinesisFirehose::DeliveryStream'));
    expect(streams).toHaveLength(1);
    const p = streams[0]?.Properties as Json;
    expect(p.DeliveryStreamName).toBe(`mlops-dev-${useCase.name}-predictions`);
    expect(p.DeliveryStreamType).toBe('DirectPut');
    expect((p.DeliveryStreamEncryptionConfigurationInput as Json).KeyType).toBe('CUSTOMER_MANAGED_CMK');
    const s3 = p.ExtendedS3DestinationConfiguration as Json;
    expect(s3.Prefix).toBe(predictionLogDeliveryPrefix(useCase.name));
    expect(flat(s3.BucketARN)).toContain('PredictionLogs');
    expect(
      flat((s3.EncryptionConfiguration as { KMSEncryptionConfig: Json }).KMSEncryptionConfig.AWSKMSKeyARN),
    ).toContain('DataKey');
  });

  it("lets Firehose write only the use case's prefixes, and never delete", () => {
    const role = Object.entries(service.findResources('AWS::IAM::Role')).find(([id]) =>
      id.includes('PredictionLogRole'),
    );
    expect(role).toBeDefined();
    const statements = Object.values(service.findResources('AWS::IAM::Policy'))
      .filter((p) => ((p.Properties as Json).Roles as unknown[]).some((r) => flat(r) === `<${role?.[0]}>`))
      .flatMap((p) => ((p.Properties as Json).PolicyDocument as { Statement: Json[] }).Statement);
    const s3 = actionsOn(statements).filter((s) => s.actions.some((a) => a.startsWith('s3:')));
    expect(s3.flatMap((s) => s.actions).sort()).toEqual(
      [
        's3:AbortMultipartUpload',
        's3:GetBucketLocation',
        's3:GetObject',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:PutObject',
      ].sort(),
    );
    const objects = s3.find((s) => s.actions.includes('s3:PutObject'))?.resources ?? [];
    expect(objects).toEqual([
      expect.stringMatching(new RegExp(`PredictionLogsArn>/predictions/${useCase.name}/\\*$`)),
      expect.stringMatching(new RegExp(`PredictionLogsArn>/prediction-errors/${useCase.name}/\\*$`)),
    ]);
  });
});

describe('the serving functions', () => {
  it('lets predict send to its own stream and put served requests, nothing else of either', () => {
    const grants = actionsOn(statementsOfFunction((env) => 'PREDICTION_STREAM' in env));
    const firehose = grants.filter((g) => g.actions.some((a) => a.startsWith('firehose:')));
    expect(firehose).toEqual([
      { actions: ['firehose:PutRecord'], resources: [expect.stringMatching(/PredictionLog.*\.Arn>$/)] },
    ]);
    const served = grants.filter((g) => g.resources.some((r) => r.includes('ServedRequests')));
    expect(served.flatMap((g) => g.actions)).toEqual(['dynamodb:PutItem']);
  });

  it('lets feedback read and claim served requests and append only its own labels', () => {
    const feedback = actionsOn(
      statementsOfFunction(
        (env) => 'SERVED_TABLE' in env && 'DATASETS_BUCKET' in env && !('PREDICTION_STREAM' in env),
      ),
    );
    const served = feedback.filter((g) => g.resources.some((r) => r.includes('ServedRequests')));
    expect(served.flatMap((g) => g.actions).sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    const writes = feedback.filter((g) => g.actions.includes('s3:PutObject'));
    expect(writes.flatMap((g) => g.resources)).toEqual([
      expect.stringMatching(new RegExp(`DatasetsArn>/labels/${useCase.name}/\\*$`)),
    ]);
  });
});

describe('the alarms on predictions not kept', () => {
  it('notify the use case topic, whose key lets CloudWatch publish', () => {
    const alarms = Object.values(service.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties as Json)
      .filter((p) => /predictions-not-kept|prediction-log-(delivery|freshness)/.test(String(p.AlarmName)));
    expect(alarms.map((a) => String(a.AlarmName)).sort()).toEqual(
      [
        `mlops-dev-${useCase.name}-predictions-not-kept`,
        `mlops-dev-${useCase.name}-prediction-log-delivery`,
        `mlops-dev-${useCase.name}-prediction-log-freshness`,
      ].sort(),
    );
    for (const a of alarms) {
      expect((a.AlarmActions as unknown[]).map(flat), String(a.AlarmName)).toEqual([
        expect.stringMatching(/Topic/),
      ]);
    }
    const keys = Object.values(data.findResources('AWS::KMS::Key')).map((k) => k.Properties as Json);
    const statements = keys.flatMap(
      (k) => ((k.KeyPolicy as { Statement: Json[] }).Statement ?? []) as Json[],
    );
    const cloudwatch = statements.find(
      (s) => flat((s.Principal as Json | undefined)?.Service) === 'cloudwatch.amazonaws.com',
    );
    expect([cloudwatch?.Action].flat()).toEqual(
      expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']),
    );
  });
});

describe('the monitor', () => {
  const isMonitor = (env: Json) => 'TRAINING_STATE_MACHINE_ARN' in env;

  it('runs on the use case schedule with the Scheduled Event as input, one check at a time, failures kept in its dead-letter queue', () => {
    const rules = Object.values(service.findResources('AWS::Events::Rule'))
      .map((r) => r.Properties as Json)
      .filter((p) => String(p.Description).startsWith('Monitoring check'));
    expect(rules).toHaveLength(1);
    expect(rules[0]?.ScheduleExpression).toBe(useCase.monitoring.schedule);
    const target = ((rules[0]?.Targets ?? []) as Json[])[0] ?? {};
    expect(flat(target.Arn)).toMatch(/Monitor.*\.Arn>$/);
    // No constant input: the Scheduled Event's time pins the window of a retried event.
    expect(target.Input).toBeUndefined();
    expect(flat((target.DeadLetterConfig as Json | undefined)?.Arn)).toMatch(/DeadLetter/);
    const monitor = Object.values(service.findResources('AWS::Lambda::Function'))
      .map((f) => f.Properties as Json)
      .find((p) => flat(p.FunctionName) === `mlops-dev-${useCase.name}-monitor`);
    expect(monitor?.ReservedConcurrentExecutions).toBe(1);
    expect(flat((monitor?.DeadLetterConfig as Json | undefined)?.TargetArn)).toMatch(/DeadLetter/);
  });

  it('reads only its own log, labels, manifests and references, writes only its reports, starts only its pipeline', () => {
    const grants = actionsOn(statementsOfFunction(isMonitor));
    const reads = grants.filter((g) => g.actions.includes('s3:GetObject')).flatMap((g) => g.resources);
    const versions = grants
      .filter((g) => g.actions.includes('s3:GetObjectVersion'))
      .flatMap((g) => g.resources);
    expect(versions).toEqual([
      expect.stringMatching(new RegExp(`DatasetsArn>/snapshots/${useCase.name}/\\*$`)),
    ]);
    expect(reads).toHaveLength(4);
    expect(reads).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`PredictionLogsArn>/predictions/${useCase.name}/\\*$`)),
        expect.stringMatching(new RegExp(`DatasetsArn>/labels/${useCase.name}/\\*$`)),
        expect.stringMatching(new RegExp(`DatasetsArn>/snapshots/${useCase.name}/\\*$`)),
        expect.stringMatching(/DatasetsArn>\/runs\/\*\/monitoring-reference\.json$/),
      ]),
    );
    const writes = grants.filter((g) => g.actions.includes('s3:PutObject')).flatMap((g) => g.resources);
    expect(writes).toEqual([
      expect.stringMatching(new RegExp(`PredictionLogsArn>/monitoring/${useCase.name}/\\*$`)),
    ]);
    const states = grants.filter((g) => g.actions.some((a) => a.startsWith('states:')));
    expect(states).toEqual([
      { actions: ['states:StartExecution'], resources: [expect.stringMatching(/Training.*StateMachine/)] },
      {
        actions: ['states:DescribeExecution'],
        resources: [expect.stringMatching(new RegExp(`execution:mlops-dev-${useCase.name}-training:\\*$`))],
      },
    ]);
    // The ledger grant adds an explicit Deny of every mutation; nothing Allows a delete.
    const allowed = actionsOn(statementsOfFunction(isMonitor).filter((s) => s.Effect === 'Allow'));
    expect(allowed.flatMap((g) => g.actions).filter((a) => /Delete/.test(a))).toEqual([]);
  });

  it('alarms on drift, quality floors and its own failures to the use case topic, and has a dashboard', () => {
    const endpoint = `mlops-dev-${useCase.name}`;
    const alarms = Object.values(service.findResources('AWS::CloudWatch::Alarm'))
      .map((a) => a.Properties as Json)
      .filter((p) =>
        /-(drift|quality-floor|estimated-quality-floor|monitor-failing)$/.test(String(p.AlarmName)),
      );
    expect(alarms.map((a) => String(a.AlarmName)).sort()).toEqual(
      [
        `${endpoint}-drift`,
        `${endpoint}-estimated-quality-floor`,
        `${endpoint}-monitor-failing`,
        `${endpoint}-quality-floor`,
      ].sort(),
    );
    const drift = alarms.find((a) => a.AlarmName === `${endpoint}-drift`);
    expect(drift).toMatchObject({
      MetricName: 'DriftedShare',
      Threshold: useCase.monitoring.driftShare,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    const floor = alarms.find((a) => a.AlarmName === `${endpoint}-quality-floor`);
    expect(floor).toMatchObject({ MetricName: 'RealizedAuc', Threshold: useCase.gates.minAuc });
    for (const a of alarms) {
      expect((a.AlarmActions as unknown[]).map(flat), String(a.AlarmName)).toEqual([
        expect.stringMatching(/Topic/),
      ]);
    }
    const dashboards = Object.values(service.findResources('AWS::CloudWatch::Dashboard')).map(
      (d) => d.Properties as Json,
    );
    expect(dashboards.map((d) => d.DashboardName)).toEqual([`mlops-dev-${useCase.name}`]);
    const body = flat(dashboards[0]?.DashboardBody);
    for (const metric of [
      'PredictLatency',
      'DriftedShare',
      'FeatureDriftScore',
      'RealizedAuc',
      'EstimatedAuc',
    ])
      expect(body).toContain(metric);
    expect(body).toContain('Cost per 1,000 predictions');
  });
});
