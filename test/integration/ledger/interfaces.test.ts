/**
 * The auditor's interfaces against DynamoDB Local: the `mlops audit` CLI (a real subprocess,
 * reaching DynamoDB through AWS_ENDPOINT_URL_DYNAMODB) and the `/audit` Lambda handler.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../../infra/local/engines/credentials.ts';
import { ServiceUnavailableError } from '../../../shared/errors.ts';
import { appendEvent, LedgerContentionError } from '../../../shared/ledger/append.ts';
import { LedgerIntegrityError } from '../../../shared/ledger/items.ts';
import { runMlops } from '../../support/cli.ts';
import { ENDPOINT, sampleHistory, t } from '../../support/ledger-history.ts';
import { type LedgerDb, startLedgerDb } from '../../support/ledger-table.ts';

const root = join(import.meta.dirname, '..', '..', '..');
let db: LedgerDb;
let env: Record<string, string>;
const TABLE = 'ledger-interfaces';

beforeAll(async () => {
  db = await startLedgerDb();
  await db.createLedgerTable(TABLE);
  for (const e of sampleHistory()) await appendEvent(db.ledger(TABLE), e);
  env = {
    AWS_ENDPOINT_URL_DYNAMODB: db.engine.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    MLOPS_LEDGER_TABLE: TABLE,
    AWS_ENDPOINT_URL_KMS: db.kmsEngine.endpoint,
    MLOPS_LEDGER_SIGNING_KEY: db.signingKeyArn,
    // Not the developer's running local cloud: these commands target "AWS" through the endpoints above.
    MLOPS_LOCAL_STATE: '/nonexistent/cloud.json',
  };
});
afterAll(async () => {
  await db?.stop();
});

function mlops(...args: string[]) {
  const run = spawnSync(join(root, 'node_modules', '.bin', 'tsx'), ['infra/cli/main.ts', 'audit', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Like `mlops`, without blocking this process: the KMS emulator the CLI calls runs in it. */
const mlopsAsync = (...args: string[]) => runMlops(['audit', ...args], env);

