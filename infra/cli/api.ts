/**
 * `mlops api <method> <path> [--data <json>]`: one signed call to the stack's API, as an
 * application makes it: SigV4 for execute-api, with the local cloud's credentials and region for
 * the local cloud's own URL, else with the SDK's default credentials against `--api-url` (or
 * MLOPS_API_URL), in the region its host names.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Command } from 'commander';
import { signedRequest } from '../local/sigv4.ts';
import { resolveTarget, type Target } from '../ops/target.ts';
import { UsageError } from './errors.ts';

/** SHA-256 (HMAC when given a key) in the shape the SigV4 signer takes. */
export class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const toBuffer = (d: string | ArrayBuffer | ArrayBufferView): Buffer =>
  typeof d === 'string'
    ? Buffer.from(d, 'utf8')
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);

/** Where a call goes and whose credentials sign it. */
export type ApiEndpoint =
  | { readonly kind: 'local'; readonly baseUrl: string; readonly region: string }
  | { readonly kind: 'aws'; readonly baseUrl: string };

function parseUrl(url: string, option: string): URL {
  try {
    return new URL(url);
  } catch {
    throw new UsageError(option, `not a URL, got ${JSON.stringify(url)}`);
  }
}

/**
 * Picks the API and its signing: only the local cloud's own URL gets the local credentials (and
 * its region); any other `--api-url` goes to AWS, even while a local cloud runs. Without
 * `--api-url`, the local cloud when one runs, else MLOPS_API_URL (`target.apiUrl` of an AWS target).
 */
export function chooseApiEndpoint(
  apiUrl: string | undefined,
  target: Pick<Target, 'local' | 'apiUrl' | 'cloud'>,
): ApiEndpoint {
  const local =
    target.local && target.apiUrl && target.cloud
      ? { kind: 'local' as const, baseUrl: target.apiUrl, region: target.cloud.region }
      : undefined;
  if (apiUrl !== undefined) {
    const given = parseUrl(apiUrl, '--api-url');
    if (local && given.origin === new URL(local.baseUrl).origin) return { ...local, baseUrl: apiUrl };
    return { kind: 'aws', baseUrl: apiUrl };
  }
  if (local) return local;
  if (target.apiUrl) {
    parseUrl(target.apiUrl, '--api-url (from MLOPS_API_URL)');
    return { kind: 'aws', baseUrl: target.apiUrl };
  }
  throw new UsageError(
    '--api-url',
    'no API: start the local cloud (npm start), or pass --api-url or MLOPS_API_URL',
  );
}

// `<api-id>.execute-api[-fips].<region>.amazonaws.com[.cn]`, and the private API form
// `<api-id>-<vpce-id>.execute-api.<region>.vpce.amazonaws.com`.
const EXECUTE_API_HOST =
  /\.execute-api(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/** The region an execute-api host names, or undefined for another host (a custom domain). */
export function regionOfApiHost(hostname: string): string | undefined {
  return EXECUTE_API_HOST.exec(hostname.toLowerCase())?.[1];
}

/**
 * The region to sign an AWS call for: `--region`, else the one the API's host names; undefined
 * means neither says, and the SDK's configured region applies.
 */
export function signingRegionFor(hostname: string, regionFlag: string | undefined): string | undefined {
  if (regionFlag !== undefined) {
    if (!REGION.test(regionFlag))
      throw new UsageError('--region', `not an AWS region, got ${JSON.stringify(regionFlag)}`);
    return regionFlag;
  }
  return regionOfApiHost(hostname);
}

/** A query as SigV4 signs it: each name once, with every value it was given, in order. */
export type SignableQuery = Record<string, string | string[]>;

function decodeQueryPart(part: string, search: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UsageError(
      '<path>',
      `the query ${JSON.stringify(search)} has a bad %-escape in ${JSON.stringify(part)}`,
    );
  }
}

/**
 * Parses a raw query string (`?a=1&a=2&b=x+y`) as @smithy/querystring-parser does: repeated names
 * keep every value, and `+` is a plus, not a space (execute-api signs the decoded value of `%2B`
 * and `+` alike as `%2B`; a form decoder would sign a space). A name without `=` has the value ''.
 */
export function parseRawQuery(search: string): SignableQuery {
  const raw = search.replace(/^\?/, '');
  // A Map, then fromEntries: names like `__proto__` stay own keys.
  const values = new Map<string, string[]>();
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeQueryPart(eq < 0 ? pair : pair.slice(0, eq), raw);
    const value = eq < 0 ? '' : decodeQueryPart(pair.slice(eq + 1), raw);
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  return Object.fromEntries(
    [...values].map(([name, list]) => [name, list.length === 1 ? (list[0] as string) : list]),
  );
}

