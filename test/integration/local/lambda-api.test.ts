/**
 * The synthesized fixture app on the real local engines: provisioning, the Lambda runtime (workers,
 * environment, cold/warm starts, timeouts, the Invoke API) and API Gateway with SigV4.
 */
import { createHash, createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  GetItemCommand,
} from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { GetObjectCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiGateway, LOCAL_USER_ARN, startApiGateway } from '../../../infra/local/apigateway.ts';
import { loadAssembly } from '../../../infra/local/assembly/index.ts';
import { localS3Client } from '../../../infra/local/clients.ts';
import { LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { type DynamoDbEngine, startDynamoDb } from '../../../infra/local/engines/dynamodb.ts';
import { type S3Engine, startS3 } from '../../../infra/local/engines/s3.ts';
import type { InvokeServer } from '../../../infra/local/lambda/index.ts';
import { LambdaRuntime, RuntimeStoppedError } from '../../../infra/local/lambda/index.ts';
import {
  endpointEnvironment,
  type LocalAssembly,
  type LocalEndpoints,
  type LocalFunction,
} from '../../../infra/local/model.ts';
import { freePort } from '../../../infra/local/ports.ts';
import { provision } from '../../../infra/local/provision.ts';
import { synthFixtureApp } from '../../fixtures/local-app/app.ts';

/** SHA-256 / HMAC for the test's own signer, independent of the server's. */
class TestSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash =
      secret === undefined
        ? createHash('sha256')
        : createHmac('sha256', typeof secret === 'string' ? secret : Buffer.from(secret as Uint8Array));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {}
}

interface Signed {
  readonly url: string;
  readonly init: RequestInit;
}

/** Signs a request for execute-api as an SDK client would; `secret` lets a test sign with a wrong key. */
async function signed(
  url: string,
  method: string,
  body: string,
  secret: string = LOCAL_CREDENTIALS.secretAccessKey,
): Promise<Signed> {
  const u = new URL(url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: LOCAL_CREDENTIALS.accessKeyId, secretAccessKey: secret },
    region: 'us-east-1',
    service: 'execute-api',
    sha256: TestSha256,
  });
  const request = await signer.sign({
    method,
    protocol: 'http:',
    hostname: u.hostname,
    port: Number(u.port),
    path: u.pathname,
    query: {},
    headers: { host: u.host, 'content-type': 'application/json' },
    body,
  });
  // fetch sets Host itself, to the same value.
  const { host: _host, ...headers } = request.headers;
  return { url, init: { method, headers, body } };
}

