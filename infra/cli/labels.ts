/**
 * `mlops labels put <useCase> <file>`: uploads a label file through the bulk path (the
 * `ingest-labels/<useCase>/` drop zone, where the label Bulk function validates every row), shows
 * the upload's progress, waits for that file's summary and prints it with the first rejections.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { GetObjectCommand, NoSuchKey, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Command } from 'commander';
import type { LabelBulkSummary } from '../../shared/labels/bulk.ts';
import { LABEL_DROP_PREFIX, LABEL_QUARANTINE_PREFIX } from '../../shared/labels/schema.ts';
import { readText } from '../../shared/s3.ts';
import { formatProblems } from '../../shared/validation.ts';
import { resolveTarget, s3ClientFor } from '../ops/target.ts';
import { UsageError } from './errors.ts';

/** How many rejected rows the command prints. */
const SHOWN_REJECTIONS = 5;

/** A rejected row as the bulk function quarantines it. */
interface QuarantinedRow {
  readonly line: number;
  readonly problems: readonly { field: string; problem: string; got?: string }[];
}

/** The summary of the object with `etag`, once the bulk function has written it. */
async function summaryFor(s3: S3Client, bucket: string, key: string, etag: string) {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const summary = JSON.parse((await out.Body?.transformToString()) ?? '{}') as LabelBulkSummary;
    return summary.source?.etag === etag ? summary : undefined;
  } catch (e) {
    if (e instanceof NoSuchKey) return undefined;
    throw e;
  }
}

/** Uploads `file` as `ingest-labels/<useCase>/<name>` and waits for its summary. */
export async function putLabelFile(options: {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly useCase: string;
  readonly file: string;
  readonly timeoutMs: number;
  readonly progress: (line: string) => void;
}): Promise<{ summary: LabelBulkSummary; firstRejections: QuarantinedRow[] }> {
  const { s3, bucket, useCase, file } = options;
  const name = basename(file, extname(file));
  const key = `${LABEL_DROP_PREFIX}${useCase}/${basename(file)}`;
  const bytes = statSync(file).size;
  const upload = new Upload({
    client: s3,
    params: { Bucket: bucket, Key: key, Body: createReadStream(file) },
  });
  upload.on('httpUploadProgress', (p) => {
    if (p.loaded !== undefined)
      options.progress(`uploaded ${p.loaded} of ${bytes} bytes to s3://${bucket}/${key}`);
  });
  const done = await upload.done();
  const etag = done.ETag;
  if (!etag) throw new Error(`s3://${bucket}/${key}: the upload returned no ETag`);
  const summaryKey = `${LABEL_QUARANTINE_PREFIX}${useCase}/${name}.summary.json`;
  const started = Date.now();
  let lastSaid = 0;
  for (;;) {
    const summary = await summaryFor(s3, bucket, summaryKey, etag);
    if (summary) {
      const firstRejections = summary.quarantineKey
        ? (await readText(s3, { bucket, key: summary.quarantineKey }))
            .split('\n')
            .filter((l) => l !== '')
            .slice(0, SHOWN_REJECTIONS)
            .map((l) => JSON.parse(l) as QuarantinedRow)
        : [];
      return { summary, firstRejections };
    }
    const waited = Date.now() - started;
    if (waited > options.timeoutMs) {
      throw new Error(
        `no summary at s3://${bucket}/${summaryKey} after ${Math.round(waited / 1000)} s: is the label Bulk function deployed, and does the bucket send events to EventBridge? Its dead-letter queue holds the event if the function failed`,
      );
    }
    if (waited - lastSaid >= 5000) {
      lastSaid = waited;
      options.progress(`waiting for the label Bulk function (${Math.round(waited / 1000)} s)`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Adds the label commands to the CLI. */
export function registerLabelCommands(program: Command): void {
  const labels = program.command('labels').description('Label events: the outcomes models learn from');
  labels
    .command('put <useCase> <file>')
    .description(
      `Upload a label file (.csv or .jsonl) through the bulk path (${LABEL_DROP_PREFIX}<useCase>/), wait for it to be validated, and print the summary. Exits 1 when any row was rejected.`,
    )
    .option('--bucket <name>', 'the datasets bucket (default: the local cloud, or MLOPS_DATASETS_BUCKET)')
    .option('--timeout <seconds>', 'how long to wait for the summary', '900')
    .option('--json', 'machine-readable output')
    .action(
      async (useCase: string, file: string, o: { bucket?: string; timeout: string; json?: boolean }) => {
        if (!existsSync(file)) throw new UsageError('<file>', `no such file: ${file}`);
        if (!/\.(csv|jsonl)$/.test(file))
          throw new UsageError('<file>', `must end in .csv or .jsonl, got ${file}`);
        const timeout = Number(o.timeout);
        if (!Number.isFinite(timeout) || timeout <= 0) {
          throw new UsageError('--timeout', `must be a positive number of seconds, got ${o.timeout}`);
        }
        const target = resolveTarget({ datasetsBucket: o.bucket });
        if (!target.datasetsBucket) {
          throw new UsageError(
            '--bucket',
            'no datasets bucket: pass --bucket <name> (the Data stack output DatasetsBucketName), set MLOPS_DATASETS_BUCKET, or start the local cloud',
          );
        }
        const s3 = s3ClientFor(target);
        try {
          const { summary, firstRejections } = await putLabelFile({
            s3,
            bucket: target.datasetsBucket,
            useCase,
            file,
            timeoutMs: timeout * 1000,
            progress: o.json ? () => {} : (line) => console.error(line),
          });
          if (o.json) console.log(JSON.stringify({ summary, firstRejections }, null, 2));
          else {
            console.log(
              `${summary.source.key}: ${summary.rows} row(s), ${summary.accepted} accepted (${summary.outcomes.written} written, ${summary.outcomes.duplicate} already stored), ${summary.rejected} rejected`,
            );
            if (summary.quarantineKey) {
              console.log(
                `rejected rows and their reasons: s3://${target.datasetsBucket}/${summary.quarantineKey}`,
              );
              for (const r of firstRejections) console.log(formatProblems(r.problems, `  line ${r.line}: `));
            }
          }
          if (summary.rejected > 0) process.exitCode = 1;
        } finally {
          s3.destroy();
        }
      },
    );
}
