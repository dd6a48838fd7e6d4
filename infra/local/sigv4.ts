/**
 * SigV4 for the local cloud: the hash the signer needs (from node:crypto), and request signing for
 * callers of IAM-authorized routes (tests, the CLI, the benchmark, the demo).
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { LOCAL_CREDENTIALS } from './engines/credentials.ts';

type Sha256Constructor = ConstructorParameters<typeof SignatureV4>[0]['sha256'];

/** SHA-256 (and HMAC-SHA-256 when given a key) for the SigV4 signer, from node:crypto. */
export const NodeSha256: Sha256Constructor = class {
  private hash;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }
  private fresh() {
    if (this.secret === undefined) return createHash('sha256');
    const key =
      typeof this.secret === 'string'
        ? this.secret
        : ArrayBuffer.isView(this.secret)
          ? Buffer.from(this.secret.buffer, this.secret.byteOffset, this.secret.byteLength)
          : Buffer.from(this.secret);
    return createHmac('sha256', key);
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
};

/** Credentials to sign with. */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A `fetch` call signed for execute-api, as an SDK client or `awscurl` would sign it. */
export async function signedRequest(
  url: string,
  method: string,
  body?: string,
  credentials: SigningCredentials = LOCAL_CREDENTIALS,
  region = 'us-east-1',
): Promise<{ url: string; init: RequestInit }> {
  const u = new URL(url);
  const query: Record<string, string> = {};
  for (const [k, v] of u.searchParams) query[k] = v;
  const signer = new SignatureV4({ credentials, region, service: 'execute-api', sha256: NodeSha256 });
  const signed = await signer.sign({
    method,
    protocol: u.protocol,
    hostname: u.hostname,
    port: u.port ? Number(u.port) : undefined,
    path: u.pathname,
    query,
    headers: { host: u.host, ...(body ? { 'content-type': 'application/json' } : {}) },
    body,
  });
  return { url, init: { method, headers: signed.headers, body } };
}

/** Signs and sends a request; resolves with the response. */
export async function signedFetch(url: string, method: string, body?: unknown): Promise<Response> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const req = await signedRequest(url, method, text);
  return fetch(req.url, req.init);
}
