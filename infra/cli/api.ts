/**
 * `mlops api <method> <path> [--data <json>]`: one signed call to the stack's API, as an
 * application makes it: SigV4 for execute-api with the local cloud's credentials when one runs,
 * else with the SDK's default credentials against `--api-url` (or MLOPS_API_URL).
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Command } from 'commander';
import { signedRequest } from '../local/sigv4.ts';
import { resolveTarget } from '../ops/target.ts';
import { UsageError } from './errors.ts';

/** SHA-256 (HMAC when given a key) in the shape the SigV4 signer takes. */
class NodeSha256 {
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

/** Signs `body` for the deployed API with the SDK's default credential chain and region. */
async function awsRequest(url: string, method: string, body: string | undefined): Promise<RequestInit> {
  // Any client resolves the default chain; its config is what the SDK would sign with.
  const client = new SFNClient({});
  try {
    const u = new URL(url);
    const signer = new SignatureV4({
      credentials: client.config.credentials,
      region: await client.config.region(),
      service: 'execute-api',
      sha256: NodeSha256,
    });
    const signed = await signer.sign({
      method,
      protocol: u.protocol,
      hostname: u.hostname,
      ...(u.port ? { port: Number(u.port) } : {}),
      path: u.pathname,
      query: Object.fromEntries(u.searchParams),
      headers: { host: u.host, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {}),
    });
    return { method, headers: signed.headers, ...(body ? { body } : {}) };
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
    .option('--api-url <url>', 'base URL of the API stage (default: the local cloud, else MLOPS_API_URL)')
    .action(async (method: string, path: string, o: { data?: string; apiUrl?: string }) => {
      const target = resolveTarget(o.apiUrl ? { apiUrl: o.apiUrl } : {});
      target.sfn.destroy();
      const base = target.apiUrl;
      if (!base)
        throw new UsageError(
          '--api-url',
          'no API: start the local cloud (npm start), or pass --api-url or MLOPS_API_URL',
        );
      let body: string | undefined;
      if (o.data !== undefined) {
        try {
          body = JSON.stringify(JSON.parse(o.data));
        } catch (error) {
          throw new UsageError('--data', `not JSON (${(error as Error).message})`);
        }
      }
      const url = `${base.replace(/\/$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
      const verb = method.toUpperCase();
      const init = target.local
        ? (await signedRequest(url, verb, body)).init
        : await awsRequest(url, verb, body);
      const res = await fetch(url, init);
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
