import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  DescribeStateMachineCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { type DynamoDbEngine, startDynamoDb } from '../../../infra/local/engines/dynamodb.ts';
import { type S3Engine, startS3 } from '../../../infra/local/engines/s3.ts';
import type { LocalStateMachine } from '../../../infra/local/model.ts';
import { type SageMakerEmulator, startSageMaker } from '../../../infra/local/sagemaker/index.ts';
import { type SnsSink, startSns } from '../../../infra/local/sns.ts';
import { type StepFunctionsEmulator, startStepFunctions } from '../../../infra/local/stepfunctions/index.ts';
import { until } from '../../support/until.ts';

const REGION = 'us-east-1';
const placement = { region: REGION, account: LOCAL_ACCOUNT };
const fn = (name: string) => `arn:aws:lambda:${REGION}:${LOCAL_ACCOUNT}:function:${name}`;
const BUCKET = 'pipeline-data';
const TABLE = 'runs';
const TOPIC = `arn:aws:sns:${REGION}:${LOCAL_ACCOUNT}:pipeline-events`;

class TransientError extends Error {
  override readonly name = 'TransientError';
}
class BoomError extends Error {
  override readonly name = 'BoomError';
}

/** Plain local functions standing in for the Lambda runtime. */
class FakeLambdas {
  readonly attempts = new Map<string, number>();
  readonly parked = new Map<string, string>();
  readonly calls: string[] = [];

  invoke = async (arn: string, payload: unknown): Promise<unknown> => {
    this.calls.push(arn);
    const event = (payload ?? {}) as Record<string, unknown>;
    switch (arn) {
      case fn('steps'):
        if (event.action === 'prepare') return { route: event.route, items: [1, 2, 3] };
        if (event.action === 'square') return { n: Number(event.n) ** 2 };
        if (event.action === 'boom') throw new BoomError('the fail route was chosen');
        throw new Error(`unknown action ${String(event.action)}`);
      case fn('flaky'): {
        const id = String(event.executionId);
        const attempt = (this.attempts.get(id) ?? 0) + 1;
        this.attempts.set(id, attempt);
        if (attempt === 1) throw new TransientError('first attempt always fails');
        return { recovered: true, attempt };
      }
      case fn('park'):
        this.parked.set(String(event.executionId), String(event.token));
        return { parked: true };
      default: {
        const missing = new Error(`Function not found: ${arn}`);
        missing.name = 'Lambda.ResourceNotFoundException';
        throw missing;
      }
    }
  };
}

const trainParameters = {
  'TrainingJobName.$': '$$.Execution.Name',
  AlgorithmSpecification: { TrainingImage: 'local/echo-algorithm:latest', TrainingInputMode: 'File' },
  RoleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/sagemaker`,
  'HyperParameters.$': '$.hyperparameters',
  InputDataConfig: [
    {
      ChannelName: 'train',
      DataSource: {
        S3DataSource: {
          S3DataType: 'S3Prefix',
          S3Uri: `s3://${BUCKET}/train/`,
          S3DataDistributionType: 'FullyReplicated',
        },
      },
    },
  ],
  OutputDataConfig: { S3OutputPath: `s3://${BUCKET}/models/` },
  ResourceConfig: { InstanceCount: 1, InstanceType: 'ml.m5.large', VolumeSizeInGB: 10 },
  StoppingCondition: { MaxRuntimeInSeconds: 600 },
};

