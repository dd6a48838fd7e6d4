/**
 * API Gateway for the local cloud: serves the assembly's REST API routes (Lambda proxy, payload
 * 1.0) at `http://127.0.0.1:<port>/<stage>/<path>`, as execute-api URLs do, and HTTP API routes
 * (payload 2.0) at `/<path>` for the `$default` stage. AWS_IAM routes verify SigV4 signatures made
 * with the local credentials.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { LOCAL_ACCOUNT, LOCAL_CREDENTIALS } from './engines/credentials.ts';
import { listenLocal, readBody } from './http.ts';
import type { LambdaRuntime } from './lambda/index.ts';
import type { LocalAssembly, LocalRoute } from './model.ts';
import { sigV4Signature } from './sigv4.ts';

/** API Gateway's own integration timeout: a slower function gets a 504. */
const INTEGRATION_TIMEOUT_MS = 29_000;
/** SigV4 signatures older (or newer) than this are refused, as AWS does. */
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** The IAM identity that the local credentials stand for. */
export const LOCAL_USER_ARN = `arn:aws:iam::${LOCAL_ACCOUNT}:user/local`;

export interface ApiGatewayOptions {
  readonly assembly: LocalAssembly;
  /** Runs the integrated functions. */
  readonly runtime: LambdaRuntime;
  /**
   * Port on 127.0.0.1.
   * @default - a free port
   */
  readonly port?: number;
  /**
   * Accept AWS_IAM (and JWT, Cognito, custom authorizer) routes without verifying a signature;
   * requests then run as the local user.
   * @default - true only when the environment sets MLOPS_LOCAL_IAM_BYPASS=1
   */
  readonly iamBypass?: boolean;
  /**
   * JSON documents served as they are at `GET <path>` (for example `/openapi.json`), unsigned,
   * before any route is matched.
   * @default - none
   */
  readonly documents?: Readonly<Record<string, () => unknown | Promise<unknown>>>;
}

/** A running local API Gateway. */
export interface ApiGateway {
  readonly endpoint: string;
  /** URL of `path` on a stage: `<endpoint>/<stage><path>`, or `<endpoint><path>` for `$default`. */
  url(stageName: string, path: string): string;
  stop(): Promise<void>;
}

interface Identity {
  readonly accessKey: string | null;
  readonly userArn: string | null;
}

type Verdict =
  | { readonly ok: true; readonly identity: Identity }
  | { readonly ok: false; readonly status: number; readonly type: string; readonly message: string };

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/**
 * A request header as the client sent it (repeats joined by commas). Read from `rawHeaders`: Node's
 * `req.headers` is a plain object, where a header named `__proto__` is lost.
 */
function headerValue(req: IncomingMessage, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]?.toLowerCase() === wanted) values.push(req.rawHeaders[i + 1] ?? '');
  }
  return values.length === 0 ? undefined : values.join(',');
}

