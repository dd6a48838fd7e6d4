/**
 * Bulk ingestion of a CSV or JSONL object dropped under `ingest/<group>/` in the datasets bucket.
 * Rows are streamed and written in chunks (bounded memory); every rejected row goes, with its
 * reasons, to `quarantine/<group>/<file>.rejected.jsonl`, and a summary is written next to it.
 * Nothing is dropped silently.
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
import { type IngestContext, type RecordResult, validateRecords, writeRecords } from './ingest.ts';

/** Rows validated and written together. */
export const BULK_CHUNK_ROWS = 500;

/** Summary written next to the quarantine file. */
export interface BulkSummary {
  readonly source: { readonly bucket: string; readonly key: string };
  readonly group: string;
  readonly format: 'csv' | 'jsonl';
  readonly rows: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly outcomes: Readonly<Record<RecordResult['outcome'], number>>;
  /** Where rejected rows and their reasons are, or null when there were none. */
  readonly quarantineKey: string | null;
  readonly summaryKey: string;
}

/** The object key does not follow `ingest/<group>/<name>.csv|jsonl`. */
export class BulkKeyError extends Error {
  override readonly name = 'BulkKeyError';
}

/** Parses `ingest/<group>/<name>.<csv|jsonl>`. */
export function parseIngestKey(key: string): { group: string; name: string; format: 'csv' | 'jsonl' } {
  const m = /^ingest\/([a-z][a-z0-9-]*)\/(.+)\.(csv|jsonl)$/.exec(key);
  if (!m?.[1] || !m[2] || !m[3]) {
    throw new BulkKeyError(`object key must look like ingest/<group>/<name>.csv or .jsonl, got "${key}"`);
  }
  return { group: m[1], name: m[2], format: m[3] as 'csv' | 'jsonl' };
}

/** Turns a CSV row (all strings) into the record shape, typing values by the group's features. */
function csvRowToRecord(group: FeatureGroup, row: Record<string, string>): unknown {
  const types = new Map(group.features.map((f) => [f.name, f.type]));
  const values: Record<string, unknown> = {};
  for (const [column, text] of Object.entries(row)) {
    if (column === 'entityId' || column === 'eventTime') continue;
    const type = types.get(column);
    if (text === '') values[column] = null;
    else if (type === 'number' || type === 'integer')
      values[column] = Number.isNaN(Number(text)) ? text : Number(text);
    else if (type === 'boolean') values[column] = text === 'true' ? true : text === 'false' ? false : text;
    else values[column] = text;
  }
  return { entityId: row.entityId, eventTime: row.eventTime, values };
}

interface ParsedRow {
  readonly line: number;
  readonly value?: unknown;
  readonly problem?: FieldProblem;
}

async function* csvRows(group: FeatureGroup, body: Readable): AsyncGenerator<ParsedRow> {
  const parser = parse({ columns: true, skip_empty_lines: true, trim: true, relax_column_count: true });
  // pipe() does not forward a download error; without this the parser would wait forever.
  body.once('error', (e) => parser.destroy(e));
  body.pipe(parser);
  let line = 1;
  for await (const row of parser as AsyncIterable<Record<string, string>>) {
    line++;
    yield { line, value: csvRowToRecord(group, row) };
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

/** Ingests one bulk object; returns (and stores) its summary. */
export async function ingestBulkObject(
  ctx: IngestContext,
  groups: ReadonlyMap<string, FeatureGroup>,
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<BulkSummary> {
  const { group: groupName, name, format } = parseIngestKey(key);
  const quarantineKey = `quarantine/${groupName}/${name}.rejected.jsonl`;
  const summaryKey = `quarantine/${groupName}/${name}.summary.json`;
  const group = groups.get(groupName);
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (!object.Body) throw new Error(`s3://${bucket}/${key} has no body`);
  const body = object.Body as Readable;

  const work = mkdtempSync(join(tmpdir(), 'bulk-'));
  const rejectedFile = join(work, 'rejected.jsonl');
  const rejectedOut = createWriteStream(rejectedFile);
  const outcomes: Record<RecordResult['outcome'], number> = { updated: 0, stale: 0, duplicate: 0 };
  let rows = 0;
  let accepted = 0;
  let rejected = 0;
  const reject = async (line: number, problems: readonly FieldProblem[], row?: unknown) => {
    rejected++;
    if (!rejectedOut.write(`${JSON.stringify({ line, problems, row })}\n`)) await once(rejectedOut, 'drain');
  };
  try {
    if (!group) {
      // Every row is kept, with the reason, rather than dropped.
      for await (const text of createInterface({ input: body })) {
        rows++;
        await reject(rows, [{ field: 'group', problem: `unknown feature group '${groupName}'` }], text);
      }
    } else {
      let chunk: ParsedRow[] = [];
      const flush = async () => {
        const valid = chunk.filter((r) => r.problem === undefined);
        for (const r of chunk) if (r.problem) await reject(r.line, [r.problem]);
        const {
          accepted: records,
          acceptedIndexes,
          rejected: bad,
        } = validateRecords(
          group,
          valid.map((r) => r.value),
          ctx.now,
        );
        for (const b of bad) await reject(valid[b.index]?.line ?? -1, b.problems, valid[b.index]?.value);
        for (const result of await writeRecords(ctx, group, records)) outcomes[result.outcome]++;
        accepted += acceptedIndexes.length;
        chunk = [];
      };
      const source = format === 'csv' ? csvRows(group, body) : jsonlRows(body);
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
        client: s3,
        params: {
          Bucket: bucket,
          Key: quarantineKey,
          Body: createReadStream(rejectedFile),
          ContentType: 'application/x-ndjson',
        },
      }).done();
    }
    const summary: BulkSummary = {
      source: { bucket, key },
      group: groupName,
      format,
      rows,
      accepted,
      rejected,
      outcomes,
      quarantineKey: rejected > 0 ? quarantineKey : null,
      summaryKey,
    };
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: summaryKey,
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