const workflow = {
  StartAt: 'Prepare',
  States: {
    Prepare: {
      Type: 'Task',
      Resource: fn('steps'),
      Parameters: { action: 'prepare', 'route.$': '$.route' },
      ResultPath: '$.prepared',
      Next: 'Flaky',
    },
    Flaky: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke',
      Parameters: { FunctionName: fn('flaky'), Payload: { 'executionId.$': '$$.Execution.Id' } },
      ResultSelector: { 'recovered.$': '$.Payload.recovered', 'status.$': '$.StatusCode' },
      ResultPath: '$.flaky',
      Retry: [{ ErrorEquals: ['TransientError'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 }],
      Next: 'Route',
    },
    Route: {
      Type: 'Choice',
      Choices: [{ Variable: '$.route', StringEquals: 'fail', Next: 'Boom' }],
      Default: 'Squares',
    },
    Boom: {
      Type: 'Task',
      Resource: fn('steps'),
      Parameters: { action: 'boom' },
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'HandleFailure' }],
      End: true,
    },
    HandleFailure: { Type: 'Pass', ResultPath: '$.failure', Next: 'FixtureFailed' },
    FixtureFailed: { Type: 'Fail', Error: 'FixtureFailed', Cause: 'the fail route was chosen' },
    Squares: {
      Type: 'Map',
      ItemsPath: '$.prepared.items',
      ResultPath: '$.squares',
      MaxConcurrency: 1,
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: 'Square',
        States: {
          Square: {
            Type: 'Task',
            Resource: fn('steps'),
            Parameters: { action: 'square', 'n.$': '$' },
            End: true,
          },
        },
      },
      Next: 'Park',
    },
    Park: {
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: fn('park'),
        Payload: { 'token.$': '$$.Task.Token', 'executionId.$': '$$.Execution.Id' },
      },
      HeartbeatSeconds: 600,
      ResultPath: '$.approval',
      Next: 'Train',
    },
    Train: {
      Type: 'Task',
      Resource: 'arn:aws:states:::sagemaker:createTrainingJob.sync',
      Parameters: trainParameters,
      ResultSelector: {
        'status.$': '$.TrainingJobStatus',
        'artifacts.$': '$.ModelArtifacts.S3ModelArtifacts',
      },
      ResultPath: '$.training',
      Next: 'Record',
    },
    Record: {
      Type: 'Task',
      Resource: 'arn:aws:states:::dynamodb:putItem',
      Parameters: {
        TableName: TABLE,
        Item: { pk: { 'S.$': '$$.Execution.Name' }, artifacts: { 'S.$': '$.training.artifacts' } },
      },
      ResultPath: null,
      Next: 'Notify',
    },
    Notify: {
      Type: 'Task',
      Resource: 'arn:aws:states:::sns:publish',
      Parameters: { TopicArn: TOPIC, Subject: 'trained', 'Message.$': '$.training' },
      ResultSelector: { 'messageId.$': '$.MessageId' },
      ResultPath: '$.notified',
      Next: 'Done',
    },
    Done: { Type: 'Succeed' },
  },
};

/** Training alone, retried on SageMaker throttling, to test .sync failures and service error names. */
const trainOnly = {
  StartAt: 'Train',
  States: {
    Train: {
      Type: 'Task',
      Resource: 'arn:aws:states:::sagemaker:createTrainingJob.sync',
      Parameters: trainParameters,
      Retry: [
        {
          ErrorEquals: ['SageMaker.AmazonSageMakerException'],
          IntervalSeconds: 2,
          MaxAttempts: 3,
          BackoffRate: 2,
        },
      ],
      End: true,
    },
  },
};

const machine = (name: string, definition: object): LocalStateMachine => ({
  stack: 'Test',
  logicalId: name,
  name,
  arn: `arn:aws:states:${REGION}:${LOCAL_ACCOUNT}:stateMachine:${name}`,
  definition: JSON.stringify(definition),
  type: 'STANDARD',
});

const WORKFLOW = machine('Workflow', workflow);
const TRAIN_ONLY = machine('TrainOnly', trainOnly);

