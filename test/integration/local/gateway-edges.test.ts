/**
 * The local API Gateway at its edges, on the product's own app: malformed percent-escapes in the
 * path, query parameters and headers named like Object.prototype members, and SigV4 over the body
 * that arrived. The fuzz-style cases run over every route of the synthesized template; an echo
 * function shows what reaches a handler in both payload formats.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthApp } from '../../../infra/cli/local.ts';
import { type ApiGateway, startApiGateway } from '../../../infra/local/apigateway.ts';
import { type LocalCloud, startLocalCloud } from '../../../infra/local/cloud.ts';
import { LambdaRuntime } from '../../../infra/local/lambda/index.ts';
import type { LocalFunction, LocalRoute } from '../../../infra/local/model.ts';
import { signedRequest } from '../../../infra/local/sigv4.ts';

const BAD_ESCAPES = ['%ZZ', '%', '%FF', '%ED%A0%80'] as const;
const PROTOTYPE_QUERY = '__proto__=1&constructor=1&toString=x';
/** Built from entries: in an object literal, `__proto__` would set the prototype instead of a key. */
const PROTOTYPE_HEADERS: Readonly<Record<string, string>> = Object.fromEntries([
  ['__proto__', 'p'],
  ['constructor', 'c'],
  ['hasOwnProperty', 'h'],
]);
const REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SIGNATURE_MISMATCH = /^The request signature we calculated does not match/;

let cloud: LocalCloud;
/** The same routes and functions, with the documented IAM bypass: unsigned requests reach the handlers. */
let bypass: ApiGateway;

const stageUrl = (endpoint: string, stage: string, path: string) =>
  `${endpoint}${stage === '$default' ? '' : `/${stage}`}${path}`;

/** The route's path with every `{param}` and `{proxy+}` replaced by `value`, or `value` appended. */
function fill(route: LocalRoute, value: string): string {
  return route.path.replace(/\{[^}]+\}/g, value);
}

/**
 * `fetch` over node:http with the headers as sent: fetch (undici) silently drops a header named
 * `__proto__`, which curl or any raw client sends.
 */
async function rawFetch(url: string, init: RequestInit): Promise<Response> {
  let pairs: [string, string][] = Array.isArray(init.headers)
    ? (init.headers as [string, string][])
    : Object.entries((init.headers ?? {}) as Record<string, string>);
  // With headers as a list, node:http adds no Host of its own.
  if (!pairs.some(([n]) => n.toLowerCase() === 'host')) pairs = [['host', new URL(url).host], ...pairs];
  return new Promise((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: pairs.flat() }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          headers.append(res.rawHeaders[i] ?? '', res.rawHeaders[i + 1] ?? '');
        }
        resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers }));
      });
    });
    req.on('error', reject);
    req.end(typeof init.body === 'string' ? init.body : undefined);
  });
}

const methodOf = (route: LocalRoute) => (route.method === 'ANY' ? 'GET' : route.method);
const bodyOf = (method: string) => (method === 'GET' || method === 'HEAD' ? undefined : '{}');

interface Outcome {
  readonly request: string;
  readonly status: number;
  readonly requestId: string | null;
  readonly errorType: string | null;
  readonly body: unknown;
}

async function send(url: string, method: string, signed: boolean): Promise<Outcome> {
  const body = bodyOf(method);
  const req = signed
    ? await signedRequest(url, method, body, { headers: PROTOTYPE_HEADERS })
    : { url, init: { method, body, headers: PROTOTYPE_HEADERS } };
  const res = await rawFetch(req.url, req.init);
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { notJson: text };
  }
  return {
    request: `${signed ? 'signed' : 'unsigned'} ${method} ${url.replace(/^http:\/\/[^/]+/, '')}`,
    status: res.status,
    requestId: res.headers.get('x-amzn-requestid'),
    errorType: res.headers.get('x-amzn-errortype'),
    body: parsed,
  };
}

const isJsonObject = (body: unknown) =>
  typeof body === 'object' && body !== null && !('notJson' in (body as object));

beforeAll(async () => {
  const { outdir } = synthApp('dev', mkdtempSync(join(tmpdir(), 'mlops-edges-')));
  cloud = await startLocalCloud({ cdkOut: outdir, log: () => {} });
  bypass = await startApiGateway({ assembly: cloud.assembly, runtime: cloud.lambda, iamBypass: true });
});

afterAll(async () => {
  await bypass?.stop();
  await cloud?.stop();
});

