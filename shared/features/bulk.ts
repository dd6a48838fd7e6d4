/**
 * Bulk ingestion of a CSV or JSONL object dropped in the datasets bucket: feature records under
 * `ingest/<group>/`, and (through the same core, `ingestBulkRows`) label events under
 * `ingest-labels/<useCase>/`. Rows are streamed and written in chunks (bounded memory); every
 * rejected row goes, with its reasons, to a `.rejected.jsonl` file in quarantine, and a summary is
 * written next to it. Nothing is dropped silently.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parse } from 'csv-parse';
import type { FeatureGroup } from '../config/use-case.ts';
import type { FieldProblem } from '../validation.ts';
import {
  type IngestContext,
  type RecordResult,
  type Rejection,
  validateRecords,
  writeRecords,
} from './ingest.ts';

/** How bulk CSV files are parsed: a header row names the columns; cells are trimmed. */
export const CSV_OPTIONS = {
  columns: true,
  skip_empty_lines: true,
  trim: true,
  relax_column_count: true,
} as const;

/** Rows validated and written together. */
export const BULK_CHUNK_ROWS = 500;

/** A bulk file's format, from its extension. */
export type BulkFormat = 'csv' | 'jsonl';

/** What every bulk summary records, whatever the rows are. */
export interface BulkCounts<Outcome extends string> {
  readonly source: {
    readonly bucket: string;
    readonly key: string;
    /** The ETag of the object processed, so an uploader can tell its file's summary from an older one. */
    readonly etag: string | null;
  };
  readonly format: BulkFormat;
  readonly rows: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly outcomes: Readonly<Record<Outcome, number>>;
  /** Where rejected rows and their reasons are, or null when there were none. */
  readonly quarantineKey: string | null;
  readonly summaryKey: string;
}

/** Summary written next to the quarantine file of a feature file. */
export interface BulkSummary extends BulkCounts<RecordResult['outcome']> {
  readonly group: string;
}

/** The object key does not follow the drop zone's layout. */
export class BulkKeyError extends Error {
  override readonly name = 'BulkKeyError';
}

/** Parses `<zone><target>/<name>.<csv|jsonl>` (the target is a group or use-case name). */
export function parseDropKey(
  zone: string,
  key: string,
): { target: string; name: string; format: BulkFormat } {
  const m = new RegExp(`^${zone}([a-z][a-z0-9-]*)/(.+)\\.(csv|jsonl)$`).exec(key);
  if (!m?.[1] || !m[2] || !m[3]) {
    throw new BulkKeyError(`object key must look like ${zone}<name>/<file>.csv or .jsonl, got "${key}"`);
  }
  return { target: m[1], name: m[2], format: m[3] as BulkFormat };
}

/** Parses `ingest/<group>/<name>.<csv|jsonl>`. */
export function parseIngestKey(key: string): { group: string; name: string; format: BulkFormat } {
  const { target, name, format } = parseDropKey('ingest/', key);
  return { group: target, name, format };
}

/** A CSV cell as JSON would carry it: empty is null, numbers and booleans typed by the field's type. */
export function csvCell(type: string | undefined, text: string): unknown {
  if (text === '') return null;
  if (type === 'number' || type === 'integer') return Number.isNaN(Number(text)) ? text : Number(text);
  if (type === 'boolean') return text === 'true' ? true : text === 'false' ? false : text;
  return text;
}

/** Turns a CSV row (all strings) into the record shape, typing values by the group's features. */
export function csvRowToRecord(group: FeatureGroup, row: Record<string, string>): unknown {
  const types = new Map(group.features.map((f) => [f.name, f.type]));
  const values: Record<string, unknown> = {};
  for (const [column, text] of Object.entries(row)) {
    if (column === 'entityId' || column === 'eventTime') continue;
    values[column] = csvCell(types.get(column), text);
  }
  return { entityId: row.entityId, eventTime: row.eventTime, values };
}

interface ParsedRow {
  readonly line: number;
  readonly value?: unknown;
  readonly problem?: FieldProblem;
}

async function* csvRows(
  toValue: (row: Record<string, string>) => unknown,
  body: Readable,
): AsyncGenerator<ParsedRow> {
  const parser = parse(CSV_OPTIONS);
  // pipe() does not forward a download error; without this the parser would wait forever.
  body.once('error', (e) => parser.destroy(e));
  body.pipe(parser);
  let line = 1;
  for await (const row of parser as AsyncIterable<Record<string, string>>) {
    line++;
    yield { line, value: toValue(row) };
  }
}

