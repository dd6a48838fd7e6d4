/**
 * The training pipeline's steps in sequence on real flights, against the local emulators
 * (DynamoDB Local, s3rver, the SageMaker emulator with its XGBoost, the SNS sink). The Train and
 * BatchTransform states are SageMaker service integrations in the state machine; here the test
 * makes the same calls.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  CreateModelCommand,
  CreateModelPackageGroupCommand,
  CreateTrainingJobCommand,
  CreateTransformJobCommand,
  DescribeModelPackageCommand,
  DescribeTrainingJobCommand,
  DescribeTransformJobCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  airportDelayRecords,
  type Flight,
  flightLabel,
  fromAirports,
  readFlights,
} from '../../../infra/demo/flights.ts';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { type SageMakerEmulator, startSageMaker } from '../../../infra/local/sagemaker/index.ts';
import { type SnsSink, startSns } from '../../../infra/local/sns.ts';
import { type UseCase, UseCaseSchema } from '../../../shared/config/use-case.ts';
import { featureGroupIndex, validateRecords, writeRecords } from '../../../shared/features/ingest.ts';
import { labelContract } from '../../../shared/labels/schema.ts';
import { validateLabels, writeLabels } from '../../../shared/labels/store.ts';
import type { LedgerEventType } from '../../../shared/ledger/events.ts';
import { xgboostImageUri } from '../../../shared/models/xgboost-image.ts';
import {
  ApprovalAlreadyDecidedError,
  ApproverUnknownError,
  decideApproval,
  NoPendingApprovalError,
  requestApprovalStep,
} from '../../../shared/pipeline/approval.ts';
import { buildDatasetStep } from '../../../shared/pipeline/build-dataset.ts';
import type {
  BuildDatasetOutput,
  EvaluateOutput,
  FindChampionOutput,
  PipelineInput,
  TrainedModel,
} from '../../../shared/pipeline/contracts.ts';
import {
  ApprovalDecisionSchema,
  BuildDatasetOutputSchema,
  EvaluateOutputSchema,
  STEP_ERRORS,
} from '../../../shared/pipeline/contracts.ts';
import { evaluateStep } from '../../../shared/pipeline/evaluate.ts';
import { findChampionStep } from '../../../shared/pipeline/find-champion.ts';
import { runRecords } from '../../../shared/pipeline/ledger.ts';
import { recordStep } from '../../../shared/pipeline/record.ts';
import { registerStep } from '../../../shared/pipeline/register.ts';
import { STEP_NAMES } from '../../../shared/pipeline/steps.ts';
import { DataValidationError, validateDataStep } from '../../../shared/pipeline/validate-data.ts';
import { parseS3Uri, readText } from '../../../shared/s3.ts';
import demo from '../../../use-cases/flight-delay.ts';
import { type Emulators, startEmulators } from '../../support/emulators.ts';
import { createLedgerTable, type TestLedger } from '../../support/ledger-table.ts';
import { until } from '../../support/until.ts';

const REGION = 'us-east-1';
const ROLE = `arn:aws:iam::${LOCAL_ACCOUNT}:role/sagemaker`;
const IMAGE = xgboostImageUri(REGION);
const GROUP = 'flight-delay-models';
const BUCKETS = { datasets: 'datasets', offline: 'offline', artifacts: 'artifacts' };
const SLICE = {
  airports: new Set(['ORD', 'DFW', 'ATL', 'LAX', 'PHX']),
  from: new Date('2001-01-01T00:00:00Z'),
  to: new Date('2001-01-04T00:00:00Z'),
};
const CONFIG_HASH = 'c'.repeat(64);

const useCase: UseCase = UseCaseSchema.parse(demo);

let emu: Emulators;
let sm: SageMakerEmulator;
let sagemaker: SageMakerClient;
let sns: SnsSink;
let ledger: TestLedger;
let cutoff: string;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Ingests the slice's airport features and writes its labels, as the demo lifecycle does. */
async function loadFlights(): Promise<number> {
  const flights: Flight[] = await collect(fromAirports(readFlights(SLICE.from, SLICE.to), SLICE.airports));
  async function* replay() {
    yield* flights;
  }
  const group = featureGroupIndex([useCase]).get('airport-delays');
  if (!group) throw new Error('the demo use case lost its feature group');
  const { accepted, rejected } = validateRecords(group, await collect(airportDelayRecords(replay())));
  expect(rejected).toEqual([]);
  await emu.createKeyTable('online', 'expiresAt');
  await writeRecords(
    {
      online: { client: emu.doc, tableName: 'online' },
      offline: { client: emu.s3, bucket: BUCKETS.offline },
    },
    group,
    accepted,
  );
  const contract = labelContract(useCase);
  const labels = validateLabels(contract, flights.map(flightLabel));
  expect(labels.rejected).toEqual([]);
  await writeLabels({ client: emu.s3, bucket: BUCKETS.datasets }, contract, labels.accepted);
  return flights.length;
}

