/** The S3 reads and writes the pipeline steps share: by URI, streamed, reporting object versions. */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Parser as TarParser } from 'tar';
import type { S3ObjectVersion } from '../ledger/events.ts';

/** Version ID S3 reports for an object of an unversioned bucket. */
export const NULL_VERSION = 'null';

/** A bucket and key. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** Splits `s3://bucket/key` into bucket and key. */
export function parseS3Uri(uri: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m?.[1] || !m[2]) throw new Error(`not an s3://bucket/key URI: ${uri}`);
  return { bucket: m[1], key: m[2] };
}

/** `s3://bucket/key`. */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

async function bodyStream(s3: S3Client, loc: S3Location, versionId?: string): Promise<Readable> {
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

/** Reads an object as UTF-8 text (for small objects: manifests, labels, predictions). */
export async function readObjectText(s3: S3Client, uri: string, versionId?: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await bodyStream(s3, parseS3Uri(uri), versionId)) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Streams an object to a local file and returns the sha256 of its bytes. */
export async function downloadToFile(
  s3: S3Client,
  uri: string,
  file: string,
  versionId?: string,
): Promise<string> {
  const hash = createHash('sha256');
  const body = await bodyStream(s3, parseS3Uri(uri), versionId);
  body.on('data', (chunk: Buffer) => hash.update(chunk));
  await pipeline(body, createWriteStream(file));
  return hash.digest('hex');
}

/**
 * sha256 of the files inside a (gzipped) tar archive: the sorted `path NUL sha256(content)` lines,
 * so two archives of the same files hash alike whatever their timestamps, owners or order. A
 * model.tar.gz from two identical trainings differs in tar metadata, never in this hash.
 */
export async function archiveContentSha256(s3: S3Client, uri: string): Promise<string> {
  const files: { path: string; hash: Promise<string> }[] = [];
  const parser = new TarParser({
    onReadEntry: (entry) => {
      if (entry.type !== 'File') {
        entry.resume();
        return;
      }
      const hash = createHash('sha256');
      files.push({
        path: entry.path.replace(/^\.\//, ''),
        hash: new Promise<string>((resolve, reject) => {
          entry.on('data', (chunk: Buffer) => hash.update(chunk));
          entry.on('end', () => resolve(hash.digest('hex')));
          entry.on('error', reject);
        }),
      });
    },
  });
  const body = await bodyStream(s3, parseS3Uri(uri));
  await pipeline(body, parser);
  const lines = await Promise.all(files.map(async (f) => `${f.path}\0${await f.hash}\n`));
  return createHash('sha256').update(lines.sort().join('')).digest('hex');
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

/** Puts a small text object and returns the version S3 stored. */
export async function putText(
  s3: S3Client,
  loc: S3Location,
  body: string,
  contentType: string,
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
