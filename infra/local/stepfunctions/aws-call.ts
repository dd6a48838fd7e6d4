/**
 * Signed raw calls to the local AWS emulators, so service integrations see (and pass on) exactly
 * the JSON the service returns, as Step Functions does, with no SDK reshaping in between.
 */
import { createHash, createHmac, type Hash, type Hmac, randomUUID } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { LOCAL_CREDENTIALS } from '../engines/credentials.ts';

/** An error response of an AWS service. */
export class AwsServiceError extends Error {
  override readonly name: string = 'AwsServiceError';

  constructor(
    /** The AWS error code, for example `ConditionalCheckFailedException`. */
    readonly code: string,
    message: string,
    readonly statusCode: number,
    readonly requestId: string,
  ) {
    super(message);
  }
}

/** The raw result of a call. */
export interface AwsCallResult {
  readonly body: unknown;
  readonly statusCode: number;
  readonly requestId: string;
  readonly headers: Readonly<Record<string, string>>;
}

class NodeSha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    if (secret === undefined) this.hash = createHash('sha256');
    else if (typeof secret === 'string') this.hash = createHmac('sha256', secret);
    else if (ArrayBuffer.isView(secret))
      this.hash = createHmac('sha256', Buffer.from(secret.buffer, secret.byteOffset, secret.byteLength));
    else this.hash = createHmac('sha256', Buffer.from(secret));
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    // The signer builds a fresh instance per digest; a reused one is a bug worth surfacing.
    throw new Error('NodeSha256 cannot be reset');
  }
}

async function signedFetch(
  endpoint: string,
  region: string,
  service: string,
  headers: Record<string, string>,
  body: string,
): Promise<Response> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ credentials: LOCAL_CREDENTIALS, region, service, sha256: NodeSha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname || '/',
    query: {},
    headers: { host: url.host, ...headers },
    body,
  });
  return fetch(url, { method: 'POST', headers: signed.headers, body });
}

function flatHeaders(response: Response): Record<string, string> {
  const out: Record<string, string> = {};
  response.headers.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

function errorCode(raw: string | undefined): string {
  // `__type` may be namespaced (`com.amazonaws.dynamodb.v20120810#ResourceNotFoundException`) and
  // x-amzn-errortype may carry a URI suffix (`Code:http://...`).
  const code = (raw ?? 'InternalFailure').split('#').pop() ?? 'InternalFailure';
  return code.split(':')[0] ?? code;
}

/** Calls an AWS JSON 1.0/1.1 operation (`X-Amz-Target: <target>`). */
export async function callAwsJson(options: {
  readonly endpoint: string;
  readonly region: string;
  /** Signing name, for example `dynamodb` or `sagemaker`. */
  readonly service: string;
  readonly target: string;
  readonly version: '1.0' | '1.1';
  readonly body: unknown;
}): Promise<AwsCallResult> {
  const response = await signedFetch(
    options.endpoint,
    options.region,
    options.service,
    { 'content-type': `application/x-amz-json-${options.version}`, 'x-amz-target': options.target },
    JSON.stringify(options.body ?? {}),
  );
  const text = await response.text();
  const headers = flatHeaders(response);
  const requestId = headers['x-amzn-requestid'] ?? randomUUID();
  let parsed: unknown = {};
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text };
    }
  }
  if (!response.ok) {
    const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    const type =
      headers['x-amzn-errortype'] ?? (typeof record.__type === 'string' ? record.__type : undefined);
    const message = record.message ?? record.Message;
    throw new AwsServiceError(
      errorCode(type),
      typeof message === 'string' ? message : text,
      response.status,
      requestId,
    );
  }
  return { body: parsed, statusCode: response.status, requestId, headers };
}

/** Calls an AWS query-protocol action (form-encoded POST, XML answer), returning the XML text. */
export async function callAwsQuery(options: {
  readonly endpoint: string;
  readonly region: string;
  readonly service: string;
  readonly params: Readonly<Record<string, string>>;
}): Promise<{ readonly xml: string; readonly statusCode: number; readonly requestId: string }> {
  const body = new URLSearchParams(options.params).toString();
  const response = await signedFetch(
    options.endpoint,
    options.region,
    options.service,
    { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  );
  const xml = await response.text();
  const requestId = /<RequestId>([^<]*)<\/RequestId>/.exec(xml)?.[1] ?? randomUUID();
  if (!response.ok) {
    const code = /<Code>([^<]*)<\/Code>/.exec(xml)?.[1] ?? 'InternalFailure';
    const message = /<Message>([^<]*)<\/Message>/.exec(xml)?.[1] ?? xml;
    throw new AwsServiceError(code, message, response.status, requestId);
  }
  return { xml, statusCode: response.status, requestId };
}