function buildFor(runId: string, input: Partial<PipelineInput> = {}) {
  return buildDatasetStep({
    runId,
    input: { useCase: useCase.name, trigger: 'manual', cutoff, ...input },
    useCase,
    s3: emu.s3,
    ledger,
    buckets: BUCKETS,
    imageUri: IMAGE,
    codeVersion: 'git:test',
    configHash: CONFIG_HASH,
  });
}

/** The Train state: CreateTrainingJob with the channels and names BuildDataset produced, run to completion. */
async function train(dataset: BuildDatasetOutput): Promise<TrainedModel> {
  const csv = (uri: string) => ({
    DataSource: { S3DataSource: { S3DataType: 'S3Prefix' as const, S3Uri: uri } },
    ContentType: 'text/csv',
  });
  await sagemaker.send(
    new CreateTrainingJobCommand({
      TrainingJobName: dataset.names.trainingJob,
      AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: 'File' },
      RoleArn: ROLE,
      HyperParameters: dataset.hyperparameters,
      InputDataConfig: [
        { ChannelName: 'train', ...csv(dataset.channels.train) },
        { ChannelName: 'validation', ...csv(dataset.channels.validation) },
      ],
      OutputDataConfig: { S3OutputPath: dataset.trainingOutputPath },
      ResourceConfig: { InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 10 },
      StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    }),
  );
  const job = await until(
    'training',
    () => sagemaker.send(new DescribeTrainingJobCommand({ TrainingJobName: dataset.names.trainingJob })),
    (d) => d.TrainingJobStatus !== 'InProgress',
  );
  expect(job.FailureReason).toBeUndefined();
  expect(job.TrainingJobStatus).toBe('Completed');
  return { jobName: dataset.names.trainingJob, modelArtifacts: job.ModelArtifacts?.S3ModelArtifacts ?? '' };
}

/** The BatchTransform state for one model: the test features, line by line, into `<prefix>/<who>/`. */
async function transform(dataset: BuildDatasetOutput, who: 'candidate' | 'champion', modelName: string) {
  const name = who === 'candidate' ? dataset.names.candidateTransform : dataset.names.championTransform;
  await sagemaker.send(
    new CreateTransformJobCommand({
      TransformJobName: name,
      ModelName: modelName,
      TransformInput: {
        DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: dataset.channels.testFeatures } },
        ContentType: 'text/csv',
        SplitType: 'Line',
      },
      TransformOutput: {
        S3OutputPath: `${dataset.transformOutputPrefix}/${who}`,
        Accept: 'text/csv',
        AssembleWith: 'Line',
      },
      TransformResources: { InstanceType: 'ml.m5.large', InstanceCount: 1 },
    }),
  );
  const job = await until(
    `transform ${name}`,
    () => sagemaker.send(new DescribeTransformJobCommand({ TransformJobName: name })),
    (d) => d.TransformJobStatus !== 'InProgress',
  );
  expect(job.FailureReason).toBeUndefined();
}

/** One full run: build → validate → train → candidate model → champion → transform(s) → evaluate → register → record. */
async function fullRun(runId: string, input: Partial<PipelineInput> = {}) {
  const dataset = BuildDatasetOutputSchema.parse(await buildFor(runId, input));
  const validation = await validateDataStep({ useCase, s3: emu.s3, dataset });
  const trained = await train(dataset);
  await sagemaker.send(
    new CreateModelCommand({
      ModelName: dataset.names.candidateModel,
      PrimaryContainer: { Image: IMAGE, ModelDataUrl: trained.modelArtifacts },
      ExecutionRoleArn: ROLE,
    }),
  );
  const champion: FindChampionOutput = await findChampionStep({
    sagemaker,
    useCase: useCase.name,
    modelPackageGroup: GROUP,
    imageUri: IMAGE,
    roleArn: ROLE,
  });
  await transform(dataset, 'candidate', dataset.names.candidateModel);
  if (champion.exists && champion.modelName) await transform(dataset, 'champion', champion.modelName);
  const evaluation: EvaluateOutput = EvaluateOutputSchema.parse(
    await evaluateStep({ runId, useCase, s3: emu.s3, ledger, dataset, champion }),
  );
  const registered = await registerStep({
    runId,
    useCase,
    s3: emu.s3,
    sagemaker,
    ledger,
    artifactsBucket: BUCKETS.artifacts,
    modelPackageGroup: GROUP,
    imageUri: IMAGE,
    requireApproval: false,
    dataset,
    trained,
    evaluation,
    champion,
  });
  const state = {
    input: { useCase: useCase.name, trigger: 'manual' },
    dataset,
    validation,
    trained,
    champion,
    evaluation,
    registered,
  };
  const recorded = await recordStep({
    runId,
    kind: 'success',
    state,
    useCase,
    ledger,
    s3: emu.s3,
    sagemaker,
  });
  return { dataset, validation, trained, champion, evaluation, registered, recorded, state };
}

