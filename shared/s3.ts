/**
 * The S3 helpers the product shares (pipeline steps, feature and label stores, the CLI, the demo and
 * the local SageMaker): `s3://` URIs, listings, streamed reads and writes that report object versions.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NotFound,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { S3ObjectVersion } from './ledger/events.ts';

/** Version ID S3 reports for an object of an unversioned bucket. */
export const NULL_VERSION = 'null';

/** A bucket and key (or key prefix). */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** Raised when an S3 URI or object the caller named is unusable (SageMaker's `ClientError`). */
export class S3InputError extends Error {
  override readonly name: string = 'S3InputError';
}

/**
 * Splits an S3 location into bucket and key: `s3://bucket/key`, `https://s3.<region>.amazonaws.com/bucket/key`
 * (what CDK's `S3Location.fromBucket` renders) or `https://bucket.s3.<region>.amazonaws.com/key`.
 */
export function parseS3Uri(uri: string): S3Location {
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (s3?.[1]) return { bucket: s3[1], key: s3[2] ?? '' };
  const pathStyle = /^https:\/\/s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?\/([^/]+)\/?(.*)$/.exec(uri);
  if (pathStyle?.[1]) return { bucket: pathStyle[1], key: decodeURIComponent(pathStyle[2] ?? '') };
  const virtualHost = /^https:\/\/([^/]+?)\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?\/?(.*)$/.exec(uri);
  if (virtualHost?.[1]) return { bucket: virtualHost[1], key: decodeURIComponent(virtualHost[2] ?? '') };
  throw new S3InputError(`Invalid S3 URI: ${uri}`);
}

/** `s3://bucket/key`. */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

/** Every key under a prefix, following continuation tokens. */
export async function listKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/** Whether an object exists (S3 answers HEAD with NotFound); any other failure is thrown. */
export async function objectExists(s3: S3Client, loc: S3Location): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    return true;
  } catch (e) {
    if (e instanceof NotFound) return false;
    throw e;
  }
}

export async function bodyStream(s3: S3Client, loc: S3Location, versionId?: string): Promise<Readable> {
  const out = await s3.send(
    new GetObjectCommand({
      Bucket: loc.bucket,
      Key: loc.key,
      ...(versionId && versionId !== NULL_VERSION ? { VersionId: versionId } : {}),
    }),
  );
  if (!(out.Body instanceof Readable)) throw new Error(`s3://${loc.bucket}/${loc.key} has no readable body`);
  return out.Body;
}

/** Reads one object's bytes (optionally one version). */
export async function getObject(s3: S3Client, loc: S3Location, versionId?: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await bodyStream(s3, loc, versionId)) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

/** Reads an object as UTF-8 text (for small objects: manifests, labels, predictions). */
export async function readText(s3: S3Client, loc: S3Location, versionId?: string): Promise<string> {
  return (await getObject(s3, loc, versionId)).toString('utf8');
}

/** Streams an object to a local file and returns the sha256 of its bytes. */
export async function downloadToFile(
  s3: S3Client,
  loc: S3Location,
  file: string,
  versionId?: string,
): Promise<string> {
  const hash = createHash('sha256');
  const body = await bodyStream(s3, loc, versionId);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, createWriteStream(file));
  return hash.digest('hex');
}

/**
 * Streams an object line by line (one version, when given) to `onLine` and returns the sha256 of
 * its bytes, so a reader can check what it read against a recorded hash without a second pass.
 */
export async function forEachLine(
  s3: S3Client,
  loc: S3Location,
  onLine: (line: string) => void,
  versionId?: string,
): Promise<string> {
  const hash = createHash('sha256');
  const body = await bodyStream(s3, loc, versionId);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  const lines = createInterface({ input: body, crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) onLine(line);
  return hash.digest('hex');
}

/** Uploads a local file (multipart when large) and returns the version S3 stored. */
export async function uploadFile(
  s3: S3Client,
  loc: S3Location,
  file: string,
  contentType: string,
): Promise<S3ObjectVersion> {
  const out = await new Upload({
    client: s3,
    params: { Bucket: loc.bucket, Key: loc.key, Body: createReadStream(file), ContentType: contentType },
  }).done();
  return { bucket: loc.bucket, key: loc.key, versionId: out.VersionId ?? NULL_VERSION };
}

/** Puts a small object (text or bytes) and returns the version S3 stored. */
export async function putObject(
  s3: S3Client,
  loc: S3Location,
  body: string | Uint8Array,
  contentType?: string,
): Promise<S3ObjectVersion> {
  const out = await s3.send(
    new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body, ContentType: contentType }),
  );
  return { bucket: loc.bucket, key: loc.key, versionId: out.VersionId ?? NULL_VERSION };
}

/** The current version of an object (S3's "null" in an unversioned bucket). */
export async function currentVersion(s3: S3Client, loc: S3Location): Promise<S3ObjectVersion> {
  const out = await s3.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
  return { bucket: loc.bucket, key: loc.key, versionId: out.VersionId ?? NULL_VERSION };
}
