/**
 * Deployment tests' helpers: a small XGBoost model of the demo use case trained by the local
 * SageMaker emulator on encoded rows, registered as an approved package with its encoding (as
 * Register does), and a deploy execution started and awaited.
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  CreateTrainingJobCommand,
  DescribeModelPackageCommand,
  DescribeTrainingJobCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { DescribeExecutionCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { type Feature, modelFeatures, type UseCase } from '../../shared/config/use-case.ts';
import type { DeployInput } from '../../shared/deployment/contracts.ts';
import { deployMachineNameOf } from '../../shared/deployment/names.ts';
import type { FeatureValue } from '../../shared/features/records.ts';
import { xgboostImageUri } from '../../shared/models/xgboost-image.ts';
import { buildEncoding, encodeLabeledRow, featureEncoder } from '../../shared/pipeline/encoding.ts';
import { s3Uri } from '../../shared/s3.ts';
import { PREDICT_METRICS } from '../../shared/serving/api.ts';
import { until } from './until.ts';

/** A pseudo-random generator, so each model's rows are the same on every run. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Rows of the demo use case's features with a label that depends on them. */
export function demoRows(seed: number, n: number, airports: readonly string[]) {
  const r = random(seed);
  return Array.from({ length: n }, () => {
    const hour = Math.floor(r() * 24);
    const features: Record<string, FeatureValue> = {
      delayRate2h: Math.round(r() * 100) / 100,
      flights2h: Math.floor(r() * 40),
      hour,
      weekday: 1 + Math.floor(r() * 7),
      distance: Math.round(r() * 3000),
      origin: airports[Math.floor(r() * airports.length)] ?? 'ORD',
      destination: airports[Math.floor(r() * airports.length)] ?? 'DFW',
    };
    const label: 0 | 1 = (features.delayRate2h as number) + hour / 48 + r() * 0.3 > 0.8 ? 1 : 0;
    return { features, label };
  });
}

/** Random values of `features`, within their bounds; categoricals from their categories or `vocabulary`. */
export function syntheticValues(
  features: readonly Feature[],
  r: () => number,
  vocabulary: readonly string[],
): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  for (const f of features) {
    if (f.type === 'boolean') out[f.name] = r() < 0.5;
    else if (f.type === 'categorical') {
      const choices = f.categories ?? vocabulary;
      out[f.name] = choices[Math.floor(r() * choices.length)] ?? choices[0] ?? 'x';
    } else {
      const lo = f.min ?? 0;
      const hi = f.max ?? lo + 100;
      const v = lo + r() * (hi - lo);
      out[f.name] = f.type === 'integer' ? Math.floor(v) : Math.round(v * 100) / 100;
    }
  }
  return out;
}

/** Rows of any use case's model features, with a label that depends on the first numeric one. */
export function syntheticRows(useCase: UseCase, seed: number, n: number, vocabulary: readonly string[]) {
  const r = random(seed);
  const features = modelFeatures(useCase);
  const numeric = features.find((f) => f.type === 'number' || f.type === 'integer');
  return Array.from({ length: n }, () => {
    const values = syntheticValues(features, r, vocabulary);
    const x = numeric ? Number(values[numeric.name]) : 0;
    const lo = numeric && 'min' in numeric ? (numeric.min ?? 0) : 0;
    const hi = numeric && 'max' in numeric ? (numeric.max ?? lo + 100) : lo + 100;
    const label: 0 | 1 = (x - lo) / (hi - lo) + r() * 0.4 > 0.7 ? 1 : 0;
    return { features: values, label };
  });
}

/** What {@link registerModel} made. */
export interface RegisteredModel {
  readonly modelPackageArn: string;
  readonly modelVersion: string;
  readonly encodingUri: string;
}

