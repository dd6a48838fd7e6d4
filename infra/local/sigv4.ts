/**
 * SigV4 for execute-api in the local cloud: the signature computation the API Gateway emulator
 * verifies with, and request signing for callers of IAM-authorized routes (tests, the CLI, the
 * benchmark, the demo). One implementation for both sides, over pairs rather than objects.
 */
import { createHash, createHmac } from 'node:crypto';
import { LOCAL_CREDENTIALS } from './engines/credentials.ts';

/** Credentials to sign with. */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** How `signedRequest` signs. */
export interface SignOptions {
  /** @default - the local credentials */
  readonly credentials?: SigningCredentials;
  /** @default 'us-east-1' */
  readonly region?: string;
  /**
   * More headers to sign and send; names may be anything a client can send, `__proto__` included.
   * @default - none
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Send `x-amz-content-sha256`, as the AWS SDKs do. Other execute-api clients leave it out, and the
   * gateway then hashes the body it received.
   * @default true
   */
  readonly payloadHashHeader?: boolean;
}

const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const hmac = (key: Buffer | string, text: string) => createHmac('sha256', key).update(text, 'utf8').digest();
// SigV4's URI encoding: RFC 3986 unreserved characters stay, everything else is %XX.
const escapeUri = (text: string) =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * The SigV4 signature (hex) of a request as execute-api computes it. Written out rather than
 * re-signed with a client signer: client signers keep headers and parameters in plain objects,
 * where names like `__proto__` are not ordinary keys.
 */
export function sigV4Signature(r: {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: readonly (readonly [string, string])[];
  readonly payloadHash: string;
  readonly amzDate: string;
  readonly scope: string;
  readonly secretAccessKey: string;
}): string {
  // Every service but S3 normalizes the path and encodes it once more.
  const segments: string[] = [];
  for (const segment of r.path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `/${segments.join('/')}${segments.length > 0 && r.path.endsWith('/') ? '/' : ''}`;
  const canonicalPath = escapeUri(normalized).replace(/%2F/g, '/');
  const canonicalQuery = [...r.query]
    .filter(([k]) => k.toLowerCase() !== 'x-amz-signature')
    .map(([k, v]) => [escapeUri(k), escapeUri(v)] as const)
    // By key, then by value: sorting whole `k=v` strings would put `a-b=` before `a=`.
    .sort(([ka, va], [kb, vb]) => (ka !== kb ? (ka < kb ? -1 : 1) : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = [...r.headers]
    .map(([name, value]) => [name.toLowerCase(), value.trim().replace(/\s+/g, ' ')] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonicalRequest = [
    r.method.toUpperCase(),
    canonicalPath,
    canonicalQuery,
    `${headers.map(([n, v]) => `${n}:${v}`).join('\n')}\n`,
    headers.map(([n]) => n).join(';'),
    r.payloadHash,
  ].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', r.amzDate, r.scope, sha256Hex(canonicalRequest)].join('\n');
  const [date = '', region = '', service = ''] = r.scope.split('/');
  const key = hmac(hmac(hmac(hmac(`AWS4${r.secretAccessKey}`, date), region), service), 'aws4_request');
  return createHmac('sha256', key).update(stringToSign, 'utf8').digest('hex');
}

/** A `fetch` call signed for execute-api, as an SDK client or `awscurl` would sign it. */
export async function signedRequest(
  url: string,
  method: string,
  body?: string,
  options: SignOptions = {},
): Promise<{ url: string; init: RequestInit }> {
  const u = new URL(url);
  const credentials = options.credentials ?? LOCAL_CREDENTIALS;
  const region = options.region ?? 'us-east-1';
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  const scope = `${amzDate.slice(0, 8)}/${region}/execute-api/aws4_request`;
  const payloadHash = createHash('sha256')
    .update(body ?? '', 'utf8')
    .digest('hex');
  // Pairs, not an object: names come from the caller, and `__proto__` must stay a header.
  const headers: [string, string][] = [
    ['host', u.host],
    ['x-amz-date', amzDate],
    ...(body ? ([['content-type', 'application/json']] as [string, string][]) : []),
    ...((options.payloadHashHeader ?? true)
      ? ([['x-amz-content-sha256', payloadHash]] as [string, string][])
      : []),
    // Sent as named (API Gateway passes header names on as sent); signed in lower case.
    ...Object.entries(options.headers ?? {}).map(([k, v]) => [k, v] as [string, string]),
  ];
  const signature = sigV4Signature({
    method,
    path: u.pathname,
    query: u.searchParams,
    headers,
    payloadHash,
    amzDate,
    scope,
    secretAccessKey: credentials.secretAccessKey,
  });
  const signedHeaders = headers
    .map(([n]) => n.toLowerCase())
    .sort()
    .join(';');
  headers.push([
    'authorization',
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`,
  ]);
  return { url, init: { method, headers, body } };
}

/** Signs and sends a request (`options` as for {@link signedRequest}); resolves with the response. */
export async function signedFetch(
  url: string,
  method: string,
  body?: unknown,
  options: SignOptions = {},
): Promise<Response> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const req = await signedRequest(url, method, text, options);
  return fetch(req.url, req.init);
}
