/** S3 transfers the emulator does on the containers' behalf: channel downloads and artifact uploads. */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { create } from 'tar';
import { getObject, listKeys, parseS3Uri, s3Uri } from '../../../shared/s3.ts';

/** SageMaker accepts S3 locations as `s3://` URIs and as https URLs (path- or virtual-hosted-style). */
export const S3_LOCATION = /^(s3|https):\/\//;

/** The `s3://bucket/key` form of any accepted S3 location. */
export function toS3Uri(uri: string): string {
  const { bucket, key } = parseS3Uri(uri);
  return s3Uri(bucket, key);
}

/** Joins an S3 prefix URI and a relative key without doubling slashes. */
export function joinS3Uri(base: string, ...parts: string[]): string {
  return [base.replace(/\/+$/, ''), ...parts.map((p) => p.replace(/^\/+|\/+$/g, ''))].join('/');
}

/** Keys of the objects SageMaker reads under a prefix, in key order: folder markers (`…/`) are skipped. */
export async function inputKeys(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  return (await listKeys(s3, bucket, prefix)).filter((key) => !key.endsWith('/'));
}

/**
 * Downloads every object under an S3 prefix into `dir`, keeping the path below the prefix, and
 * returns how many objects it wrote.
 */
export async function downloadPrefix(s3: S3Client, uri: string, dir: string): Promise<number> {
  const { bucket, key: prefix } = parseS3Uri(uri);
  const keys = await inputKeys(s3, bucket, prefix);
  for (const key of keys) {
    const rel = key.slice(prefix.lastIndexOf('/') + 1);
    const target = join(dir, ...rel.split('/'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, await getObject(s3, { bucket, key }));
  }
  return keys.length;
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