describe('local Step Functions service', () => {
  let dynamodb: DynamoDbEngine;
  let s3Engine: S3Engine;
  let sns: SnsSink;
  let sagemaker: SageMakerEmulator;
  let stepfunctions: StepFunctionsEmulator;
  let sfn: SFNClient;
  const lambdas = new FakeLambdas();

  const start = async (sm: LocalStateMachine, input: object, name?: string) =>
    (
      await sfn.send(
        new StartExecutionCommand({ stateMachineArn: sm.arn, input: JSON.stringify(input), name }),
      )
    ).executionArn ?? '';
  const describeExecution = (executionArn: string) =>
    sfn.send(new DescribeExecutionCommand({ executionArn }));
  const ended = (d: DescribeExecutionCommandOutput) => d.status !== 'RUNNING';
  const history = async (executionArn: string): Promise<HistoryEvent[]> =>
    (await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }))).events ?? [];
  const types = (events: HistoryEvent[]) => events.map((e) => e.type);

  beforeAll(async () => {
    [dynamodb, s3Engine, sns] = await Promise.all([startDynamoDb(), startS3(), startSns()]);
    sagemaker = await startSageMaker({ s3Endpoint: s3Engine.endpoint, placement });
    stepfunctions = await startStepFunctions({
      stateMachines: [WORKFLOW, TRAIN_ONLY],
      invokeLambda: lambdas.invoke,
      endpoints: { sagemaker: sagemaker.endpoint, dynamodb: dynamodb.endpoint, sns: sns.endpoint },
      placement,
      retryIntervalScale: 0.01,
      syncPollIntervalMs: 20,
    });
    const config = { region: REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 };
    sfn = new SFNClient({ ...config, endpoint: stepfunctions.endpoint });
    const ddb = new DynamoDBClient({ ...config, endpoint: dynamodb.endpoint });
    await ddb.send(
      new CreateTableCommand({
        TableName: TABLE,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    ddb.destroy();
    const s3 = new S3Client({
      ...config,
      endpoint: s3Engine.endpoint,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'train/rows.csv', Body: '1\n2\n3\n4\n' }));
    s3.destroy();
  });

  afterAll(async () => {
    sfn?.destroy();
    await stepfunctions?.stop();
    await sagemaker?.stop();
    await sns?.stop();
    await s3Engine?.stop();
    await dynamodb?.stop();
  });

  it('runs Task, Retry, Choice, Map, waitForTaskToken, a .sync training job, DynamoDB and SNS to SUCCEEDED', async () => {
    // Prepare
    const executionArn = await start(
      WORKFLOW,
      { route: 'ok', hyperparameters: { greeting: 'hello' } },
      'run-ok',
    );
    const token = await until(
      'Park to receive its token',
      async () => lambdas.parked.get(executionArn),
      (t) => t !== undefined,
    );
    const parked = await describeExecution(executionArn);

    // Act
    await sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approvedBy: 'alice' }) }),
    );
    const done = await until('execution end', () => describeExecution(executionArn), ended);

    // Assess
    expect(parked.status).toBe('RUNNING');
    expect(done.status).toBe('SUCCEEDED');
    expect(done.stopDate).toBeInstanceOf(Date);
    const output = JSON.parse(done.output ?? '{}');
    expect(output).toMatchObject({
      flaky: { recovered: true, status: 200 },
      squares: [{ n: 1 }, { n: 4 }, { n: 9 }],
      approval: { approvedBy: 'alice' },
      training: { status: 'Completed', artifacts: `s3://${BUCKET}/models/run-ok/output/model.tar.gz` },
      notified: { messageId: expect.stringMatching(/^[0-9a-f-]{36}$/) },
    });
    expect(lambdas.attempts.get(executionArn)).toBe(2);
    expect(sns.messages(TOPIC).map((m) => [m.subject, JSON.parse(m.message)])).toEqual([
      ['trained', { status: 'Completed', artifacts: `s3://${BUCKET}/models/run-ok/output/model.tar.gz` }],
    ]);
    const ddb = new DynamoDBClient({
      region: REGION,
      credentials: LOCAL_CREDENTIALS,
      endpoint: dynamodb.endpoint,
    });
    const item = await ddb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'run-ok' } } }));
    ddb.destroy();
    expect(item.Item?.artifacts?.S).toBe(`s3://${BUCKET}/models/run-ok/output/model.tar.gz`);

    const events = await history(executionArn);
    const lambdaTask = ['LambdaFunctionScheduled', 'LambdaFunctionStarted', 'LambdaFunctionSucceeded'];
    const iteration = [
      'MapIterationStarted',
      'TaskStateEntered',
      ...lambdaTask,
      'TaskStateExited',
      'MapIterationSucceeded',
    ];
    const task = (...middle: string[]) => [
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      ...middle,
      'TaskStateExited',
    ];
    expect(types(events)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      ...lambdaTask,
      'TaskStateExited',
      ...task('TaskFailed', 'TaskScheduled', 'TaskStarted', 'TaskSucceeded'),
      'ChoiceStateEntered',
      'ChoiceStateExited',
      'MapStateEntered',
      'MapStateStarted',
      ...iteration,
      ...iteration,
      ...iteration,
      'MapStateSucceeded',
      'MapStateExited',
      ...task('TaskSubmitted', 'TaskSucceeded'),
      ...task('TaskSubmitted', 'TaskSucceeded'),
      ...task('TaskSucceeded'),
      ...task('TaskSucceeded'),
      'SucceedStateEntered',
      'SucceedStateExited',
      'ExecutionSucceeded',
    ]);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.every((e, i) => e.previousEventId === i && e.timestamp instanceof Date)).toBe(true);
    const failed = events.find((e) => e.type === 'TaskFailed');
    expect(failed?.taskFailedEventDetails).toMatchObject({
      resourceType: 'lambda',
      resource: 'invoke',
      error: 'TransientError',
    });
    expect(JSON.parse(failed?.taskFailedEventDetails?.cause ?? '{}')).toMatchObject({
      errorType: 'TransientError',
      errorMessage: 'first attempt always fails',
    });
    expect(events.find((e) => e.type === 'MapStateStarted')?.mapStateStartedEventDetails?.length).toBe(3);
    const entered = events
      .filter((e) => e.type?.endsWith('StateEntered'))
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(entered).toEqual([
      'Prepare',
      'Flaky',
      'Route',
      'Squares',
      'Square',
      'Square',
      'Square',
      'Park',
      'Train',
      'Record',
      'Notify',
      'Done',
    ]);
    const parkScheduled = events
      .filter((e) => e.type === 'TaskScheduled')
      .find((e) => e.taskScheduledEventDetails?.resource === 'invoke.waitForTaskToken');
    expect(JSON.parse(parkScheduled?.taskScheduledEventDetails?.parameters ?? '{}').Payload.token).toBe(
      token,
    );
    expect(parkScheduled?.taskScheduledEventDetails).toMatchObject({
      resourceType: 'lambda',
      region: REGION,
      heartbeatInSeconds: 600,
    });
    const trainSucceeded = events
      .filter((e) => e.type === 'TaskSucceeded')
      .find((e) => e.taskSucceededEventDetails?.resource === 'createTrainingJob.sync');
    expect(JSON.parse(trainSucceeded?.taskSucceededEventDetails?.output ?? '{}')).toMatchObject({
      TrainingJobStatus: 'Completed',
      TrainingJobName: 'run-ok',
    });

    // A used token is gone, as in AWS.
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it('ends FAILED through Catch -> HandleFailure -> Fail, keeping the caught error in the state data', async () => {
    // Act
    const executionArn = await start(WORKFLOW, { route: 'fail' });
    const done = await until('execution end', () => describeExecution(executionArn), ended);
    const events = await history(executionArn);

    // Assess
    expect(done).toMatchObject({
      status: 'FAILED',
      error: 'FixtureFailed',
      cause: 'the fail route was chosen',
    });
    expect(types(events).slice(-9)).toEqual([
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'TaskStateExited',
      'PassStateEntered',
      'PassStateExited',
      'FailStateEntered',
      'ExecutionFailed',
    ]);
    const lambdaFailed = events.find((e) => e.type === 'LambdaFunctionFailed');
    expect(lambdaFailed?.lambdaFunctionFailedEventDetails?.error).toBe('BoomError');
    const handled = events.find((e) => e.type === 'PassStateEntered');
    const caught = JSON.parse(handled?.stateEnteredEventDetails?.input ?? '{}');
    expect(caught.error.Error).toBe('BoomError');
    expect(JSON.parse(caught.error.Cause)).toMatchObject({
      errorType: 'BoomError',
      errorMessage: 'the fail route was chosen',
    });
    expect(events.at(-1)?.executionFailedEventDetails).toEqual({
      error: 'FixtureFailed',
      cause: 'the fail route was chosen',
    });
  });

  it('fails a waiting task with SendTaskFailure, and rejects malformed or unknown tokens', async () => {
    // Prepare
    const executionArn = await start(WORKFLOW, { route: 'ok', hyperparameters: {} });
    const token = await until(
      'Park',
      async () => lambdas.parked.get(executionArn),
      (t) => t !== undefined,
    );

    // Act
    await sfn.send(new SendTaskFailureCommand({ taskToken: token, error: 'Rejected', cause: 'not today' }));
    const done = await until('execution end', () => describeExecution(executionArn), ended);
    const invalid = await sfn
      .send(new SendTaskSuccessCommand({ taskToken: 'not-a-token', output: '{}' }))
      .catch((e: unknown) => e);
    const forged = Buffer.from(JSON.stringify({ v: 1, e: executionArn, s: 'Park', n: 'nope' })).toString(
      'base64url',
    );
    const unknown = await sfn
      .send(new SendTaskSuccessCommand({ taskToken: forged, output: '{}' }))
      .catch((e: unknown) => e);

    // Assess
    expect(done).toMatchObject({ status: 'FAILED', error: 'Rejected', cause: 'not today' });
    const events = await history(executionArn);
    expect(types(events).slice(-3)).toEqual(['TaskSubmitted', 'TaskFailed', 'ExecutionFailed']);
    expect(invalid).toMatchObject({ name: 'InvalidToken' });
    expect(unknown).toMatchObject({ name: 'TaskDoesNotExist' });
  });

  it('gives each waiting task a unique token', async () => {
    // Act
    const a = await start(WORKFLOW, { route: 'ok', hyperparameters: {} });
    const b = await start(WORKFLOW, { route: 'ok', hyperparameters: {} });
    const tokenA = await until(
      'Park a',
      async () => lambdas.parked.get(a),
      (t) => t !== undefined,
    );
    const tokenB = await until(
      'Park b',
      async () => lambdas.parked.get(b),
      (t) => t !== undefined,
    );
    await sfn.send(new StopExecutionCommand({ executionArn: a, error: 'Test', cause: 'cleanup' }));
    await sfn.send(new StopExecutionCommand({ executionArn: b }));

    // Assess
    expect(tokenA).not.toBe(tokenB);
    expect(tokenA).not.toContain('local-sfn-task-token');
    const stopped = await until('abort', () => describeExecution(a), ended);
    expect(stopped).toMatchObject({ status: 'ABORTED', error: 'Test', cause: 'cleanup' });
    await until(
      'history closed',
      () => history(a),
      (events) => events.at(-1)?.type === 'ExecutionAborted',
    );
    await expect(
      sfn.send(new SendTaskSuccessCommand({ taskToken: tokenA, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
  });

  it('is idempotent for the same name and input while running, and rejects a different input', async () => {
    // Act
    const first = await start(WORKFLOW, { route: 'ok', hyperparameters: {} }, 'same-name');
    const again = await start(WORKFLOW, { route: 'ok', hyperparameters: {} }, 'same-name');
    const different = await start(WORKFLOW, { route: 'fail' }, 'same-name').catch((e: unknown) => e);
    await sfn.send(new StopExecutionCommand({ executionArn: first }));
    const afterStop = await start(WORKFLOW, { route: 'ok', hyperparameters: {} }, 'same-name').catch(
      (e: unknown) => e,
    );
    const missing = await describeExecution(`${first}-missing`).catch((e: unknown) => e);
    const noMachine = await sfn
      .send(new StartExecutionCommand({ stateMachineArn: `${WORKFLOW.arn}-missing`, input: '{}' }))
      .catch((e: unknown) => e);
    const badInput = await sfn
      .send(new StartExecutionCommand({ stateMachineArn: WORKFLOW.arn, input: '{' }))
      .catch((e: unknown) => e);

    // Assess
    expect(again).toBe(first);
    expect(first).toBe(`arn:aws:states:${REGION}:${LOCAL_ACCOUNT}:execution:Workflow:same-name`);
    expect(different).toMatchObject({ name: 'ExecutionAlreadyExists' });
    expect(afterStop).toMatchObject({ name: 'ExecutionAlreadyExists' });
    expect(missing).toMatchObject({ name: 'ExecutionDoesNotExist' });
    expect(noMachine).toMatchObject({ name: 'StateMachineDoesNotExist' });
    expect(badInput).toMatchObject({ name: 'InvalidExecutionInput' });
  });

  it('fails a .sync training task with States.TaskFailed and the FailureReason, and retries SageMaker throttling', async () => {
    // Prepare
    sagemaker.faults.inject('CreateTrainingJob', { error: 'ThrottlingException', times: 1 });

    // Act
    const executionArn = await start(TRAIN_ONLY, { hyperparameters: { fail: 'true' } }, 'train-fails');
    const done = await until('execution end', () => describeExecution(executionArn), ended);
    const events = await history(executionArn);

    // Assess
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.TaskFailed');
    expect(JSON.parse(done.cause ?? '{}')).toMatchObject({
      TrainingJobStatus: 'Failed',
      FailureReason: 'AlgorithmError: asked to fail',
    });
    expect(types(events)).toEqual([
      'ExecutionStarted',
      'TaskStateEntered',
      'TaskScheduled',
      'TaskStarted',
      'TaskFailed',
      'TaskScheduled',
      'TaskStarted',
      'TaskSubmitted',
      'TaskFailed',
      'ExecutionFailed',
    ]);
    const throttled = events.find((e) => e.type === 'TaskFailed')?.taskFailedEventDetails;
    expect(throttled?.error).toBe('SageMaker.AmazonSageMakerException');
    expect(throttled?.cause).toMatch(
      /^Rate exceeded \(Service: AmazonSageMaker; Status Code: 400; Error Code: ThrottlingException;/,
    );
  });

  it('lists and describes state machines and executions', async () => {
    // Act
    const machines = await sfn.send(new ListStateMachinesCommand({}));
    const described = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: WORKFLOW.arn }));
    const failed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: WORKFLOW.arn, statusFilter: 'FAILED' }),
    );
    const noData = await sfn.send(
      new GetExecutionHistoryCommand({
        executionArn: failed.executions?.[0]?.executionArn,
        includeExecutionData: false,
        reverseOrder: true,
        maxResults: 2,
      }),
    );

    // Assess
    expect(machines.stateMachines?.map((m) => m.name).sort()).toEqual(['TrainOnly', 'Workflow']);
    expect(described).toMatchObject({
      name: 'Workflow',
      status: 'ACTIVE',
      type: 'STANDARD',
      definition: WORKFLOW.definition,
    });
    expect(failed.executions?.length).toBeGreaterThanOrEqual(2);
    expect(failed.executions?.every((e) => e.status === 'FAILED' && e.startDate instanceof Date)).toBe(true);
    expect(noData.events?.map((e) => e.type)).toEqual(['ExecutionFailed', expect.any(String)]);
    expect(noData.nextToken).toBeDefined();
    expect(JSON.stringify(noData.events)).not.toMatch(/"(input|output|parameters)"/);
    expect(noData.events?.[0]?.executionFailedEventDetails?.error).toEqual(expect.any(String));
  });
});