describe('malformed percent-escapes in the path', () => {
  it('answers 400 Bad Request with a request ID on every route, signed or not, before routing', async () => {
    // Prepare
    const routes = cloud.assembly.routes;
    expect(routes.length).toBeGreaterThan(0);
    const outcomes: Outcome[] = [];
    // Act
    for (const route of routes) {
      for (const badEscape of BAD_ESCAPES) {
        // A route with no parameter gets the escape as an extra segment.
        const path = route.path.includes('{') ? fill(route, badEscape) : `${route.path}/${badEscape}`;
        const url = `${stageUrl(cloud.apiEndpoint, route.stageName, path)}?${PROTOTYPE_QUERY}`;
        for (const signed of [true, false]) outcomes.push(await send(url, methodOf(route), signed));
      }
    }
    // Assess
    const wrong = outcomes.filter(
      (o) =>
        o.status !== 400 ||
        !REQUEST_ID.test(o.requestId ?? '') ||
        o.errorType !== 'BadRequestException' ||
        JSON.stringify(o.body) !== '{"message":"Bad Request"}',
    );
    expect(wrong).toEqual([]);
  });
});

describe('query parameters and headers named like Object.prototype members', () => {
  it('reach the handler on every route when signed, and it answers (no gateway error, no 5xx)', async () => {
    const outcomes: Outcome[] = [];
    for (const route of cloud.assembly.routes) {
      const url = `${stageUrl(cloud.apiEndpoint, route.stageName, fill(route, 'X'))}?${PROTOTYPE_QUERY}`;
      outcomes.push(await send(url, methodOf(route), true));
    }
    const wrong = outcomes.filter(
      (o) => o.status >= 500 || !isJsonObject(o.body) || !REQUEST_ID.test(o.requestId ?? '') || o.errorType,
    );
    expect(wrong).toEqual([]);
  });

  it('reach the handler on every route unsigned through the IAM bypass', async () => {
    const outcomes: Outcome[] = [];
    for (const route of cloud.assembly.routes) {
      const url = `${bypass.url(route.stageName, fill(route, 'X'))}?${PROTOTYPE_QUERY}`;
      outcomes.push(await send(url, methodOf(route), false));
    }
    const wrong = outcomes.filter(
      (o) => o.status >= 500 || !isJsonObject(o.body) || !REQUEST_ID.test(o.requestId ?? '') || o.errorType,
    );
    expect(wrong).toEqual([]);
  });

  it('get Missing Authentication Token, not a crash, unsigned on the IAM routes', async () => {
    const outcomes: Outcome[] = [];
    for (const route of cloud.assembly.routes.filter((r) => r.authorization === 'AWS_IAM')) {
      const url = `${stageUrl(cloud.apiEndpoint, route.stageName, fill(route, 'X'))}?${PROTOTYPE_QUERY}`;
      outcomes.push(await send(url, methodOf(route), false));
    }
    const wrong = outcomes.filter(
      (o) =>
        o.status !== 403 ||
        !REQUEST_ID.test(o.requestId ?? '') ||
        JSON.stringify(o.body) !== '{"message":"Missing Authentication Token"}',
    );
    expect(wrong).toEqual([]);
  });
});

describe('SigV4 over the body received', () => {
  const featureUrl = () => `${cloud.apiEndpoint}/v1/features/airport-delays/EDGE`;
  const body = (delayRate2h: number) =>
    JSON.stringify({ eventTime: new Date().toISOString(), values: { delayRate2h, flights2h: 10 } });

  it('refuses a PUT whose body is not the one signed, even with the signed x-amz-content-sha256', async () => {
    // Prepare
    const req = await signedRequest(featureUrl(), 'PUT', body(0.1));
    // Act
    const res = await fetch(req.url, { ...req.init, body: body(0.9) });
    // Assess
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-requestid')).toMatch(REQUEST_ID);
    expect(res.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException');
    expect(((await res.json()) as { message: string }).message).toMatch(SIGNATURE_MISMATCH);
  });

  it('refuses a body that does not match x-amz-content-sha256 even when the header is not signed', async () => {
    // Prepare: signed without the header, which is then added by the client
    const signedBody = body(0.2);
    const req = await signedRequest(featureUrl(), 'PUT', signedBody, { payloadHashHeader: false });
    const headers = new Headers(req.init.headers);
    headers.set('x-amz-content-sha256', 'UNSIGNED-PAYLOAD');
    // Act
    const res = await fetch(req.url, { ...req.init, headers });
    // Assess
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toMatch(SIGNATURE_MISMATCH);
  });

  it('refuses a changed body from a client that sends no x-amz-content-sha256', async () => {
    const req = await signedRequest(featureUrl(), 'PUT', body(0.3), { payloadHashHeader: false });
    const res = await fetch(req.url, { ...req.init, body: body(0.7) });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toMatch(SIGNATURE_MISMATCH);
  });

  it('lets the body that was signed through to the handler, with or without the header', async () => {
    for (const payloadHashHeader of [true, false]) {
      const req = await signedRequest(featureUrl(), 'PUT', body(0.4), { payloadHashHeader });
      const res = await rawFetch(req.url, req.init);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ entityId: 'EDGE' });
    }
  });
});

