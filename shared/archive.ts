/**
 * Model archives (gzipped tarballs, SageMaker's model.tar.gz) in S3: their content hash, one file
 * of them, or all of them unpacked. Apart from shared/s3.ts so that only the functions that open
 * an archive bundle the tar library.
 */
import { createHash } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { extract, Parser as TarParser } from 'tar';
import { bodyStream, type S3Location } from './s3.ts';

/**
 * sha256 of the files inside a (gzipped) tar archive: the sorted `path NUL sha256(content)` lines,
 * so two archives of the same files hash alike whatever their timestamps, owners or order. A
 * model.tar.gz from two identical trainings differs in tar metadata, never in this hash.
 */
export async function archiveContentSha256(s3: S3Client, loc: S3Location): Promise<string> {
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
  await pipeline(await bodyStream(s3, loc), parser);
  const lines = await Promise.all(files.map(async (f) => `${f.path}\0${await f.hash}\n`));
  return createHash('sha256').update(lines.sort().join('')).digest('hex');
}

/**
 * The bytes of one file of a (gzipped) tar archive object, read in one pass without unpacking the
 * rest (`./` prefixes ignored); undefined when the archive has no such file.
 */
export async function readArchiveEntry(
  s3: S3Client,
  loc: S3Location,
  path: string,
): Promise<Buffer | undefined> {
  const wanted = path.replace(/^\.\//, '');
  let found: Promise<Buffer> | undefined;
  const parser = new TarParser({
    onReadEntry: (entry) => {
      if (entry.type !== 'File' || found || entry.path.replace(/^\.\//, '') !== wanted) {
        entry.resume();
        return;
      }
      const chunks: Buffer[] = [];
      found = new Promise<Buffer>((resolve, reject) => {
        entry.on('data', (chunk: Buffer) => chunks.push(chunk));
        entry.on('end', () => resolve(Buffer.concat(chunks)));
        entry.on('error', reject);
      });
    },
  });
  await pipeline(await bodyStream(s3, loc), parser);
  return found;
}

/** Extracts a gzipped tarball object (a model.tar.gz) into `dir`. */
export async function unpackObject(s3: S3Client, loc: S3Location, dir: string): Promise<void> {
  const body = await bodyStream(s3, loc);
  await mkdir(dir, { recursive: true });
  await pipeline(body, extract({ cwd: dir }));
}