describe('mlops audit (CLI)', () => {
  it('verifies the chain, signatures included, with --json and exit code 0', async () => {
    const run = await mlopsAsync('verify', '--json');
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, eventsChecked: 22, head: { seq: 22 } });
  });

  it('answers served-at in plain text, the table coming from MLOPS_LEDGER_TABLE', () => {
    const run = mlops('served-at', ENDPOINT, '--at', t(65));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${ENDPOINT} served flight-delay-v2 at ${t(65)}`);
  });

  it('exports OpenLineage RunEvents and writes a model card to files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-cli-'));
    const exported = mlops(
      'export',
      '--format',
      'openlineage',
      '--from',
      t(0),
      '--to',
      t(200),
      '--out',
      join(dir, 'ol.json'),
    );
    expect(exported.status, exported.stderr).toBe(0);
    const events = JSON.parse(readFileSync(join(dir, 'ol.json'), 'utf8')) as { eventType: string }[];
    expect(events).toHaveLength(22);
    expect(events[1]?.eventType).toBe('START');
    const card = mlops('model-card', 'flight-delay-v1', '--out', join(dir, 'card.md'));
    expect(card.status, card.stderr).toBe(0);
    expect(readFileSync(join(dir, 'card.md'), 'utf8')).toContain('# Model card: flight-delay-v1');
  });

  it('fails with a clear message when no table is given', () => {
    const run = spawnSync(
      join(root, 'node_modules', '.bin', 'tsx'),
      ['infra/cli/main.ts', 'audit', 'verify'],
      {
        cwd: root,
        encoding: 'utf8',
        // No table, and no running local cloud to fall back on.
        env: { ...process.env, ...env, MLOPS_LEDGER_TABLE: '', MLOPS_LOCAL_STATE: '/nonexistent/cloud.json' },
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr.trim()).toBe(
      'mlops audit verify: --table: no ledger table: pass --table <name>, set MLOPS_LEDGER_TABLE, or start the local cloud',
    );
  });

  it.each([
    {
      what: 'a range over the 366-day limit',
      args: ['events', '--from', '2026-01-01T00:00:00Z', '--to', '2027-12-31T00:00:00Z'],
      line: /^mlops audit events: --to: must be within 366 calendar days of from \(the range covers 730\)/,
    },
    {
      what: 'to before from',
      args: ['events', '--from', '2026-02-01T00:00:00Z', '--to', '2026-01-01T00:00:00Z'],
      line: /^mlops audit events: --to: must not be before from/,
    },
    {
      what: 'a time that is not ISO-8601',
      args: ['events', '--from', 'yesterday', '--to', '2026-01-01T00:00:00Z'],
      line: /^mlops audit events: --from: /,
    },
    {
      what: 'an unknown export format',
      args: ['export', '--format', 'csv', '--from', '2026-01-01T00:00:00Z', '--to', '2026-01-02T00:00:00Z'],
      line: /^mlops audit export: --format: must be openlineage, got "csv"$/,
    },
    { what: 'a missing required option', args: ['served-at', ENDPOINT], line: /--at <time>/ },
    { what: 'an unknown option', args: ['verify', '--no-such-flag'], line: /--no-such-flag/ },
  ])('prints one line naming the option, no stack trace, and exits 2 for $what', ({ args, line }) => {
    const run = mlops(...args);
    expect(run.status, run.stderr).toBe(2);
    const lines = run.stderr.trim().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('GET /audit handler', () => {
  type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
  let handler: Handler;
  const context = {
    awsRequestId: 'req-1',
    functionName: 'audit',
    getRemainingTimeInMillis: () => 10_000,
  } as Context;
  const get = (resource: string, query: Record<string, string> | null) =>
    handler(
      { httpMethod: 'GET', resource, path: resource, queryStringParameters: query } as APIGatewayProxyEvent,
      context,
    );

  beforeAll(async () => {
    Object.assign(process.env, env, {
      LEDGER_TABLE: TABLE,
      LEDGER_SIGNING_KEY: db.signingKeyArn,
      AUDIT_ARCHIVE_BUCKET: 'unused-in-these-tests',
      POWERTOOLS_METRICS_NAMESPACE: 'MlopsTest',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
    });
    ({ handler } = (await import('../../../functions/audit/api.ts')) as unknown as { handler: Handler });
  });

  it('answers provenance with 200 and JSON', async () => {
    const res = await get('/audit/provenance', { modelVersion: 'flight-delay-v1' });
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ modelVersion: 'flight-delay-v1', run: { runId: 'run-1' } });
    expect(res.headers?.['cache-control']).toBe('no-store');
  });

  it('answers verify without the archive', async () => {
    const res = await get('/audit/verify', { archive: 'false' });
    expect(JSON.parse(res.body)).toMatchObject({ ok: true, eventsChecked: 22 });
  });

  it('maps an unknown model version to 404', async () => {
    const res = await get('/audit/provenance', { modelVersion: 'nope' });
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toEqual({
      message: 'model version nope is not registered in the ledger',
      requestId: 'req-1',
    });
  });

  it('maps a bad parameter to 400 naming the field', async () => {
    const res = await get('/audit/served-at', { endpointName: ENDPOINT, at: 'yesterday' });
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body).problems).toEqual([
      expect.objectContaining({ field: 'at', got: '"yesterday"' }),
    ]);
  });

  it('refuses a cursor it did not issue with 400', async () => {
    const forged = Buffer.from('{"d":"2025-03-01","k":{"day":"2025-03-01","pk":"x"}}').toString('base64url');
    const res = await get('/audit/events', { from: t(0), to: t(1), cursor: forged });
    expect(res.statusCode).toBe(400);
  });

  it('maps a corrupt stored ledger item to 500 without naming its keys', async () => {
    // Fault injection: the index answers an event item whose body is not JSON.
    const ddb = mockClient(DynamoDBDocumentClient);
    ddb.onAnyCommand().resolves({
      Items: [{ pk: 'CHAIN#main', sk: 'EVENT#000000000003', seq: 3, prevHash: 'a', hash: 'b', event: '{' }],
    });
    try {
      const res = await get('/audit/incidents', { modelVersion: 'flight-delay-v1' });
      expect(res.statusCode).toBe(500);
      expect(JSON.parse(res.body)).toEqual({ message: 'Internal server error', requestId: 'req-1' });
    } finally {
      ddb.restore();
    }
  });

  it('maps ledger contention to 503 (safe to retry) and ledger corruption to 500', async () => {
    const { httpHandler, statusOf } = await import('../../../functions/shared/http.ts');
    const contention = new LedgerContentionError('could not append e-1 to chain main after 40 attempts');
    expect(contention).toBeInstanceOf(ServiceUnavailableError);
    expect(statusOf(contention)).toBe(503);
    expect(statusOf(new LedgerIntegrityError('CHAIN#main/EVENT#000000000003: bad pk'))).toBe(500);
    const busy = httpHandler(async () => {
      throw contention;
    });
    const res = await busy(
      { httpMethod: 'POST', resource: '/x', path: '/x' } as APIGatewayProxyEvent,
      context,
    );
    expect(res.statusCode).toBe(503);
    expect(JSON.parse(res.body)).toEqual({ message: 'Service busy, retry later', requestId: 'req-1' });
  });

  it('maps an unexpected failure to 500 with nothing internal in the body', async () => {
    // Fault injection: DynamoDB fails with a message that must not reach the caller.
    const ddb = mockClient(DynamoDBDocumentClient);
    ddb.onAnyCommand().rejects(new Error('connect ECONNREFUSED 10.0.0.7:443 table ledger-interfaces'));
    try {
      const res = await get('/audit/incidents', { modelVersion: 'flight-delay-v1' });
      expect(res.statusCode).toBe(500);
      expect(JSON.parse(res.body)).toEqual({ message: 'Internal server error', requestId: 'req-1' });
    } finally {
      ddb.restore();
    }
  });
});
