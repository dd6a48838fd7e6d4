/** S3 for the local cloud: s3rver, storing objects under a folder, with Object Lock's guarantee. */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { readBody } from '../http.ts';
import type { LocalObjectLock } from '../model.ts';
import { assertPortFree, freePort } from '../ports.ts';

export interface S3Options {
  /** @default - a free port */
  readonly port?: number;
  /** Folder that holds the objects. @default - a temporary folder (tests) */
  readonly dataDir?: string;
  /**
   * Buckets with Object Lock, by name: their objects cannot be replaced or deleted during the
   * default retention, as on AWS.
   * @default - none
   */
  readonly objectLock?: ReadonlyMap<string, LocalObjectLock>;
}

/** A running S3 emulator. */
export interface S3Engine {
  readonly endpoint: string;
  readonly port: number;
  readonly limitations: readonly string[];
  /** Subscribes to S3 event notification records (ObjectCreated, ObjectRemoved). */
  onEvent(listener: (record: S3EventRecord) => void): void;
  stop(): Promise<void>;
}

/** The part of an S3 event notification record the local cloud uses. */
export interface S3EventRecord {
  readonly eventName: string;
  readonly eventTime: string;
  readonly s3: {
    readonly bucket: { readonly name: string };
    readonly object: {
      readonly key: string;
      readonly size?: number;
      readonly eTag?: string;
      readonly sequencer?: string;
    };
  };
}

/**
 * Starts s3rver. Clients must use path-style addressing, 127.0.0.1 (not localhost) and
 * `requestChecksumCalculation: 'WHEN_REQUIRED'` (or AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED):
 * s3rver predates the SDK's default CRC32 checksums.
 */
export async function startS3(options: S3Options = {}): Promise<S3Engine> {
  // s3rver never settles run() when its port is taken, so check first.
  if (options.port !== undefined) await assertPortFree(options.port, 's3rver');
  const port = options.port ?? (await freePort());
  const directory = options.dataDir ?? mkdtempSync(join(tmpdir(), 's3rver-'));
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    port,
    address: '127.0.0.1',
    silent: true,
    directory,
    allowMismatchedSignatures: true,
  });
  if (options.objectLock && options.objectLock.size > 0) {
    // Koa composes its middleware when the server starts listening, so this runs first.
    (server as unknown as { middleware: unknown[] }).middleware.unshift(
      objectLockMiddleware(server as unknown as StoreHolder, options.objectLock),
    );
  }
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    limitations: [
      'No versioning: PutObject returns no VersionId.',
      'Object Lock keeps the first copy of an object in retention by refusing (403 AccessDenied) a PUT with other bytes and any DELETE; AWS instead adds a version and keeps the old one locked.',
      'No bucket policies, KMS or TLS enforcement.',
    ],
    onEvent(listener) {
      server.on('event', (event) => {
        for (const record of event.Records ?? []) listener(record as S3EventRecord);
      });
    },
    stop: () => server.close(),
  };
}

/** The part of s3rver's filesystem store the Object Lock check reads. */
interface StoreHolder {
  readonly store: {
    getMetadata(bucket: string, key: string): Promise<{ etag: string; 'last-modified': string }>;
  };
}

/** The part of a Koa context the Object Lock check uses. */
interface LockContext {
  readonly method: string;
  readonly path: string;
  readonly querystring: string;
  readonly req: import('node:http').IncomingMessage;
  get(header: string): string;
  status: number;
  type: string;
  body: unknown;
  set(header: string, value: string): void;
}

const OBJECT_LOCKED = 'Access Denied because object protected by object lock.';

/**
 * Object Lock's guarantee on s3rver, which has no versions: an object of a locked bucket within
 * its retention keeps its first bytes. A PUT of the same bytes again succeeds (on AWS it would
 * add an identical version, which is what a retried archiver batch does); other bytes, a copy
 * onto it, a multipart completion onto it and any DELETE get AWS's 403 AccessDenied. In
 * GOVERNANCE mode `x-amz-bypass-governance-retention: true` lifts it, as on AWS.
 */
function objectLockMiddleware(server: StoreHolder, locks: ReadonlyMap<string, LocalObjectLock>) {
  return async (ctx: LockContext, next: () => Promise<void>): Promise<void> => {
    const match = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    const lock = match?.[1] ? locks.get(match[1]) : undefined;
    if (!match?.[1] || !match[2] || !lock) return next();
    const bucket = match[1];
    const key = decodeURIComponent(match[2]);
    const query = new URLSearchParams(ctx.querystring);
    const writes =
      (ctx.method === 'PUT' && !query.has('partNumber') && !query.has('tagging') && !query.has('acl')) ||
      (ctx.method === 'POST' && query.has('uploadId')) ||
      ctx.method === 'DELETE';
    if (!writes || (ctx.method === 'DELETE' && query.has('uploadId'))) return next();
    if (lock.mode === 'GOVERNANCE' && ctx.get('x-amz-bypass-governance-retention').toLowerCase() === 'true') {
      return next();
    }
    let stored: { etag: string; 'last-modified': string };
    try {
      stored = await server.store.getMetadata(bucket, key);
    } catch {
      return next(); // no such object yet: nothing to protect
    }
    const retainUntil = Date.parse(stored['last-modified']) + lock.days * 86_400_000;
    if (Date.now() >= retainUntil) return next();
    if (ctx.method === 'PUT' && ctx.get('x-amz-copy-source') === '') {
      const body = await readBody(ctx.req);
      if (`"${createHash('md5').update(body).digest('hex')}"` === stored.etag) {
        ctx.status = 200;
        ctx.set('ETag', stored.etag);
        ctx.body = '';
        return;
      }
    }
    ctx.status = 403;
    ctx.type = 'application/xml';
    ctx.set('x-amz-error-code', 'AccessDenied');
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${OBJECT_LOCKED}</Message><Key>${escapeXml(key)}</Key></Error>`;
  };
}

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