// SigV4's URI encoding: RFC 3986 unreserved characters stay, everything else is %XX.
const escapeUri = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** `query` as it goes on the wire, encoded as SigV4 encodes it, so what is sent is what is signed. */
export function serializeQuery(query: SignableQuery): string {
  return Object.entries(query)
    .flatMap(([name, value]) =>
      (Array.isArray(value) ? value : [value]).map((v) => `${escapeUri(name)}=${escapeUri(v)}`),
    )
    .join('&');
}

/** The request SigV4 signs, in the signer's shape. */
export interface ApiRequest {
  readonly method: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  readonly query: SignableQuery;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

/** The request to sign for `method url` with `body`, and the URL that sends exactly its query. */
export function buildApiRequest(
  method: string,
  url: string,
  body: string | undefined,
): { readonly url: string; readonly request: ApiRequest } {
  const u = parseUrl(url, '<path>');
  const query = parseRawQuery(u.search);
  const search = serializeQuery(query);
  return {
    url: `${u.origin}${u.pathname}${search ? `?${search}` : ''}`,
    request: {
      method,
      protocol: u.protocol,
      hostname: u.hostname,
      ...(u.port ? { port: Number(u.port) } : {}),
      path: u.pathname,
      query,
      headers: { host: u.host, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {}),
    },
  };
}

/** How an AWS call is signed. */
export interface AwsSigning {
  readonly credentials: ConstructorParameters<typeof SignatureV4>[0]['credentials'];
  readonly region: string;
  /** @default - now */
  readonly signingDate?: Date;
}

/** The headers of `request` signed with SigV4 for execute-api. */
export async function signApiRequest(
  request: ApiRequest,
  signing: AwsSigning,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    credentials: signing.credentials,
    region: signing.region,
    service: 'execute-api',
    sha256: NodeSha256,
  });
  // The signer signs a copy (prepareRequest clones), so `request` stays as built.
  const signed = await signer.sign(request, signing.signingDate ? { signingDate: signing.signingDate } : {});
  return signed.headers;
}

/** Signs `request` with the SDK's default credential chain, in `region` or else the SDK's. */
async function awsInit(request: ApiRequest, region: string | undefined): Promise<RequestInit> {
  // Any client resolves the default chain; its config is what the SDK would sign with.
  const client = new SFNClient(region ? { region } : {});
  try {
    let signingRegion: string;
    try {
      signingRegion = await client.config.region();
    } catch {
      throw new UsageError(
        '--region',
        `the API's host ${request.hostname} names no region and the SDK has none: pass --region or set AWS_REGION`,
      );
    }
    const headers = await signApiRequest(request, {
      credentials: client.config.credentials,
      region: signingRegion,
    });
    return { method: request.method, headers, ...(request.body ? { body: request.body } : {}) };
  } finally {
    client.destroy();
  }
}

/** Adds `api` to the CLI. */
export function registerApiCommand(program: Command): void {
  program
    .command('api <method> <path>')
    .description(
      'Call the API signed with SigV4, e.g. `mlops api GET /audit/verify` (prints the JSON answer)',
    )
    .option('-d, --data <json>', 'the JSON body')
    .option(
      '--api-url <url>',
      'base URL of the API stage, signed for AWS unless it is the local cloud’s (default: the local cloud, else MLOPS_API_URL)',
    )
    .option(
      '--region <region>',
      'region to sign for on AWS (default: the one in the API’s host, else the SDK’s)',
    )
    .action(async (method: string, path: string, o: { data?: string; apiUrl?: string; region?: string }) => {
      const target = resolveTarget();
      target.sfn.destroy();
      const endpoint = chooseApiEndpoint(o.apiUrl, target);
      let body: string | undefined;
      if (o.data !== undefined) {
        try {
          body = JSON.stringify(JSON.parse(o.data));
        } catch (error) {
          throw new UsageError('--data', `not JSON (${(error as Error).message})`);
        }
      }
      const verb = method.toUpperCase();
      const call = buildApiRequest(
        verb,
        `${endpoint.baseUrl.replace(/\/$/, '')}${path.startsWith('/') ? path : `/${path}`}`,
        body,
      );
      const init =
        endpoint.kind === 'local'
          ? (await signedRequest(call.url, verb, body, { region: endpoint.region })).init
          : await awsInit(call.request, signingRegionFor(call.request.hostname, o.region));
      const res = await fetch(call.url, init);
      const text = await res.text();
      let shown = text;
      try {
        shown = JSON.stringify(JSON.parse(text), null, 2);
      } catch {
        // Not JSON: print it as it came.
      }
      console.log(shown);
      if (!res.ok) {
        console.error(`${verb} ${path} → ${res.status}`);
        process.exitCode = 1;
      }
    });
}
