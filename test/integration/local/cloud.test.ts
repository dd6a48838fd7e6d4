/**
 * The fixture app end to end through the whole local cloud: the synthesized templates, bundled
 * Lambda code and real ASL, on DynamoDB Local, s3rver and our emulators. No mocks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { NotFoundException, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tickRunning } from '../../../infra/cli/local.ts';
import { localS3Client } from '../../../infra/local/clients.ts';
import { type LocalCloud, startLocalCloud } from '../../../infra/local/cloud.ts';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { freePort } from '../../../infra/local/ports.ts';
import { signedFetch as signedFetchUrl } from '../../../infra/local/sigv4.ts';
import { readState } from '../../../infra/local/state.ts';
import { synthFixtureApp } from '../../fixtures/local-app/app.ts';

let cdkOut: string;
const stateFile = join(mkdtempSync(join(tmpdir(), 'cloud-state-')), 'cloud.json');
let cloud: LocalCloud;
let sfn: SFNClient;
let doc: DynamoDBDocumentClient;
let s3: S3Client;

function clients(c: LocalCloud) {
  const region = c.assembly.placement.region;
  return {
    sfn: new SFNClient({ endpoint: c.endpoints.stepfunctions, region, credentials: LOCAL_CREDENTIALS }),
    doc: DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: c.endpoints.dynamodb, region, credentials: LOCAL_CREDENTIALS }),
    ),
    s3: localS3Client(c.endpoints.s3, region),
  };
}

const tableName = () => cloud.assembly.tables[0]?.name ?? '';
const bucketName = () => cloud.assembly.buckets[0]?.name ?? '';
const machineArn = () => cloud.assembly.stateMachines[0]?.arn ?? '';

function signedFetch(c: LocalCloud, method: string, path: string, body?: unknown): Promise<Response> {
  return signedFetchUrl(`${c.apiEndpoint}/v1${path}`, method, body);
}

async function waitForStatus(arn: string, statuses: string[], timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    if (d.status && statuses.includes(d.status)) return d;
    if (Date.now() > deadline) throw new Error(`execution still ${d.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function history(arn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn: arn, nextToken }));
    events.push(...(page.events ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return events;
}

/** The event types emitted while inside the named state (from its Entered to its Exited event). */
function eventsOfState(events: HistoryEvent[], state: string): string[] {
  const start = events.findIndex((e) => e.stateEnteredEventDetails?.name === state);
  const end = events.findIndex((e, i) => i > start && e.stateExitedEventDetails?.name === state);
  return events.slice(start, end + 1).map((e) => e.type ?? '?');
}

beforeAll(async () => {
  cdkOut = synthFixtureApp(mkdtempSync(join(tmpdir(), 'fixture-cloud-')));
  cloud = await startLocalCloud({ cdkOut, timeScale: 0.01, log: () => {}, stateFile });
  ({ sfn, doc, s3 } = clients(cloud));
  await s3.send(
    new PutObjectCommand({ Bucket: bucketName(), Key: 'train/part-0.csv', Body: '1,2\n0,3\n1,4\n' }),
  );
});

afterAll(async () => {
  sfn?.destroy();
  s3?.destroy();
  await cloud?.stop();
});

