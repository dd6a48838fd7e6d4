import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  CreateModelPackageCommand,
  CreateModelPackageGroupCommand,
  CreateTrainingJobCommand,
  type CreateTrainingJobCommandInput,
  CreateTransformJobCommand,
  DescribeEndpointCommand,
  type DescribeEndpointCommandOutput,
  DescribeModelPackageCommand,
  DescribeTrainingJobCommand,
  type DescribeTrainingJobCommandOutput,
  DescribeTransformJobCommand,
  ListEndpointsCommand,
  ListModelPackagesCommand,
  ResourceInUse,
  type SageMakerClient,
  StopTrainingJobCommand,
  UpdateEndpointCommand,
  UpdateModelPackageCommand,
} from '@aws-sdk/client-sagemaker';
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { extract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ACCOUNT } from '../../../infra/local/engines/credentials.ts';
import {
  AlgorithmError,
  type LocalAlgorithm,
  type SageMakerEmulator,
} from '../../../infra/local/sagemaker/index.ts';
import { type SageMakerRig, startSageMakerRig } from '../../support/sagemaker.ts';
import { until } from '../../support/until.ts';

const BUCKET = 'ml-data';
const ROLE = `arn:aws:iam::${LOCAL_ACCOUNT}:role/sagemaker`;
const placement = { region: 'us-east-1', account: LOCAL_ACCOUNT };

/** Training never finishes until aborted: exercises StopTrainingJob. */
const stubbornAlgorithm: LocalAlgorithm = {
  train: ({ signal }) =>
    new Promise((_, reject) => signal.addEventListener('abort', () => reject(new AlgorithmError('stopped')))),
  serve: () => ({
    ping: async () => false,
    invocations: async () => ({ body: Buffer.alloc(0), contentType: 'text/plain' }),
  }),
};