const typesOf = async (runId: string): Promise<LedgerEventType[]> =>
  (await runRecords(ledger, runId)).map((r) => r.event.type);

let first: Awaited<ReturnType<typeof fullRun>>;
let flightCount = 0;

beforeAll(async () => {
  emu = await startEmulators();
  for (const b of Object.values(BUCKETS)) await emu.createBucket(b);
  ledger = emu.ledger(await createLedgerTable(emu.ddb, 'ledger'));
  sm = await startSageMaker({
    s3Endpoint: emu.s3Engine.endpoint,
    placement: { region: REGION, account: LOCAL_ACCOUNT },
  });
  sagemaker = new SageMakerClient({ endpoint: sm.endpoint, region: REGION, credentials: LOCAL_CREDENTIALS });
  sns = await startSns();
  flightCount = await loadFlights();
  cutoff = new Date().toISOString();
});

afterAll(async () => {
  sagemaker?.destroy();
  await sm?.stop();
  await sns?.stop();
  await emu?.stop();
});

describe('training pipeline steps on real flights', () => {
  it('finds no champion while the model package group does not exist', async () => {
    const champion = await findChampionStep({
      sagemaker,
      useCase: useCase.name,
      modelPackageGroup: GROUP,
      imageUri: IMAGE,
      roleArn: ROLE,
    });
    expect(champion).toEqual({ exists: false });
    await sagemaker.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: GROUP }));
  });

  it('builds, validates, trains, evaluates, registers and records a first run', async () => {
    first = await fullRun('run-1');
    const { dataset, evaluation, registered } = first;
    console.log(
      `run-1: ${flightCount} flights → ${dataset.rowCount} rows; test AUC ${evaluation.candidate.auc.toFixed(4)}, log loss ${evaluation.candidate.logLoss.toFixed(4)}, ECE ${evaluation.candidate.calibrationError.toFixed(4)} on ${evaluation.candidate.rows} test rows`,
    );
    expect(dataset.featureNames).toEqual([
      'delayRate2h',
      'flights2h',
      'hour',
      'weekday',
      'distance',
      'origin',
      'destination',
    ]);
    expect(dataset.names.trainingJob).toMatch(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/);
    const labels = (await readText(emu.s3, parseS3Uri(dataset.channels.testLabels))).trim().split('\n');
    expect(evaluation.candidate.rows).toBe(labels.length);
    expect(evaluation.champion).toBeNull();
    expect(evaluation.aucDrop).toBe(0);
    // A real signal on held-out flights, not noise.
    expect(evaluation.candidate.auc).toBeGreaterThan(0.6);
    expect(registered).toMatchObject({ modelVersion: 'flight-delay:v1', approvalStatus: 'Approved' });

    expect(await typesOf('run-1')).toEqual([
      'DatasetBuilt',
      'TrainingStarted',
      'ModelEvaluated',
      'ModelRegistered',
      'TrainingCompleted',
    ]);
    const records = await runRecords(ledger, 'run-1');
    const started = records.find((r) => r.event.type === 'TrainingStarted')?.event;
    if (started?.type !== 'TrainingStarted') throw new Error('no TrainingStarted');
    expect(started.manifest).toMatchObject({
      dataset: { hash: dataset.datasetHash },
      codeVersion: 'git:test',
      configHash: CONFIG_HASH,
      containerImage: IMAGE,
      hyperparameters: { num_round: '100', max_depth: '5', objective: 'binary:logistic', seed: '42' },
      seed: 42,
    });
    // Unversioned buckets report the version "null"; every object of the run is listed.
    expect(started.manifest.dataset.objects.map((o) => [o.key.split('/').pop(), o.versionId])).toEqual([
      ['data.jsonl', 'null'],
      ['manifest.json', 'null'],
      ['train.csv', 'null'],
      ['validation.csv', 'null'],
      ['features.csv', 'null'],
      ['labels.csv', 'null'],
      ['encoding.json', 'null'],
    ]);
    const completed = records.find((r) => r.event.type === 'TrainingCompleted')?.event;
    if (completed?.type !== 'TrainingCompleted') throw new Error('no TrainingCompleted');
    expect(completed.artifact.uri).toBe(first.trained.modelArtifacts);
    expect(completed.artifact.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(completed.metrics.auc).toBe(evaluation.candidate.auc);

    const pkg = await sagemaker.send(
      new DescribeModelPackageCommand({ ModelPackageName: registered.modelPackageArn }),
    );
    expect(pkg.CustomerMetadataProperties).toEqual({
      runId: 'run-1',
      datasetHash: dataset.datasetHash,
      encodingUri: dataset.encodingUri,
    });
    expect(pkg.InferenceSpecification?.Containers?.[0]).toMatchObject({
      Image: IMAGE,
      ModelDataUrl: first.trained.modelArtifacts,
    });
    const report = JSON.parse(
      await readText(emu.s3, { bucket: 'artifacts', key: 'runs/run-1/evaluation.json' }),
    ) as {
      candidate: { auc: number };
    };
    expect(report.candidate.auc).toBe(evaluation.candidate.auc);
  });

  it('appends nothing twice when BuildDataset and RecordSuccess are retried', async () => {
    const before = await typesOf('run-1');
    const again = await buildFor('run-1');
    expect(again.datasetHash).toBe(first.dataset.datasetHash);
    const recorded = await recordStep({
      runId: 'run-1',
      kind: 'success',
      state: first.state,
      useCase,
      ledger,
      s3: emu.s3,
      sagemaker,
    });
    expect(recorded.ledger).not.toBe('appended');
    expect(await typesOf('run-1')).toEqual(before);
  });

  it('reproduces run-1 on the same dataset and scores it against run-1 as champion on the same test split', async () => {
    const second = await fullRun('run-2', { trigger: 'reproduce', reproduceOf: 'run-1', cutoff: undefined });
    expect(second.dataset.datasetHash).toBe(first.dataset.datasetHash);
    expect(second.dataset.cutoff).toBe(first.dataset.cutoff);
    expect(second.champion).toMatchObject({ exists: true, modelVersion: 'flight-delay:v1' });
    const { evaluation } = second;
    if (!evaluation.champion) throw new Error('no champion metrics');
    console.log(
      `run-2 (reproduce of run-1): candidate AUC ${evaluation.candidate.auc.toFixed(4)}, champion (v1) AUC ${evaluation.champion.auc.toFixed(4)}, aucDrop ${evaluation.aucDrop}, ${evaluation.candidate.rows} test rows`,
    );
    // Same split: the champion scores exactly what it scored as run-1's candidate.
    expect(evaluation.champion).toEqual(first.evaluation.candidate);
    expect(evaluation.candidate.rows).toBe(evaluation.champion.rows);
    expect(evaluation.aucDrop).toBeCloseTo(evaluation.champion.auc - evaluation.candidate.auc, 15);
    expect(second.registered.modelVersion).toBe('flight-delay:v2');
    // A reproduce pins the snapshot: no new DatasetBuilt.
    expect(await typesOf('run-2')).toEqual([
      'TrainingStarted',
      'ModelEvaluated',
      'ModelRegistered',
      'TrainingCompleted',
    ]);
    const evaluated = (await runRecords(ledger, 'run-2')).find(
      (r) => r.event.type === 'ModelEvaluated',
    )?.event;
    expect(evaluated).toMatchObject({
      champion: { modelVersion: 'flight-delay:v1' },
      passed: evaluation.passed,
    });
  });

  it('fails ValidateData with a readable DataValidationError when the data is below the floor', async () => {
    const strict = UseCaseSchema.parse({ ...demo, dataQuality: { ...demo.dataQuality, minRows: 1_000_000 } });
    const failure = await validateDataStep({ useCase: strict, s3: emu.s3, dataset: first.dataset }).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(DataValidationError);
    if (!(failure instanceof DataValidationError)) return;
    expect(failure.name).toBe(STEP_ERRORS.dataValidation);
    expect(failure.message).toContain(`minRows = ${first.dataset.rowCount} (must be >= 1000000)`);
    expect(failure.failed.map((c) => c.name)).toEqual(['minRows']);
  });

  it('records a SageMaker training failure with the FailureReason from the Cause', async () => {
    const cause = JSON.stringify({
      TrainingJobName: 'x',
      FailureReason: 'AlgorithmError: label must be in [0,1]',
    });
    const state = {
      input: { useCase: useCase.name, trigger: 'manual' },
      dataset: first.dataset,
      validation: first.validation,
      error: { Error: 'States.TaskFailed', Cause: cause },
    };
    const out = await recordStep({
      runId: 'run-failed',
      kind: 'failure',
      state,
      useCase,
      ledger,
      s3: emu.s3,
      sagemaker,
    });
    expect(out).toMatchObject({ step: STEP_NAMES.train, reason: 'AlgorithmError: label must be in [0,1]' });
    const [failed] = (await runRecords(ledger, 'run-failed')).map((r) => r.event);
    expect(failed).toMatchObject({
      type: 'TrainingFailed',
      step: 'Train',
      datasetHash: first.dataset.datasetHash,
    });
  });

  it('waits for a human decision, records it with the approver, and answers 404/409 when it should', async () => {
    await emu.ddb.send(
      new CreateTableCommand({
        TableName: 'run-state',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'runId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'runId', AttributeType: 'S' }],
      }),
    );
    const store = { client: emu.doc, tableName: 'run-state' };
    const registered = await registerStep({
      runId: 'run-3',
      useCase,
      s3: emu.s3,
      sagemaker,
      ledger,
      artifactsBucket: BUCKETS.artifacts,
      modelPackageGroup: GROUP,
      imageUri: IMAGE,
      requireApproval: true,
      dataset: first.dataset,
      trained: first.trained,
      evaluation: first.evaluation,
    });
    expect(registered.approvalStatus).toBe('PendingManualApproval');
    const topicArn = `arn:aws:sns:${REGION}:${LOCAL_ACCOUNT}:pipeline`;
    const snsClient = new SNSClient({
      endpoint: sns.endpoint,
      region: REGION,
      credentials: LOCAL_CREDENTIALS,
    });
    await requestApprovalStep({
      runId: 'run-3',
      token: 'task-token-3',
      useCase: useCase.name,
      registered,
      store,
      sns: snsClient,
      topicArn,
    });
    expect(sns.messages(topicArn)[0]?.message).toContain('mlops approve run-3 --reason');

    // Step Functions itself is the one boundary not emulated here: its SendTaskSuccess is observed.
    const sfn = new SFNClient({ region: REGION, credentials: LOCAL_CREDENTIALS });
    const sfnMock = mockClient(sfn);
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    const alice = `arn:aws:iam::${LOCAL_ACCOUNT}:user/alice`;
    const body = { decision: 'approved' as const, reason: 'AUC above the floor' };
    await expect(decideApproval({ runId: 'run-3', body, approver: undefined, store, sfn })).rejects.toThrow(
      ApproverUnknownError,
    );
    await expect(decideApproval({ runId: 'run-404', body, approver: alice, store, sfn })).rejects.toThrow(
      NoPendingApprovalError,
    );
    const decided = await decideApproval({ runId: 'run-3', body, approver: alice, store, sfn });
    expect(decided).toMatchObject({
      decision: 'approved',
      approver: alice,
      modelVersion: registered.modelVersion,
    });
    const sent = sfnMock.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input;
    expect(sent?.taskToken).toBe('task-token-3');
    const approval = ApprovalDecisionSchema.parse(JSON.parse(sent?.output ?? '{}'));
    await expect(decideApproval({ runId: 'run-3', body, approver: alice, store, sfn })).rejects.toThrow(
      ApprovalAlreadyDecidedError,
    );
    expect(sfnMock.commandCalls(SendTaskSuccessCommand)).toHaveLength(1);

    const state = {
      input: { useCase: useCase.name, trigger: 'manual' },
      dataset: first.dataset,
      registered,
      approval,
    };
    const out = await recordStep({
      runId: 'run-3',
      kind: 'approval',
      state,
      useCase,
      ledger,
      s3: emu.s3,
      sagemaker,
    });
    expect(out).toMatchObject({ decision: 'approved', modelVersion: registered.modelVersion });
    const pkg = await sagemaker.send(
      new DescribeModelPackageCommand({ ModelPackageName: registered.modelPackageArn }),
    );
    expect(pkg.ModelApprovalStatus).toBe('Approved');
    const events = (await runRecords(ledger, 'run-3')).map((r) => r.event);
    expect(events.map((e) => e.type)).toEqual(['ModelRegistered', 'ApprovalRecorded']);
    expect(events[1]).toMatchObject({ approver: alice, decision: 'approved', reason: 'AUC above the floor' });
    // The newly approved version is now the champion.
    const champion = await findChampionStep({
      sagemaker,
      useCase: useCase.name,
      modelPackageGroup: GROUP,
      imageUri: IMAGE,
      roleArn: ROLE,
    });
    expect(champion.modelVersion).toBe(registered.modelVersion);
  });
});