async function* jsonlRows(body: Readable): AsyncGenerator<ParsedRow> {
  let line = 0;
  for await (const text of createInterface({ input: body, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() === '') continue;
    try {
      yield { line, value: JSON.parse(text) as unknown };
    } catch {
      yield { line, problem: { field: '(line)', problem: 'is not valid JSON' } };
    }
  }
}

/** Validates and writes one chunk of parsed rows; `rejected` indexes are positions in `values`. */
export type ChunkWriter<Outcome extends string> = (values: readonly unknown[]) => Promise<{
  readonly acceptedCount: number;
  readonly rejected: readonly Rejection[];
  readonly outcomes: readonly Outcome[];
}>;

/** Where a bulk file is and where its report goes, and how its rows become values. */
export interface BulkFileOptions<Outcome extends string> {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly format: BulkFormat;
  readonly quarantineKey: string;
  readonly summaryKey: string;
  /** Every outcome a written row may have, each counted from 0. */
  readonly outcomeNames: readonly Outcome[];
  /**
   * How rows are read and written, or a problem that rejects every row (an unknown target):
   * each row is then kept, with the reason, rather than dropped.
   */
  readonly target:
    | { readonly csvRow: (row: Record<string, string>) => unknown; readonly write: ChunkWriter<Outcome> }
    | { readonly refuse: FieldProblem };
}

/** Streams one bulk object through `target`, quarantines its rejects and stores the counts. */
export async function ingestBulkRows<Outcome extends string, Summary extends BulkCounts<Outcome>>(
  o: BulkFileOptions<Outcome>,
  summarize: (counts: BulkCounts<Outcome>) => Summary,
): Promise<Summary> {
  const object = await o.s3.send(new GetObjectCommand({ Bucket: o.bucket, Key: o.key }));
  if (!object.Body) throw new Error(`s3://${o.bucket}/${o.key} has no body`);
  const body = object.Body as Readable;

  const work = mkdtempSync(join(tmpdir(), 'bulk-'));
  const rejectedFile = join(work, 'rejected.jsonl');
  const rejectedOut = createWriteStream(rejectedFile);
  const outcomes = Object.fromEntries(o.outcomeNames.map((n) => [n, 0])) as Record<Outcome, number>;
  let rows = 0;
  let accepted = 0;
  let rejected = 0;
  const reject = async (line: number, problems: readonly FieldProblem[], row?: unknown) => {
    rejected++;
    if (!rejectedOut.write(`${JSON.stringify({ line, problems, row })}\n`)) await once(rejectedOut, 'drain');
  };
  try {
    const target = o.target;
    if ('refuse' in target) {
      for await (const text of createInterface({ input: body })) {
        rows++;
        await reject(rows, [target.refuse], text);
      }
    } else {
      let chunk: ParsedRow[] = [];
      const flush = async () => {
        const valid = chunk.filter((r) => r.problem === undefined);
        for (const r of chunk) if (r.problem) await reject(r.line, [r.problem]);
        const written = await target.write(valid.map((r) => r.value));
        for (const b of written.rejected) {
          await reject(valid[b.index]?.line ?? -1, b.problems, valid[b.index]?.value);
        }
        for (const outcome of written.outcomes) outcomes[outcome]++;
        accepted += written.acceptedCount;
        chunk = [];
      };
      const source = o.format === 'csv' ? csvRows(target.csvRow, body) : jsonlRows(body);
      for await (const row of source) {
        rows++;
        chunk.push(row);
        if (chunk.length >= BULK_CHUNK_ROWS) await flush();
      }
      await flush();
    }
    rejectedOut.end();
    await once(rejectedOut, 'finish');
    if (rejected > 0) {
      await new Upload({
        client: o.s3,
        params: {
          Bucket: o.bucket,
          Key: o.quarantineKey,
          Body: createReadStream(rejectedFile),
          ContentType: 'application/x-ndjson',
        },
      }).done();
    }
    const summary = summarize({
      source: { bucket: o.bucket, key: o.key, etag: object.ETag ?? null },
      format: o.format,
      rows,
      accepted,
      rejected,
      outcomes,
      quarantineKey: rejected > 0 ? o.quarantineKey : null,
      summaryKey: o.summaryKey,
    });
    await o.s3.send(
      new PutObjectCommand({
        Bucket: o.bucket,
        Key: o.summaryKey,
        Body: JSON.stringify(summary, null, 2),
        ContentType: 'application/json',
      }),
    );
    return summary;
  } finally {
    rejectedOut.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Ingests one bulk feature file; returns (and stores) its summary. */
export function ingestBulkObject(
  ctx: IngestContext,
  groups: ReadonlyMap<string, FeatureGroup>,
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<BulkSummary> {
  const { group: groupName, name, format } = parseIngestKey(key);
  const group = groups.get(groupName);
  return ingestBulkRows<RecordResult['outcome'], BulkSummary>(
    {
      s3,
      bucket,
      key,
      format,
      quarantineKey: `quarantine/${groupName}/${name}.rejected.jsonl`,
      summaryKey: `quarantine/${groupName}/${name}.summary.json`,
      outcomeNames: ['updated', 'stale', 'duplicate'],
      target: group
        ? {
            csvRow: (row) => csvRowToRecord(group, row),
            write: async (values) => {
              const { accepted, rejected } = validateRecords(group, values, ctx.now);
              const results = await writeRecords(ctx, group, accepted);
              return { acceptedCount: accepted.length, rejected, outcomes: results.map((r) => r.outcome) };
            },
          }
        : { refuse: { field: 'group', problem: `unknown feature group '${groupName}'` } },
    },
    (counts) => ({ ...counts, group: groupName }),
  );
}
