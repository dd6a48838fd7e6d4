/** S3 for the local cloud: s3rver, storing objects under a folder. */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { assertPortFree, freePort } from '../ports.ts';

export interface S3Options {
  /** @default - a free port */
  readonly port?: number;
  /** Folder that holds the objects. @default - a temporary folder (tests) */
  readonly dataDir?: string;
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
  await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    limitations: [
      'No versioning: PutObject returns no VersionId.',
      'No Object Lock, bucket policies, KMS or TLS enforcement.',
    ],
    onEvent(listener) {
      server.on('event', (event) => {
        for (const record of event.Records ?? []) listener(record as S3EventRecord);
      });
    },
    stop: () => server.close(),
  };
}