describe('what reaches a handler', () => {
  let echoRuntime: LambdaRuntime;
  let echo: ApiGateway;

  /** Answers with the event it received, and response headers named like prototype members. */
  const ECHO_SOURCE = `
const named = JSON.parse('{"x-echo":"1","__proto__":"p","constructor":"c","hasOwnProperty":"h"}');
export const handler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', ...named },
  multiValueHeaders: JSON.parse('{"__proto__":["m1","m2"]}'),
  body: JSON.stringify(event),
});
`;

  beforeAll(async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'edge-echo-')), 'code');
    mkdirSync(dir);
    writeFileSync(join(dir, 'index.mjs'), ECHO_SOURCE);
    const { region, account } = cloud.assembly.placement;
    const fn: LocalFunction = {
      stack: 'Edges',
      logicalId: 'Echo',
      name: 'edges-echo',
      arn: `arn:aws:lambda:${region}:${account}:function:edges-echo`,
      codeDir: dir,
      handler: 'index.handler',
      runtime: 'nodejs22.x',
      timeoutSeconds: 10,
      memoryMb: 128,
      environment: {},
    };
    echoRuntime = new LambdaRuntime({
      functions: [fn],
      endpoints: cloud.endpoints,
      placement: cloud.assembly.placement,
      log: () => {},
    });
    const route = {
      stack: 'Edges',
      apiLogicalId: 'EchoApi',
      method: 'ANY',
      path: '/echo/{proxy+}',
      authorization: 'AWS_IAM',
      functionArn: fn.arn,
    } as const;
    echo = await startApiGateway({
      assembly: {
        ...cloud.assembly,
        routes: [
          { ...route, apiKind: 'rest', stageName: 'v1' },
          { ...route, apiKind: 'http', stageName: '$default' },
        ],
      },
      runtime: echoRuntime,
      iamBypass: false,
    });
  });

  afterAll(async () => {
    await echo?.stop();
    await echoRuntime?.stop();
  });

  const entries = (map: unknown) => Object.entries(map as object).sort(([a], [b]) => a.localeCompare(b));
  const query = `${PROTOTYPE_QUERY}&constructor=2`;

  it('passes prototype-named query parameters and headers as data in payload 1.0 (REST)', async () => {
    // Prepare
    const req = await signedRequest(
      `${echo.url('v1', '/echo/__proto__/constructor')}?${query}`,
      'GET',
      undefined,
      {
        headers: PROTOTYPE_HEADERS,
      },
    );
    // Act
    const res = await rawFetch(req.url, req.init);
    // Assess
    expect(res.status).toBe(200);
    const event = (await res.json()) as Record<string, unknown>;
    expect(entries(event.queryStringParameters)).toEqual([
      ['__proto__', '1'],
      ['constructor', '2'],
      ['toString', 'x'],
    ]);
    expect(entries(event.multiValueQueryStringParameters)).toEqual([
      ['__proto__', ['1']],
      ['constructor', ['1', '2']],
      ['toString', ['x']],
    ]);
    const headers = event.headers as Record<string, unknown>;
    const multi = event.multiValueHeaders as Record<string, unknown>;
    for (const [name, value] of Object.entries(PROTOTYPE_HEADERS)) {
      expect(Object.hasOwn(headers, name) && headers[name]).toBe(value);
      expect(Object.hasOwn(multi, name) && multi[name]).toEqual([value]);
    }
    expect(entries(event.pathParameters)).toEqual([['proxy', '__proto__/constructor']]);
  });

  it('passes prototype-named query parameters and headers as data in payload 2.0 (HTTP API)', async () => {
    const req = await signedRequest(`${echo.url('$default', '/echo/x')}?${query}`, 'GET', undefined, {
      headers: PROTOTYPE_HEADERS,
    });
    const res = await rawFetch(req.url, req.init);
    expect(res.status).toBe(200);
    const event = (await res.json()) as Record<string, unknown>;
    expect(entries(event.queryStringParameters)).toEqual([
      ['__proto__', '1'],
      ['constructor', '1,2'],
      ['toString', 'x'],
    ]);
    // Payload 2.0 lower-cases header names, as API Gateway does.
    const headers = event.headers as Record<string, unknown>;
    for (const [name, value] of Object.entries(PROTOTYPE_HEADERS)) {
      expect(Object.hasOwn(headers, name.toLowerCase()) && headers[name.toLowerCase()]).toBe(value);
    }
  });

  it('sends response headers named like prototype members back to the client', async () => {
    for (const stage of ['v1', '$default']) {
      const req = await signedRequest(echo.url(stage, '/echo/x'), 'GET');
      const res = await rawFetch(req.url, req.init);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-echo')).toBe('1');
      expect(res.headers.get('constructor')).toBe('c');
      expect(res.headers.get('hasownproperty')).toBe('h');
      expect(res.headers.get('__proto__')).toBe('p');
    }
  });
});