/** Trains a small model on `rows` and registers it, approved, with its encoding (as Register does). */
export async function registerModel(
  cloud: LocalCloud,
  clients: { readonly sm: SageMakerClient; readonly s3: S3Client },
  useCase: UseCase,
  o: {
    readonly name: string;
    readonly seed: number;
    readonly bucket: string;
    /** The training rows (the vocabulary comes from them). */
    readonly rows: readonly { readonly features: Record<string, FeatureValue>; readonly label: 0 | 1 }[];
  },
): Promise<RegisteredModel> {
  const rows = o.rows;
  const schema = modelFeatures(useCase).map((f) => ({ name: f.name, type: f.type }));
  const encoding = buildEncoding(
    schema,
    useCase.label.name,
    rows.map((r) => r.features),
  );
  const encode = featureEncoder(encoding);
  const prefix = `runs/${o.name}`;
  const put = (key: string, body: string) =>
    clients.s3.send(new PutObjectCommand({ Bucket: o.bucket, Key: key, Body: body }));
  await put(
    `${prefix}/train/train.csv`,
    `${rows.map((r) => encodeLabeledRow(encode, r.label, r.features)).join('\n')}\n`,
  );
  await put(`${prefix}/encoding.json`, JSON.stringify(encoding));
  const image = xgboostImageUri(cloud.assembly.placement.region, '1.7-1');
  await clients.sm.send(
    new CreateTrainingJobCommand({
      TrainingJobName: o.name,
      AlgorithmSpecification: { TrainingImage: image, TrainingInputMode: 'File' },
      RoleArn: 'arn:aws:iam::000000000000:role/local',
      HyperParameters: {
        objective: 'binary:logistic',
        num_round: '10',
        max_depth: '3',
        seed: String(o.seed),
      },
      InputDataConfig: [
        {
          ChannelName: 'train',
          ContentType: 'text/csv',
          DataSource: {
            S3DataSource: { S3DataType: 'S3Prefix', S3Uri: s3Uri(o.bucket, `${prefix}/train/`) },
          },
        },
      ],
      OutputDataConfig: { S3OutputPath: s3Uri(o.bucket, `${prefix}/output`) },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 600 },
    }),
  );
  const job = await until(
    `training job ${o.name} to end`,
    () => clients.sm.send(new DescribeTrainingJobCommand({ TrainingJobName: o.name })),
    (d) => d.TrainingJobStatus !== 'InProgress',
    120_000,
  );
  if (job.TrainingJobStatus !== 'Completed') throw new Error(`training ${o.name}: ${job.FailureReason}`);
  const group = cloud.assembly.modelPackageGroups.find((g) => g.name.endsWith(useCase.name))?.name ?? '';
  const encodingUri = s3Uri(o.bucket, `${prefix}/encoding.json`);
  const pkg = await clients.sm.send(
    new CreateModelPackageCommand({
      ModelPackageGroupName: group,
      ModelApprovalStatus: 'Approved',
      InferenceSpecification: {
        Containers: [{ Image: image, ModelDataUrl: job.ModelArtifacts?.S3ModelArtifacts }],
        SupportedContentTypes: ['text/csv'],
        SupportedResponseMIMETypes: ['text/csv'],
      },
      CustomerMetadataProperties: { runId: o.name, encodingUri },
    }),
  );
  const arn = pkg.ModelPackageArn ?? '';
  const d = await clients.sm.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  return { modelPackageArn: arn, modelVersion: `${useCase.name}:v${d.ModelPackageVersion}`, encodingUri };
}

/** Starts the use case's deploy machine. */
export async function startDeploy(
  cloud: LocalCloud,
  sfn: SFNClient,
  stage: string,
  useCase: string,
  input: DeployInput,
): Promise<string> {
  const machine = cloud.assembly.stateMachines.find((m) => m.name === deployMachineNameOf(stage, useCase));
  if (!machine) throw new Error(`no deploy machine for ${useCase}`);
  const out = await sfn.send(
    new StartExecutionCommand({ stateMachineArn: machine.arn, input: JSON.stringify(input) }),
  );
  return out.executionArn ?? '';
}

/** Waits for an execution to end; its status and parsed output. */
export async function endOf(sfn: SFNClient, executionArn: string) {
  const d = await until(
    `execution ${executionArn} to end`,
    () => sfn.send(new DescribeExecutionCommand({ executionArn })),
    (e) => e.status !== 'RUNNING',
    180_000,
  );
  return {
    status: d.status,
    output: d.output ? (JSON.parse(d.output) as Record<string, unknown>) : undefined,
    error: d.error,
    cause: d.cause,
  };
}

/**
 * One statistic of a predict-function EMF metric over the last hour, as the local CloudWatch holds
 * it (one period covering every data point), or NaN when there is none.
 */
export function predictStatistic(
  cloud: LocalCloud,
  useCase: string,
  metricName: string,
  statistic: string,
): number {
  const [point] = cloud.cloudwatch.statistics({
    namespace: PREDICT_METRICS.namespace,
    metricName,
    dimensions: [
      { Name: 'service', Value: PREDICT_METRICS.service },
      { Name: 'useCase', Value: useCase },
    ],
    start: new Date(Date.now() - 3_600_000),
    end: new Date(Date.now() + 60_000),
    periodSeconds: 7200,
    statistics: [statistic],
  });
  return point?.values[statistic] ?? Number.NaN;
}