describe('the fixture app in the local cloud', () => {
  it('serves the IAM route: the Lambda writes DynamoDB and S3', async () => {
    const unsigned = await fetch(`${cloud.apiEndpoint}/v1/items`, { method: 'POST', body: '{}' });
    expect(unsigned.status).toBe(403);
    const res = await signedFetch(cloud, 'POST', '/items', { id: 'a1', value: 'hello' });
    expect(res.status).toBe(201);
    const item = await doc.send(new GetCommand({ TableName: tableName(), Key: { pk: 'item#a1' } }));
    expect(item.Item?.value).toBe('hello');
    const object = await s3.send(new GetObjectCommand({ Bucket: bucketName(), Key: 'items/a1.json' }));
    expect(JSON.parse((await object.Body?.transformToString()) ?? '{}')).toEqual({
      id: 'a1',
      value: 'hello',
    });
  });

  it('runs the workflow: retry recovers, Map, waitForTaskToken released by SendTaskSuccess, .sync training', async () => {
    const started = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: machineArn(),
        name: 'ok-run',
        input: JSON.stringify({ route: 'ok' }),
      }),
    );
    const arn = started.executionArn ?? '';
    // The Park step writes its task token to DynamoDB; the execution waits until we send it back.
    let token: string | undefined;
    for (let i = 0; i < 300 && !token; i++) {
      const got = await doc.send(new GetCommand({ TableName: tableName(), Key: { pk: `token#${arn}` } }));
      token = got.Item?.token as string | undefined;
      if (!token) await new Promise((r) => setTimeout(r, 100));
    }
    expect(token).toBeDefined();
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: arn }))).status).toBe('RUNNING');
    await sfn.send(
      new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify({ approvedBy: 'tester' }) }),
    );
    const done = await waitForStatus(arn, ['SUCCEEDED', 'FAILED']);
    expect(done.status).toBe('SUCCEEDED');
    const output = JSON.parse(done.output ?? '{}');
    expect(output.squares).toEqual([{ n: 1 }, { n: 4 }, { n: 9 }]);
    expect(output.approval).toEqual({ approvedBy: 'tester' });
    expect(output.training.status).toBe('Completed');
    expect(output.training.artifacts).toMatch(/models\/ok-run\/output\/model\.tar\.gz$/);

    const events = await history(arn);
    expect(events[0]?.type).toBe('ExecutionStarted');
    expect(events.at(-1)?.type).toBe('ExecutionSucceeded');
    // The retry shows as a failure, then a second scheduling inside the same state, as in AWS
    // (a Task whose Resource is a function ARN reports LambdaFunction* events).
    expect(eventsOfState(events, 'Flaky')).toEqual([
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionSucceeded',
      'TaskStateExited',
    ]);
    const entered = events
      .filter((e) => e.stateEnteredEventDetails)
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(entered).toEqual(
      expect.arrayContaining(['Prepare', 'Flaky', 'Route', 'Squares', 'Park', 'Train', 'Done']),
    );
    expect(events.filter((e) => e.type === 'MapIterationSucceeded')).toHaveLength(3);
  });

  it('routes a failure through Catch to the failure branch', async () => {
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn(), input: JSON.stringify({ route: 'fail' }) }),
    );
    const done = await waitForStatus(started.executionArn ?? '', ['SUCCEEDED', 'FAILED']);
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('FixtureFailed');
    const events = await history(started.executionArn ?? '');
    expect(eventsOfState(events, 'Boom')).toEqual([
      'TaskStateEntered',
      'LambdaFunctionScheduled',
      'LambdaFunctionStarted',
      'LambdaFunctionFailed',
      'TaskStateExited',
    ]);
    const failed = events.find(
      (e) => e.type === 'LambdaFunctionFailed' && e.lambdaFunctionFailedEventDetails?.error === 'BoomError',
    );
    expect(failed).toBeDefined();
    const entered = events
      .filter((e) => e.stateEnteredEventDetails)
      .map((e) => e.stateEnteredEventDetails?.name);
    expect(entered.slice(-2)).toEqual(['HandleFailure', 'FixtureFailed']);
  });

  it('fires the schedule on tick, in process and from another process through the state file', async () => {
    const first = await cloud.tick();
    const second = await cloud.tick();
    expect(first[0]?.result).toEqual({ count: 1 });
    expect(second[0]?.result).toEqual({ count: 2 });
    const fromCli = await tickRunning(readState(stateFile));
    expect(fromCli[0]?.result).toEqual({ count: 3 });
  });

  it('fails a function at init when the template does not declare a variable it needs', async () => {
    const result = await cloud.lambda.invoke(
      cloud.assembly.functions.find((f) => f.logicalId.startsWith('NeedsEnv'))?.arn ?? '',
      {},
    );
    expect(result.functionError).toBe('Unhandled');
    expect(JSON.stringify(result.payload)).toContain('REQUIRED_SETTING');
  });
});

describe('SNS in the local cloud', () => {
  it('refuses a publish to a topic the templates do not declare, as AWS does', async () => {
    // Prepare
    const region = cloud.assembly.placement.region;
    const sns = new SNSClient({ endpoint: cloud.endpoints.sns, region, credentials: LOCAL_CREDENTIALS });
    // Act
    const publishing = sns.send(
      new PublishCommand({ TopicArn: `arn:aws:sns:${region}:${LOCAL_ACCOUNT}:no-such-topic`, Message: 'x' }),
    );
    // Assess
    await expect(publishing).rejects.toBeInstanceOf(NotFoundException);
    sns.destroy();
  });
});

describe('a failed start', () => {
  it('stops the engine that started when the other one fails', async () => {
    // Prepare: DynamoDB Local exits at once for a port above 65535; S3 gets a free port
    const s3Port = await freePort();
    // Act
    const starting = startLocalCloud({ cdkOut, ports: { dynamodb: 70_000, s3: s3Port }, log: () => {} });
    // Assess: the start fails, and S3's port is free again
    await expect(starting).rejects.toThrow();
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(s3Port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => again.close(() => r()));
  });
});

describe('persistent mode', () => {
  it('keeps data written before a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cloud-data-'));
    try {
      const first = await startLocalCloud({ cdkOut, dataDir, log: () => {} });
      const res = await signedFetch(first, 'POST', '/items', { id: 'kept', value: 'across restarts' });
      expect(res.status).toBe(201);
      await first.stop();

      const second = await startLocalCloud({ cdkOut, dataDir, log: () => {} });
      try {
        const c = clients(second);
        const item = await c.doc.send(new GetCommand({ TableName: tableName(), Key: { pk: 'item#kept' } }));
        expect(item.Item?.value).toBe('across restarts');
        const object = await c.s3.send(
          new GetObjectCommand({ Bucket: bucketName(), Key: 'items/kept.json' }),
        );
        expect(await object.Body?.transformToString()).toContain('across restarts');
        const got = await fetch(`${second.apiEndpoint}/v1/items/kept`);
        expect(await got.json()).toEqual({ id: 'kept', value: 'across restarts' });
        c.s3.destroy();
        c.sfn.destroy();
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