describe('local Lambda runtime and API Gateway on the fixture app', () => {
  let work: string;
  let assembly: LocalAssembly;
  let dynamodb: DynamoDbEngine;
  let s3: S3Engine;
  let endpoints: LocalEndpoints;
  let runtime: LambdaRuntime;
  let invokeServer: InvokeServer;
  let api: ApiGateway;
  const logs: { fn: string; line: string }[] = [];
  const fn = (prefix: string): LocalFunction => {
    const found = assembly.functions.find((f) => f.logicalId.startsWith(prefix));
    if (!found) throw new Error(`no function ${prefix}`);
    return found;
  };
  const ddb = () =>
    new DynamoDBClient({ endpoint: dynamodb.endpoint, region: 'us-east-1', credentials: LOCAL_CREDENTIALS });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'lambda-api-'));
    assembly = loadAssembly(synthFixtureApp(join(work, 'cdk.out')));
    [dynamodb, s3] = await Promise.all([startDynamoDb(), startS3({ dataDir: join(work, 's3') })]);
    await provision(assembly, { dynamodb: dynamodb.endpoint, s3: s3.endpoint });
    const unused = 'http://127.0.0.1:9';
    endpoints = {
      dynamodb: dynamodb.endpoint,
      s3: s3.endpoint,
      lambda: `http://127.0.0.1:${await freePort()}`,
      stepfunctions: unused,
      sagemaker: unused,
      sagemakerRuntime: unused,
      sns: unused,
      kms: unused,
      cloudwatch: unused,
      autoscaling: unused,
      firehose: unused,
    };
    runtime = new LambdaRuntime({
      functions: assembly.functions,
      endpoints,
      placement: assembly.placement,
      log: (name, line) => logs.push({ fn: name, line }),
    });
    invokeServer = await runtime.start();
    api = await startApiGateway({ assembly, runtime, iamBypass: false });
  });

  afterAll(async () => {
    await api?.stop();
    await runtime?.stop();
    await Promise.all([dynamodb?.stop(), s3?.stop()]);
    rmSync(work, { recursive: true, force: true });
  });

  describe('provisioning', () => {
    it('creates the table with its index and TTL, and the bucket, and can run again on existing ones', async () => {
      // Act
      await provision(assembly, { dynamodb: dynamodb.endpoint, s3: s3.endpoint });
      // Assess
      const client = ddb();
      const table = assembly.tables[0]?.name ?? '';
      const described = await client.send(new DescribeTableCommand({ TableName: table }));
      expect(described.Table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(['byValue']);
      expect(described.Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
      const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: table }));
      expect(ttl.TimeToLiveDescription).toMatchObject({
        TimeToLiveStatus: 'ENABLED',
        AttributeName: 'expiresAt',
      });
      const s3Client = localS3Client(s3.endpoint, 'us-east-1');
      await expect(
        s3Client.send(new HeadBucketCommand({ Bucket: assembly.buckets[0]?.name })),
      ).resolves.toBeDefined();
    });
  });

  describe('API Gateway', () => {
    it('refuses an unsigned POST to the IAM route with Missing Authentication Token', async () => {
      const res = await fetch(api.url('v1', '/items'), { method: 'POST', body: '{"id":"a","value":"b"}' });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });
    });

    it('refuses a request signed with another secret', async () => {
      const req = await signed(api.url('v1', '/items'), 'POST', '{"id":"a","value":"b"}', 'not-the-secret');
      const res = await fetch(req.url, req.init);
      expect(res.status).toBe(403);
      expect(((await res.json()) as { message: string }).message).toMatch(
        /^The request signature we calculated does not match/,
      );
    });

    it('runs a SigV4-signed POST through the Writer into DynamoDB Local and s3rver', async () => {
      // Prepare
      const body = JSON.stringify({ id: 'item-1', value: 'hello' });
      const req = await signed(api.url('v1', '/items'), 'POST', body);
      // Act
      const res = await fetch(req.url, req.init);
      // Assess
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ id: 'item-1', caller: LOCAL_USER_ARN });
      const item = await ddb().send(
        new GetItemCommand({ TableName: assembly.tables[0]?.name, Key: { pk: { S: 'item#item-1' } } }),
      );
      expect(item.Item?.value).toEqual({ S: 'hello' });
      const s3Client = localS3Client(s3.endpoint, 'us-east-1');
      const object = await s3Client.send(
        new GetObjectCommand({ Bucket: assembly.buckets[0]?.name, Key: 'items/item-1.json' }),
      );
      expect(JSON.parse((await object.Body?.transformToString()) ?? '')).toEqual({
        id: 'item-1',
        value: 'hello',
      });
    });

    it('refuses a signed POST whose body was swapped, though its x-amz-content-sha256 was signed', async () => {
      // Prepare: an SDK-style signer, which signs the hash of the body it was given
      const req = await signed(api.url('v1', '/items'), 'POST', '{"id":"signed","value":"a"}');
      expect(Object.keys(req.init.headers ?? {})).toContain('x-amz-content-sha256');
      // Act
      const res = await fetch(req.url, { ...req.init, body: '{"id":"swapped","value":"b"}' });
      // Assess
      expect(res.status).toBe(403);
      expect(res.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
      expect(((await res.json()) as { message: string }).message).toMatch(
        /^The request signature we calculated does not match/,
      );
      const item = await ddb().send(
        new GetItemCommand({ TableName: assembly.tables[0]?.name, Key: { pk: { S: 'item#swapped' } } }),
      );
      expect(item.Item).toBeUndefined();
    });

    it('answers 400 Bad Request with a request ID to an undecodable path on every fixture route', async () => {
      for (const route of assembly.routes) {
        for (const badEscape of ['%ZZ', '%', '%FF', '%ED%A0%80']) {
          const path = route.path.includes('{')
            ? route.path.replace(/\{[^}]+\}/g, badEscape)
            : `${route.path}/${badEscape}`;
          const res = await fetch(`${api.url(route.stageName, path)}?__proto__=1&constructor=1&toString=x`, {
            method: route.method === 'ANY' ? 'GET' : route.method,
            headers: { constructor: 'c', hasOwnProperty: 'h' },
          });
          expect(res.status, `${route.method} ${path}`).toBe(400);
          expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
          expect(await res.json()).toEqual({ message: 'Bad Request' });
        }
      }
    });

    it('hands query parameters and headers named like prototype members to the handler', async () => {
      const res = await fetch(`${api.url('v1', '/items/item-1')}?__proto__=1&constructor=1&toString=x`, {
        headers: { constructor: 'c', hasOwnProperty: 'h' },
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id: 'item-1', value: 'hello' });
    });

    it('serves GET /items/{id} with the path parameter, and the handler 404 for an unknown id', async () => {
      const found = await fetch(api.url('v1', '/items/item-1'));
      expect(found.status).toBe(200);
      expect(found.headers.get('content-type')).toBe('application/json');
      expect(await found.json()).toEqual({ id: 'item-1', value: 'hello' });
      const missing = await fetch(api.url('v1', '/items/nope'));
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ message: 'no item nope' });
    });

    it('answers 403 Missing Authentication Token for an unknown path, stage or method', async () => {
      for (const [path, method] of [
        [api.url('v1', '/nothing-here'), 'GET'],
        [api.url('v2', '/items/item-1'), 'GET'],
        [api.url('v1', '/items/item-1'), 'DELETE'],
      ] as const) {
        const res = await fetch(path, { method });
        expect(res.status).toBe(403);
        expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });
      }
    });

    it('accepts unsigned requests on IAM routes with the documented bypass, as the local user', async () => {
      const bypass = await startApiGateway({ assembly, runtime, iamBypass: true });
      try {
        const res = await fetch(bypass.url('v1', '/items'), {
          method: 'POST',
          body: '{"id":"item-2","value":"x"}',
        });
        expect(res.status).toBe(201);
        expect(await res.json()).toEqual({ id: 'item-2', caller: LOCAL_USER_ARN });
      } finally {
        await bypass.stop();
      }
    });

    it('maps a function error to 502 Internal server error', async () => {
      const broken = await startApiGateway({
        assembly: {
          ...assembly,
          routes: [
            { ...(assembly.routes[0] ?? fail()), authorization: 'NONE', functionArn: fn('NeedsEnv').arn },
          ],
        },
        runtime,
      });
      try {
        const res = await fetch(broken.url('v1', '/items'), { method: 'POST', body: '{}' });
        expect(res.status).toBe(502);
        expect(await res.json()).toEqual({ message: 'Internal server error' });
      } finally {
        await broken.stop();
      }
    });
  });

  describe('Lambda runtime', () => {
    it('reports the zod error of a function that fails at init, every time, without hanging', async () => {
      for (let i = 0; i < 2; i++) {
        const result = await runtime.invoke(fn('NeedsEnv').name, {});
        expect(result.functionError).toBe('Unhandled');
        expect(result.payload).toMatchObject({ errorType: 'ZodError' });
        expect((result.payload as { errorMessage: string }).errorMessage).toContain('REQUIRED_SETTING');
      }
      expect(runtime.workerCount(fn('NeedsEnv').name)).toBe(0);
      expect(logs.some((l) => l.fn === fn('NeedsEnv').name && l.line.includes('INIT_ERROR'))).toBe(true);
    });

    it('gives a function exactly its declared variables, the emulator endpoints and the Lambda ones', async () => {
      // Prepare
      const envDump = fn('EnvDump');
      // Act
      const result = await runtime.invoke(envDump.arn, {});
      // Assess
      const { env } = result.payload as { env: Record<string, string> };
      const expected = {
        ...envDump.environment,
        ...endpointEnvironment(endpoints, assembly.placement),
        AWS_LAMBDA_FUNCTION_NAME: envDump.name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_LOG_GROUP_NAME: envDump.logGroupName,
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
        _HANDLER: 'index.handler',
        LAMBDA_TASK_ROOT: envDump.codeDir,
        LANG: 'en_US.UTF-8',
        TZ: ':UTC',
      };
      expect(env).toEqual({
        ...expected,
        AWS_LAMBDA_LOG_STREAM_NAME: expect.stringMatching(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/),
        _X_AMZN_TRACE_ID: expect.stringMatching(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};/),
      });
      expect(env.DECLARED).toBe('yes');
      expect(env.HOME).toBeUndefined();
      expect(env.PATH).toBeUndefined();
      expect(result.payload).toMatchObject({ functionName: envDump.name, memoryLimitInMB: '256' });
      const remaining = (result.payload as { remainingMs: number }).remainingMs;
      expect(remaining).toBeGreaterThan(25_000);
      expect(remaining).toBeLessThanOrEqual(30_000);
    });

    it('reuses a warm worker: module state survives between invocations', async () => {
      const name = fn('Steps').name;
      const before = logs.length;
      await runtime.invoke(name, { action: 'square', n: 2 });
      const second = await runtime.invoke(name, { action: 'square', n: 3 }, { logType: 'Tail' });
      expect(second.payload).toEqual({ n: 9 });
      expect(runtime.workerCount(name)).toBe(1);
      const reports = logs.slice(before).filter((l) => l.fn === name && l.line.startsWith('REPORT'));
      expect(reports).toHaveLength(2);
      expect(reports[0]?.line).toContain('Init Duration');
      expect(reports[1]?.line).not.toContain('Init Duration');
      expect(second.logTail).toMatch(/^START RequestId: [0-9a-f-]{36} Version: \$LATEST\n/);

      const envDump = fn('EnvDump').name;
      const counts: number[] = [];
      for (let i = 0; i < 2; i++)
        counts.push(((await runtime.invoke(envDump, {})).payload as { invocations: number }).invocations);
      expect(counts[1]).toBe((counts[0] ?? 0) + 1);
    });

    it('scales out to a second worker when invocations overlap', async () => {
      const name = fn('EnvDump').name;
      const results = await Promise.all([runtime.invoke(name, {}), runtime.invoke(name, {})]);
      expect(results.every((r) => r.functionError === undefined)).toBe(true);
      expect(runtime.workerCount(name)).toBe(2);
    });

    it('lets an init longer than the 10 s allowance go on inside the first invocation, as AWS does', async () => {
      const result = await runtime.invoke(fn('SlowInit').name, {}, { logType: 'Tail' });
      expect(result.functionError).toBeUndefined();
      expect(result.payload).toBe('initialised');
      expect(result.logTail).toMatch(/Init Duration: 1\d{4}\.\d{2} ms/);
    });

    it('times a slow function out after its 2-second timeout, and cold-starts the next invocation', async () => {
      const sleepy = fn('Sleepy').name;
      for (let i = 0; i < 2; i++) {
        const started = Date.now();
        const result = await runtime.invoke(sleepy, {}, { logType: 'Tail' });
        expect(Date.now() - started).toBeLessThan(5_000);
        expect(result.functionError).toBe('Unhandled');
        expect(result.payload).toMatchObject({ errorType: 'Sandbox.Timedout' });
        expect((result.payload as { errorMessage: string }).errorMessage).toMatch(
          /^RequestId: [0-9a-f-]{36} Error: Task timed out after 2\.00 seconds$/,
        );
        // Every attempt initialises again: the timed-out worker was terminated.
        expect(result.logTail).toContain('Init Duration');
        expect(runtime.workerCount(sleepy)).toBe(0);
      }
    });

    it('answers the Lambda Invoke API for the AWS SDK LambdaClient', async () => {
      // Prepare
      const client = new LambdaClient({
        endpoint: invokeServer.endpoint,
        region: 'us-east-1',
        credentials: LOCAL_CREDENTIALS,
      });
      expect(invokeServer.endpoint).toBe(endpoints.lambda);
      // Act
      const ok = await client.send(
        new InvokeCommand({
          FunctionName: fn('Steps').arn,
          Payload: JSON.stringify({ action: 'square', n: 7 }),
          LogType: 'Tail',
        }),
      );
      const failed = await client.send(new InvokeCommand({ FunctionName: fn('NeedsEnv').name }));
      const event = await client.send(
        new InvokeCommand({ FunctionName: fn('EnvDump').name, InvocationType: 'Event' }),
      );
      // Assess
      expect(ok.StatusCode).toBe(200);
      expect(ok.FunctionError).toBeUndefined();
      expect(ok.ExecutedVersion).toBe('$LATEST');
      expect(JSON.parse(new TextDecoder().decode(ok.Payload))).toEqual({ n: 49 });
      expect(Buffer.from(ok.LogResult ?? '', 'base64').toString()).toContain('REPORT RequestId:');
      expect(failed.StatusCode).toBe(200);
      expect(failed.FunctionError).toBe('Unhandled');
      expect(JSON.parse(new TextDecoder().decode(failed.Payload))).toMatchObject({ errorType: 'ZodError' });
      expect(event.StatusCode).toBe(202);
      await expect(
        client.send(new InvokeCommand({ FunctionName: 'no-such-function' })),
      ).rejects.toBeInstanceOf(ResourceNotFoundException);
    });

    it('terminates every worker on stop and refuses later invocations', async () => {
      // Prepare
      const own = new LambdaRuntime({
        functions: assembly.functions,
        endpoints,
        placement: assembly.placement,
        log: () => {},
      });
      const name = fn('EnvDump').name;
      await Promise.all([own.invoke(name, {}), own.invoke(name, {})]);
      expect(own.workerCount(name)).toBe(2);
      // Act
      await own.stop();
      // Assess
      expect(own.workerCount(name)).toBe(0);
      await expect(own.invoke(name, {})).rejects.toBeInstanceOf(RuntimeStoppedError);
    });

    it('starts no worker for an invocation still queued when the runtime stops', async () => {
      // Prepare
      const own = new LambdaRuntime({
        functions: assembly.functions,
        endpoints,
        placement: assembly.placement,
        log: () => {},
        maxConcurrency: 1,
      });
      const name = fn('Sleepy').name;
      // A first worker's start-up leaves helper threads behind; count from after one.
      const warmUp = new LambdaRuntime({
        functions: assembly.functions,
        endpoints,
        placement: assembly.placement,
        log: () => {},
      });
      await warmUp.invoke(fn('EnvDump').name, {});
      await warmUp.stop();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const threadsBefore = osThreads();
      const inFlight = own.invoke(name, {});
      const queued = own.invoke(name, {});
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(own.workerCount(name)).toBe(1);
      // Act
      await own.stop();
      const [, second] = await Promise.allSettled([inFlight, queued]);
      // Assess
      expect(second).toMatchObject({ status: 'rejected', reason: expect.any(RuntimeStoppedError) });
      expect(own.workerCount(name)).toBe(0);
      // A worker the pool lost track of would still run as a thread of this process.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(osThreads()).toBeLessThanOrEqual(threadsBefore);
    });
  });
});

/** Threads of this process (each Worker is one), from Linux's /proc. */
function osThreads(): number {
  return Number(/^Threads:\s+(\d+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0);
}

function fail(): never {
  throw new Error('the fixture has no route');
}