/** Verifies a SigV4 Authorization header by computing the signature again with the local credentials. */
async function verifySignature(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  region: string,
): Promise<Verdict> {
  const authorization = headerValue(req, 'authorization');
  if (authorization === undefined) {
    return {
      ok: false,
      status: 403,
      type: 'MissingAuthenticationTokenException',
      message: 'Missing Authentication Token',
    };
  }
  const parts =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  const amzDate = headerValue(req, 'x-amz-date');
  if (parts === null || amzDate === undefined) {
    return {
      ok: false,
      status: 403,
      type: 'IncompleteSignatureException',
      message: `Authorization header requires 'Credential', 'Signature', 'SignedHeaders' and 'X-Amz-Date' (got '${authorization.slice(0, 40)}...')`,
    };
  }
  const [, accessKey = '', , scopeRegion, service, signedHeaders = '', signature] = parts;
  if (accessKey !== LOCAL_CREDENTIALS.accessKeyId) {
    return {
      ok: false,
      status: 403,
      type: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  }
  if (service !== 'execute-api') {
    return {
      ok: false,
      status: 403,
      type: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'execute-api'.",
    };
  }
  if (scopeRegion !== region) {
    return {
      ok: false,
      status: 403,
      type: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region, not '${scopeRegion}'.`,
    };
  }
  const d = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  const signingDate = d ? new Date(`${d[1]}-${d[2]}-${d[3]}T${d[4]}:${d[5]}:${d[6]}Z`) : new Date(Number.NaN);
  if (
    Number.isNaN(signingDate.getTime()) ||
    Math.abs(Date.now() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS
  ) {
    return {
      ok: false,
      status: 403,
      type: 'InvalidSignatureException',
      message: `Signature expired: ${amzDate} is now earlier or later than the allowed 15 minutes.`,
    };
  }
  // Hash the body that arrived: a client's x-amz-content-sha256 is only a claim, and a signer
  // that took it as the payload hash would pass a signature over one body for another.
  const payloadHash = createHash('sha256').update(body).digest('hex');
  const claimedHash = headerValue(req, 'x-amz-content-sha256');
  if (claimedHash !== undefined && claimedHash !== payloadHash) {
    return { ok: false, status: 403, type: 'InvalidSignatureException', message: SIGNATURE_MISMATCH };
  }
  const expected = sigV4Signature({
    method: req.method ?? 'GET',
    // The path exactly as sent: the client signed its encoded form.
    path: (req.url ?? '/').split('?')[0] ?? '/',
    query: url.searchParams,
    headers: signedHeaders.split(';').map((name) => [name, headerValue(req, name) ?? ''] as const),
    payloadHash,
    amzDate,
    scope: `${parts[2]}/${scopeRegion}/${service}/aws4_request`,
    secretAccessKey: LOCAL_CREDENTIALS.secretAccessKey,
  });
  if (expected !== signature) {
    return { ok: false, status: 403, type: 'InvalidSignatureException', message: SIGNATURE_MISMATCH };
  }
  return { ok: true, identity: { accessKey, userArn: LOCAL_USER_ARN } };
}

interface Match {
  readonly route: LocalRoute;
  readonly pathParameters: Record<string, string>;
  /** Path below the stage. */
  readonly path: string;
}

/**
 * Matches `/items/{id}` or `/files/{proxy+}` against a path; returns the parameters or undefined.
 * Maps keyed by client input (parameters, headers, query) have no prototype, so a name such as
 * `__proto__` or `constructor` is an ordinary key.
 */
function matchPath(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/').filter(Boolean);
  const got = path.split('/').filter(Boolean);
  const params: Record<string, string> = Object.create(null);
  for (let i = 0; i < want.length; i++) {
    const part = want[i] ?? '';
    const greedy = /^\{(.+)\+\}$/.exec(part);
    if (greedy?.[1]) {
      if (i >= got.length) return undefined;
      params[greedy[1]] = got.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    const value = got[i];
    if (value === undefined) return undefined;
    const param = /^\{(.+)\}$/.exec(part);
    if (param?.[1]) params[param[1]] = decodeURIComponent(value);
    else if (part !== value) return undefined;
  }
  return want.length === got.length ? params : undefined;
}

/** Literal segments beat `{param}`, which beats `{proxy+}`, segment by segment, as API Gateway routes. */
function specificity(template: string): number[] {
  return template
    .split('/')
    .filter(Boolean)
    .map((p) => (p.endsWith('+}') ? 0 : p.startsWith('{') ? 1 : 2));
}

/** Whether every segment of `pathname` percent-decodes to well-formed text. */
function decodablePath(pathname: string): boolean {
  try {
    for (const segment of pathname.split('/')) decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

function moreSpecific(a: string, b: string): number {
  const [x, y] = [specificity(a), specificity(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** The route for a request, or why none: API Gateway answers 403 (REST) or 404 (HTTP API). */
function findRoute(routes: readonly LocalRoute[], method: string, pathname: string): Match | 'none' {
  const segments = pathname.split('/');
  // `/restapis/<apiId>/<stage>/_user_request_/<path>` picks one API when several share a stage name.
  const explicit = /^\/restapis\/([^/]+)\/([^/]+)\/_user_request_(\/.*)?$/.exec(pathname);
  const candidates: { route: LocalRoute; path: string }[] = [];
  for (const route of routes) {
    if (explicit) {
      if (route.apiId === explicit[1] && route.stageName === explicit[2]) {
        candidates.push({ route, path: explicit[3] ?? '/' });
      }
    } else if (route.stageName === '$default') {
      candidates.push({ route, path: pathname });
    } else if (segments[1] === route.stageName) {
      candidates.push({ route, path: `/${segments.slice(2).join('/')}` });
    }
  }
  const matching = candidates
    .map((c) => ({ ...c, params: matchPath(c.route.path, c.path) }))
    .filter((c) => c.params !== undefined);
  if (matching.length === 0) return 'none';
  // The most specific resource wins; its methods decide, with no fallback to a looser resource.
  matching.sort((a, b) => moreSpecific(b.route.path, a.route.path));
  const best = matching[0]?.route.path;
  const onBest = matching.filter((m) => m.route.path === best);
  const chosen =
    onBest.find((m) => m.route.method === method) ?? onBest.find((m) => m.route.method === 'ANY');
  if (chosen === undefined) return 'none';
  return { route: chosen.route, pathParameters: chosen.params ?? {}, path: chosen.path };
}

function isBinary(route: LocalRoute, contentType: string | undefined): boolean {
  const types = route.binaryMediaTypes ?? [];
  if (types.length === 0) return false;
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return types.some((t) => {
    const want = t.toLowerCase();
    if (want === '*/*') return true;
    return want.endsWith('/*') ? type.startsWith(want.slice(0, -1)) : type === want;
  });
}

function requestTime(now: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(now.getUTCDate())}/${months[now.getUTCMonth()]}/${now.getUTCFullYear()}:${pad(now.getUTCHours())}:${pad(now.getUTCMinutes())}:${pad(now.getUTCSeconds())} +0000`;
}

interface RequestFacts {
  readonly req: IncomingMessage;
  readonly url: URL;
  readonly body: Buffer;
  readonly match: Match;
  readonly identity: Identity;
  readonly requestId: string;
  readonly accountId: string;
}

/** The Lambda proxy event, payload format 1.0 (REST APIs). */
function restEvent(f: RequestFacts): Record<string, unknown> {
  const headers: Record<string, string> = Object.create(null);
  const multiValueHeaders: Record<string, string[]> = Object.create(null);
  const raw = f.req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const [name = '', value = ''] = [raw[i], raw[i + 1]];
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query: Record<string, string> = Object.create(null);
  const multiQuery: Record<string, string[]> = Object.create(null);
  for (const [k, v] of f.url.searchParams) {
    query[k] = v;
    multiQuery[k] = [...(multiQuery[k] ?? []), v];
  }
  const hasQuery = Object.keys(query).length > 0;
  const binary = isBinary(f.match.route, headerValue(f.req, 'content-type'));
  const now = new Date();
  const route = f.match.route;
  return {
    resource: route.path,
    path: f.match.path,
    httpMethod: f.req.method,
    headers,
    multiValueHeaders,
    queryStringParameters: hasQuery ? query : null,
    multiValueQueryStringParameters: hasQuery ? multiQuery : null,
    pathParameters: Object.keys(f.match.pathParameters).length > 0 ? f.match.pathParameters : null,
    stageVariables: null,
    requestContext: {
      accountId: f.accountId,
      apiId: route.apiId ?? route.apiLogicalId,
      domainName: headerValue(f.req, 'host') ?? '127.0.0.1',
      domainPrefix: (headerValue(f.req, 'host') ?? '127').split('.')[0],
      extendedRequestId: f.requestId,
      httpMethod: f.req.method,
      identity: {
        accessKey: f.identity.accessKey,
        accountId: f.identity.userArn ? f.accountId : null,
        caller: f.identity.accessKey,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: f.req.socket.remoteAddress ?? '127.0.0.1',
        user: f.identity.accessKey,
        userAgent: headerValue(f.req, 'user-agent') ?? null,
        userArn: f.identity.userArn,
      },
      path: route.stageName === '$default' ? f.match.path : `/${route.stageName}${f.match.path}`,
      protocol: `HTTP/${f.req.httpVersion}`,
      requestId: f.requestId,
      requestTime: requestTime(now),
      requestTimeEpoch: now.getTime(),
      resourceId: route.apiId ?? route.apiLogicalId,
      resourcePath: route.path,
      stage: route.stageName,
    },
    body: f.body.length === 0 ? null : binary ? f.body.toString('base64') : f.body.toString('utf8'),
    isBase64Encoded: binary,
  };
}

/** The Lambda proxy event, payload format 2.0 (HTTP APIs). */
function httpEvent(f: RequestFacts): Record<string, unknown> {
  const headers: Record<string, string> = Object.create(null);
  const raw = f.req.rawHeaders;
  const cookies: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    const value = raw[i + 1] ?? '';
    if (name === 'cookie') cookies.push(...value.split(';').map((c) => c.trim()));
    else headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const query: Record<string, string> = Object.create(null);
  for (const [k, v] of f.url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const route = f.match.route;
  const now = new Date();
  const routeKey = route.routeKey ?? `${route.method} ${route.path}`;
  const event: Record<string, unknown> = {
    version: '2.0',
    routeKey,
    rawPath: f.url.pathname,
    rawQueryString: f.url.search.replace(/^\?/, ''),
    headers,
    requestContext: {
      accountId: f.accountId,
      apiId: route.apiId ?? route.apiLogicalId,
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: (headers.host ?? '127').split('.')[0],
      http: {
        method: f.req.method,
        path: f.url.pathname,
        protocol: `HTTP/${f.req.httpVersion}`,
        sourceIp: f.req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: f.requestId,
      routeKey,
      stage: route.stageName,
      time: requestTime(now),
      timeEpoch: now.getTime(),
      ...(f.identity.userArn
        ? {
            authorizer: {
              iam: {
                accessKey: f.identity.accessKey,
                accountId: f.accountId,
                callerId: f.identity.accessKey,
                userArn: f.identity.userArn,
                userId: f.identity.accessKey,
              },
            },
          }
        : {}),
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (Object.keys(query).length > 0) event.queryStringParameters = query;
  if (Object.keys(f.match.pathParameters).length > 0) event.pathParameters = f.match.pathParameters;
  if (f.body.length > 0) {
    // HTTP APIs base64-encode every body that is not text.
    const text = /^(text\/|application\/(json|xml|x-www-form-urlencoded|javascript))/i.test(
      headers['content-type'] ?? 'text/plain',
    );
    event.body = text ? f.body.toString('utf8') : f.body.toString('base64');
    event.isBase64Encoded = !text;
  }
  return event;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Maps a Lambda proxy result to the HTTP response; undefined when it is malformed (a 502 on AWS). */
export function proxyResponse(
  result: unknown,
  version: '1.0' | '2.0',
): { status: number; headers: Record<string, string | string[]>; body: Buffer } | undefined {
  if (version === '2.0' && !(isRecord(result) && 'statusCode' in result)) {
    // HTTP APIs accept any JSON as a 200 body.
    const body = typeof result === 'string' ? result : JSON.stringify(result);
    return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
  }
  if (!isRecord(result) || typeof result.statusCode !== 'number') return undefined;
  // REST APIs answer "Malformed Lambda proxy response" to a fractional status or a body that is not a string.
  if (version === '1.0') {
    if (!Number.isInteger(result.statusCode)) return undefined;
    if (result.body !== undefined && result.body !== null && typeof result.body !== 'string')
      return undefined;
  }
  const headers: Record<string, string | string[]> = Object.create(null);
  if (isRecord(result.multiValueHeaders)) {
    for (const [k, v] of Object.entries(result.multiValueHeaders)) {
      if (Array.isArray(v)) headers[k.toLowerCase()] = v.map(String);
    }
  }
  if (isRecord(result.headers)) {
    for (const [k, v] of Object.entries(result.headers)) headers[k.toLowerCase()] = String(v);
  }
  if (Array.isArray(result.cookies)) headers['set-cookie'] = result.cookies.map(String);
  headers['content-type'] ??= 'application/json';
  const text =
    typeof result.body === 'string'
      ? result.body
      : result.body === undefined
        ? ''
        : JSON.stringify(result.body);
  const body = result.isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text);
  return { status: result.statusCode, headers, body };
}

/** Serves the assembly's API routes on 127.0.0.1 through the local Lambda runtime. */
export async function startApiGateway(options: ApiGatewayOptions): Promise<ApiGateway> {
  const { assembly, runtime } = options;
  const bypass = options.iamBypass ?? process.env.MLOPS_LOCAL_IAM_BYPASS === '1';
  const region = assembly.placement.region;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const requestId = randomUUID();
    const ids = { 'x-amzn-requestid': requestId, 'x-amz-apigw-id': requestId.slice(0, 16) };
    const body = await readBody(req);
    if (!decodablePath(url.pathname)) {
      // API Gateway refuses a path it cannot percent-decode (`%ZZ`, `%`, `%FF`, an encoded lone
      // surrogate) before any route or authorizer runs.
      sendJson(
        res,
        400,
        { message: 'Bad Request' },
        {
          ...ids,
          'x-amzn-errortype': 'BadRequestException',
        },
      );
      return;
    }
    const document = options.documents?.[url.pathname];
    if (document && (req.method ?? 'GET').toUpperCase() === 'GET') {
      sendJson(res, 200, await document(), ids);
      return;
    }
    const match = findRoute(assembly.routes, (req.method ?? 'GET').toUpperCase(), url.pathname);
    if (match === 'none') {
      // A REST stage (or no HTTP API at the root) answers like REST APIs do: 403, not 404.
      const stage = url.pathname.split('/')[1];
      const restLike =
        assembly.routes.some((r) => r.apiKind === 'rest' && r.stageName === stage) ||
        !assembly.routes.some((r) => r.apiKind === 'http' && r.stageName === '$default');
      if (restLike) {
        sendJson(
          res,
          403,
          { message: 'Missing Authentication Token' },
          {
            ...ids,
            'x-amzn-errortype': 'MissingAuthenticationTokenException',
          },
        );
      } else {
        sendJson(res, 404, { message: 'Not Found' }, ids);
      }
      return;
    }
    let identity: Identity = { accessKey: null, userArn: null };
    const auth = match.route.authorization;
    if (auth !== 'NONE') {
      if (bypass) {
        identity = { accessKey: LOCAL_CREDENTIALS.accessKeyId, userArn: LOCAL_USER_ARN };
      } else if (auth === 'AWS_IAM') {
        const verdict = await verifySignature(req, url, body, region);
        if (!verdict.ok) {
          sendJson(
            res,
            verdict.status,
            { message: verdict.message },
            { ...ids, 'x-amzn-errortype': verdict.type },
          );
          return;
        }
        identity = verdict.identity;
      } else {
        // JWT, Cognito and Lambda authorizers are not emulated: only the bypass lets such routes through.
        sendJson(
          res,
          401,
          { message: 'Unauthorized' },
          { ...ids, 'x-amzn-errortype': 'UnauthorizedException' },
        );
        return;
      }
    }
    const facts: RequestFacts = {
      req,
      url,
      body,
      match,
      identity,
      requestId,
      accountId: assembly.placement.account,
    };
    const version = match.route.payloadFormatVersion ?? (match.route.apiKind === 'http' ? '2.0' : '1.0');
    const event = version === '2.0' ? httpEvent(facts) : restEvent(facts);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), INTEGRATION_TIMEOUT_MS);
    });
    const result = await Promise.race([runtime.invoke(match.route.functionArn, event), timedOut]).finally(
      () => clearTimeout(timer),
    );
    if (result === 'timeout') {
      sendJson(res, 504, { message: 'Endpoint request timed out' }, ids);
      return;
    }
    const response = result.functionError ? undefined : proxyResponse(result.payload, version);
    if (response === undefined) {
      sendJson(
        res,
        502,
        { message: 'Internal server error' },
        { ...ids, 'x-amzn-errortype': 'InternalServerErrorException' },
      );
      return;
    }
    res.writeHead(response.status, { ...ids, ...response.headers });
    res.end(response.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // A local failure (the runtime stopped, an unknown function) is what AWS shows as a 500.
      const requestId = randomUUID();
      if (!res.headersSent) {
        sendJson(
          res,
          500,
          { message: 'Internal server error' },
          { 'x-amzn-requestid': requestId, 'x-amz-apigw-id': requestId.slice(0, 16) },
        );
      } else res.destroy();
    });
  });
  const { endpoint, close } = await listenLocal(server, options.port);
  return {
    endpoint,
    url: (stageName, path) =>
      `${endpoint}${stageName === '$default' ? '' : `/${stageName}`}${path.startsWith('/') ? path : `/${path}`}`,
    stop: close,
  };
}