describe('local SageMaker emulator', () => {
  let rig: SageMakerRig;
  let emulator: SageMakerEmulator;
  let sm: SageMakerClient;
  let runtime: SageMakerRuntimeClient;
  let s3: S3Client;
  const scratch = mkdtempSync(join(tmpdir(), 'sm-test-'));

  const trainingJob = (
    name: string,
    hyperparameters: Record<string, string> = {},
  ): CreateTrainingJobCommandInput => ({
    TrainingJobName: name,
    AlgorithmSpecification: { TrainingImage: 'local/echo-algorithm:latest', TrainingInputMode: 'File' },
    RoleArn: ROLE,
    HyperParameters: { greeting: 'hello', ...hyperparameters },
    InputDataConfig: [
      {
        ChannelName: 'train',
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/train/` } },
      },
    ],
    OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/models/` },
    ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 10 },
    StoppingCondition: { MaxRuntimeInSeconds: 600 },
  });
  const describeJob = (name: string) => sm.send(new DescribeTrainingJobCommand({ TrainingJobName: name }));
  const finished = (j: DescribeTrainingJobCommandOutput) =>
    ['Completed', 'Failed', 'Stopped'].includes(j.TrainingJobStatus ?? '');
  const describeEndpoint = (name: string) => sm.send(new DescribeEndpointCommand({ EndpointName: name }));
  const settled = (e: DescribeEndpointCommandOutput) =>
    !['Creating', 'Updating'].includes(e.EndpointStatus ?? '');

  /** Trains the echo algorithm and registers a model for it; returns the model name. */
  async function trainedModel(name: string): Promise<string> {
    await sm.send(new CreateTrainingJobCommand(trainingJob(name)));
    const job = await until('training', () => describeJob(name), finished);
    expect(job.TrainingJobStatus).toBe('Completed');
    await sm.send(
      new CreateModelCommand({
        ModelName: name,
        ExecutionRoleArn: ROLE,
        PrimaryContainer: {
          Image: 'local/echo-algorithm:latest',
          ModelDataUrl: job.ModelArtifacts?.S3ModelArtifacts,
        },
      }),
    );
    return name;
  }

  beforeAll(async () => {
    rig = await startSageMakerRig({
      placement,
      algorithms: [{ image: 'local/stubborn', algorithm: stubbornAlgorithm }],
    });
    ({ emulator, sm, runtime, s3 } = rig);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'train/part-1.csv', Body: 'a,1\nb,2\nc,3\n' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'train/sub/part-2.csv', Body: 'd,4\ne,5' }));
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: 'batch/in.jsonl', Body: '{"x":1}\n{"x":2}\n' }),
    );
  });

  afterAll(async () => {
    await rig?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('trains from S3 channels and uploads model.tar.gz under <S3OutputPath>/<job>/output/', async () => {
    // Act
    const created = await sm.send(new CreateTrainingJobCommand(trainingJob('echo-ok')));
    const first = await describeJob('echo-ok');
    const job = await until('training', () => describeJob('echo-ok'), finished);

    // Assess
    expect(created.TrainingJobArn).toBe(`arn:aws:sagemaker:us-east-1:${LOCAL_ACCOUNT}:training-job/echo-ok`);
    expect(first.TrainingJobStatus).toBe('InProgress');
    expect(job.TrainingJobStatus).toBe('Completed');
    expect(job.SecondaryStatus).toBe('Completed');
    expect(job.TrainingEndTime).toBeInstanceOf(Date);
    expect(job.SecondaryStatusTransitions?.map((t) => t.Status)).toEqual([
      'Starting',
      'Downloading',
      'Training',
      'Uploading',
      'Completed',
    ]);
    const key = 'models/echo-ok/output/model.tar.gz';
    expect(job.ModelArtifacts?.S3ModelArtifacts).toBe(`s3://${BUCKET}/${key}`);
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const archive = join(scratch, 'model.tar.gz');
    writeFileSync(archive, (await object.Body?.transformToByteArray()) ?? new Uint8Array());
    await extract({ file: archive, cwd: scratch });
    expect(JSON.parse(readFileSync(join(scratch, 'model.json'), 'utf8'))).toEqual({
      rows: 5,
      hyperparameters: { greeting: 'hello' },
    });
  });

  it('fails the job with an AlgorithmError FailureReason when the algorithm throws', async () => {
    // Act
    await sm.send(new CreateTrainingJobCommand(trainingJob('echo-fail', { fail: 'true' })));
    const job = await until('training', () => describeJob('echo-fail'), finished);

    // Assess
    expect(job.TrainingJobStatus).toBe('Failed');
    expect(job.FailureReason).toBe('AlgorithmError: asked to fail');
    expect(job.ModelArtifacts?.S3ModelArtifacts).toBe('');
  });

  it('fails the next job from the inside when a TrainingJobRun fault is injected', async () => {
    // Prepare
    emulator.faults.inject('TrainingJobRun', { error: 'AlgorithmError', message: 'out of memory' });
    // Act
    await sm.send(new CreateTrainingJobCommand(trainingJob('echo-injected')));
    const job = await until('training', () => describeJob('echo-injected'), finished);
    // Assess
    expect(job.TrainingJobStatus).toBe('Failed');
    expect(job.FailureReason).toBe('AlgorithmError: out of memory');
    expect(emulator.faults.pending('TrainingJobRun')).toBe(0);
  });

  it('fails with a ClientError when a channel prefix is empty, and rejects a duplicate job name', async () => {
    // Act
    const input = trainingJob('echo-empty');
    const channel = input.InputDataConfig?.[0];
    if (channel?.DataSource?.S3DataSource)
      channel.DataSource.S3DataSource.S3Uri = `s3://${BUCKET}/nothing-here/`;
    await sm.send(new CreateTrainingJobCommand(input));
    const duplicate = await sm.send(new CreateTrainingJobCommand(input)).catch((e: unknown) => e);
    const job = await until('training', () => describeJob('echo-empty'), finished);

    // Assess
    expect(duplicate).toBeInstanceOf(ResourceInUse);
    expect(job.TrainingJobStatus).toBe('Failed');
    expect(job.FailureReason).toMatch(
      /^ClientError: No S3 objects found under S3 URL "s3:\/\/ml-data\/nothing-here\/"/,
    );
  });

  it('stops a running job', async () => {
    // Prepare
    const input = trainingJob('stubborn');
    input.AlgorithmSpecification = {
      TrainingImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/local/stubborn:1',
      TrainingInputMode: 'File',
    };
    await sm.send(new CreateTrainingJobCommand(input));
    await until(
      'training started',
      () => describeJob('stubborn'),
      (j) => j.SecondaryStatus === 'Training',
    );

    // Act
    await sm.send(new StopTrainingJobCommand({ TrainingJobName: 'stubborn' }));
    const job = await until('stopped', () => describeJob('stubborn'), finished);

    // Assess
    expect(job.TrainingJobStatus).toBe('Stopped');
    await expect(sm.send(new StopTrainingJobCommand({ TrainingJobName: 'stubborn' }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('creates an endpoint that goes Creating -> InService and echoes through InvokeEndpoint', async () => {
    // Prepare
    const model = await trainedModel('echo-serve');
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'echo-config',
        ProductionVariants: [
          {
            VariantName: 'AllTraffic',
            ModelName: model,
            InitialInstanceCount: 1,
            InstanceType: 'ml.m5.large',
          },
        ],
      }),
    );

    // Act
    await sm.send(new CreateEndpointCommand({ EndpointName: 'echo', EndpointConfigName: 'echo-config' }));
    const creating = await describeEndpoint('echo');
    const ready = await until('endpoint', () => describeEndpoint('echo'), settled);
    const answer = await runtime.send(
      new InvokeEndpointCommand({
        EndpointName: 'echo',
        ContentType: 'application/json',
        Body: JSON.stringify({ x: 1 }),
      }),
    );

    // Assess
    expect(creating.EndpointStatus).toBe('Creating');
    expect(ready.EndpointStatus).toBe('InService');
    expect(ready.ProductionVariants?.[0]).toMatchObject({ VariantName: 'AllTraffic', CurrentWeight: 1 });
    expect(answer.InvokedProductionVariant).toBe('AllTraffic');
    expect(answer.ContentType).toBe('application/json');
    expect(JSON.parse(Buffer.from(answer.Body ?? new Uint8Array()).toString('utf8'))).toEqual({
      rows: 5,
      input: { x: 1 },
    });
    const listed = await sm.send(new ListEndpointsCommand({ StatusEquals: 'InService' }));
    expect(listed.Endpoints?.map((e) => e.EndpointName)).toContain('echo');
    await expect(
      runtime.send(new InvokeEndpointCommand({ EndpointName: 'missing', Body: '{}' })),
    ).rejects.toMatchObject({
      name: 'ValidationError',
    });
  });

  it('routes traffic between two production variants by weight (9:1)', async () => {
    // Prepare
    const blue = await trainedModel('echo-blue');
    const green = await trainedModel('echo-green');
    await sm.send(
      new CreateEndpointConfigCommand({
        EndpointConfigName: 'canary-config',
        ProductionVariants: [
          { VariantName: 'Blue', ModelName: blue, InitialInstanceCount: 1, InitialVariantWeight: 9 },
          { VariantName: 'Green', ModelName: green, InitialInstanceCount: 1, InitialVariantWeight: 1 },
        ],
      }),
    );
    await sm.send(new CreateEndpointCommand({ EndpointName: 'canary', EndpointConfigName: 'canary-config' }));
    await until('endpoint', () => describeEndpoint('canary'), settled);

    // Act
    const counts: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const out = await runtime.send(
        new InvokeEndpointCommand({ EndpointName: 'canary', ContentType: 'text/plain', Body: `${i}` }),
      );
      const variant = out.InvokedProductionVariant ?? 'none';
      counts[variant] = (counts[variant] ?? 0) + 1;
    }
    const targeted = await runtime.send(
      new InvokeEndpointCommand({
        EndpointName: 'canary',
        TargetVariant: 'Green',
        ContentType: 'text/plain',
        Body: 'x',
      }),
    );

    // Assess
    expect(Object.keys(counts).sort()).toEqual(['Blue', 'Green']);
    expect(counts.Blue).toBeGreaterThan(150);
    expect(counts.Green).toBeGreaterThan(5);
    expect(counts.Green).toBeLessThan(50);
    expect(targeted.InvokedProductionVariant).toBe('Green');
  });

  it('updates an endpoint (Updating -> InService) and rolls back an update whose model cannot load', async () => {
    // Prepare
    const v1 = await trainedModel('echo-v1');
    const v2 = await trainedModel('echo-v2');
    await sm.send(
      new CreateModelCommand({
        ModelName: 'broken',
        ExecutionRoleArn: ROLE,
        PrimaryContainer: { Image: 'local/unknown:1' },
      }),
    );
    for (const [config, model] of [
      ['cfg-v1', v1],
      ['cfg-v2', v2],
      ['cfg-broken', 'broken'],
    ] as const) {
      await sm.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: config,
          ProductionVariants: [{ VariantName: 'Main', ModelName: model, InitialInstanceCount: 1 }],
        }),
      );
    }
    await sm.send(new CreateEndpointCommand({ EndpointName: 'rolling', EndpointConfigName: 'cfg-v1' }));
    await until('endpoint', () => describeEndpoint('rolling'), settled);

    // Act
    await sm.send(new UpdateEndpointCommand({ EndpointName: 'rolling', EndpointConfigName: 'cfg-v2' }));
    const updating = await describeEndpoint('rolling');
    const updated = await until('update', () => describeEndpoint('rolling'), settled);
    await sm.send(new UpdateEndpointCommand({ EndpointName: 'rolling', EndpointConfigName: 'cfg-broken' }));
    const rolledBack = await until('rollback', () => describeEndpoint('rolling'), settled);

    // Assess
    expect(updating.EndpointStatus).toBe('Updating');
    expect(updated).toMatchObject({ EndpointStatus: 'InService', EndpointConfigName: 'cfg-v2' });
    expect(rolledBack.EndpointStatus).toBe('InService');
    expect(rolledBack.EndpointConfigName).toBe('cfg-v2');
    expect(rolledBack.FailureReason).toMatch(/did not pass the ping health check/);
  });

  it('fails a training job whose image has no local algorithm', async () => {
    // Act
    const input = trainingJob('no-algo');
    input.AlgorithmSpecification = { TrainingImage: 'local/unknown:1', TrainingInputMode: 'File' };
    await sm.send(new CreateTrainingJobCommand(input));
    const job = await until('training', () => describeJob('no-algo'), finished);

    // Assess
    expect(job.TrainingJobStatus).toBe('Failed');
    expect(job.FailureReason).toMatch(
      /^ClientError: no local algorithm is registered for image local\/unknown:1/,
    );
  });

  it('returns injected faults to the real client as AWS errors, then recovers', async () => {
    // Prepare
    emulator.faults.inject('CreateTrainingJob', { error: 'ThrottlingException', times: 2 });
    emulator.faults.inject('InvokeEndpoint', { error: 'ServiceUnavailable', statusCode: 503 });

    // Act
    const first = sm.send(new CreateTrainingJobCommand(trainingJob('after-throttle')));
    await expect(first).rejects.toMatchObject({
      name: 'ThrottlingException',
      message: 'Rate exceeded',
      $metadata: { httpStatusCode: 400 },
    });
    const second = sm.send(new CreateTrainingJobCommand(trainingJob('after-throttle')));
    await expect(second).rejects.toMatchObject({ name: 'ThrottlingException' });
    const third = await sm.send(new CreateTrainingJobCommand(trainingJob('after-throttle')));
    const invoke = runtime.send(new InvokeEndpointCommand({ EndpointName: 'echo', Body: '{}' }));

    // Assess
    expect(third.TrainingJobArn).toMatch(/training-job\/after-throttle$/);
    await expect(invoke).rejects.toMatchObject({
      name: 'ServiceUnavailable',
      $metadata: { httpStatusCode: 503 },
    });
    expect(emulator.faults.pending('CreateTrainingJob')).toBe(0);
  });

  it('versions model packages in a group and updates their approval status', async () => {
    // Prepare
    await sm.send(
      new CreateModelPackageGroupCommand({
        ModelPackageGroupName: 'flights',
        ModelPackageGroupDescription: 'delay risk',
      }),
    );
    const spec = {
      Containers: [
        {
          Image: 'local/echo-algorithm:latest',
          ModelDataUrl: `s3://${BUCKET}/models/echo-ok/output/model.tar.gz`,
        },
      ],
      SupportedContentTypes: ['application/json'],
      SupportedResponseMIMETypes: ['application/json'],
    };

    // Act
    const v1 = await sm.send(
      new CreateModelPackageCommand({ ModelPackageGroupName: 'flights', InferenceSpecification: spec }),
    );
    const v2 = await sm.send(
      new CreateModelPackageCommand({
        ModelPackageGroupName: 'flights',
        InferenceSpecification: spec,
        ModelApprovalStatus: 'PendingManualApproval',
      }),
    );
    await sm.send(
      new UpdateModelPackageCommand({
        ModelPackageArn: v2.ModelPackageArn,
        ModelApprovalStatus: 'Approved',
        ApprovalDescription: 'ok by alice',
      }),
    );
    const approved = await sm.send(
      new ListModelPackagesCommand({ ModelPackageGroupName: 'flights', ModelApprovalStatus: 'Approved' }),
    );
    const all = await sm.send(
      new ListModelPackagesCommand({ ModelPackageGroupName: 'flights', SortOrder: 'Descending' }),
    );
    const described = await sm.send(
      new DescribeModelPackageCommand({ ModelPackageName: v2.ModelPackageArn }),
    );
    await sm.send(
      new CreateModelCommand({
        ModelName: 'from-package',
        PrimaryContainer: { ModelPackageName: v2.ModelPackageArn },
        ExecutionRoleArn: ROLE,
      }),
    );

    // Assess
    expect(v1.ModelPackageArn).toBe(`arn:aws:sagemaker:us-east-1:${LOCAL_ACCOUNT}:model-package/flights/1`);
    expect(v2.ModelPackageArn).toBe(`arn:aws:sagemaker:us-east-1:${LOCAL_ACCOUNT}:model-package/flights/2`);
    expect(approved.ModelPackageSummaryList?.map((p) => p.ModelPackageVersion)).toEqual([2]);
    expect(all.ModelPackageSummaryList?.map((p) => p.ModelPackageVersion)).toEqual([2, 1]);
    expect(described).toMatchObject({
      ModelApprovalStatus: 'Approved',
      ApprovalDescription: 'ok by alice',
      ModelPackageGroupName: 'flights',
      ModelPackageVersion: 2,
    });
    expect(described.InferenceSpecification?.Containers?.[0]?.Image).toBe('local/echo-algorithm:latest');
  });

  it('runs a batch transform line by line and writes <key>.out', async () => {
    // Prepare
    const model = await trainedModel('echo-batch');

    // Act
    await sm.send(
      new CreateTransformJobCommand({
        TransformJobName: 'batch-1',
        ModelName: model,
        TransformInput: {
          DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: `s3://${BUCKET}/batch/` } },
          ContentType: 'application/json',
          SplitType: 'Line',
        },
        TransformOutput: { S3OutputPath: `s3://${BUCKET}/batch-out/`, AssembleWith: 'Line' },
        TransformResources: { InstanceCount: 1, InstanceType: 'ml.m5.large' },
      }),
    );
    const job = await until(
      'transform',
      () => sm.send(new DescribeTransformJobCommand({ TransformJobName: 'batch-1' })),
      (j) => j.TransformJobStatus !== 'InProgress',
    );
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'batch-out/in.jsonl.out' }));

    // Assess
    expect(job.TransformJobStatus).toBe('Completed');
    const lines = (await out.Body?.transformToString())
      ?.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { rows: 5, input: { x: 1 } },
      { rows: 5, input: { x: 2 } },
    ]);
  });
});
