/** S3 transfers the emulator does on the containers' behalf: channel downloads and artifact uploads. */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { create, extract } from 'tar';

/** A parsed `s3://bucket/key` URI. */
export interface S3Location {
  readonly bucket: string;
  readonly key: string;
}

/** Raised when an S3 URI or object the caller named is unusable (SageMaker's `ClientError`). */
export class S3InputError extends Error {
  override readonly name: string = 'S3InputError';
}

/** SageMaker accepts S3 locations as `s3://` URIs and as https URLs (path- or virtual-hosted-style). */
export const S3_LOCATION = /^(s3|https):\/\//;

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

/** The `s3://bucket/key` form of any accepted S3 location. */
export function toS3Uri(uri: string): string {
  const { bucket, key } = parseS3Uri(uri);
  return `s3://${bucket}/${key}`;
}

/** Joins an S3 prefix URI and a relative key without doubling slashes. */
export function joinS3Uri(base: string, ...parts: string[]): string {
  return [base.replace(/\/+$/, ''), ...parts.map((p) => p.replace(/^\/+|\/+$/g, ''))].join('/');
}

async function readObject(s3: S3Client, loc: S3Location): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
  if (!out.Body) return Buffer.alloc(0);
  return Buffer.from(await out.Body.transformToByteArray());
}

/** Keys under an S3 prefix URI, in key order. */
export async function listKeys(s3: S3Client, uri: string): Promise<string[]> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

/**
 * Downloads every object under an S3 prefix into `dir`, keeping the path below the prefix, and
 * returns how many objects it wrote.
 */
export async function downloadPrefix(s3: S3Client, uri: string, dir: string): Promise<number> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  const keys = await listKeys(s3, uri);
  for (const key of keys) {
    const rel = key.slice(prefix.lastIndexOf('/') + 1);
    const target = join(dir, ...rel.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, await readObject(s3, { bucket, key }));
  }
  return keys.length;
}

/** Reads one object by URI. */
export function getObject(s3: S3Client, uri: string): Promise<Buffer> {
  return readObject(s3, parseS3Uri(uri));
}

/** Whether an object exists. */
export async function objectExists(s3: S3Client, uri: string): Promise<boolean> {
  const loc = parseS3Uri(uri);
  try {
    await s3.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    return true;
  } catch {
    return false;
  }
}

/** Writes one object by URI. */
export async function putObject(
  s3: S3Client,
  uri: string,
  body: Buffer,
  contentType?: string,
): Promise<void> {
  const loc = parseS3Uri(uri);
  await s3.send(
    new PutObjectCommand({ Bucket: loc.bucket, Key: loc.key, Body: body, ContentType: contentType }),
  );
}

/** Whether a folder holds at least one file. */
export async function hasFiles(dir: string): Promise<boolean> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.some((e) => e.isFile());
}

/** Packs the contents of `dir` (not the folder itself) as a gzipped tarball, as SageMaker does. */
export async function packDir(dir: string): Promise<Buffer> {
  const work = await mkdtemp(join(tmpdir(), 'sm-pack-'));
  try {
    const file = join(work, 'archive.tar.gz');
    const entries = (await readdir(dir)).sort();
    await create({ gzip: true, cwd: dir, file, portable: true }, entries);
    return await readFile(file);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Extracts a gzipped tarball into `dir`. */
export async function unpackInto(archive: Buffer, dir: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'sm-unpack-'));
  try {
    const file = join(work, 'archive.tar.gz');
    await writeFile(file, archive);
    await mkdir(dir, { recursive: true });
    await extract({ file, cwd: dir });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The path of `file` below `root`, with forward slashes. */
export function relativeKey(root: string, file: string): string {
  return relative(root, file).split(sep).join('/');
}
