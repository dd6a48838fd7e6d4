/**
 * Encodes snapshot rows for SageMaker's built-in XGBoost: CSV, label first, no header. Numbers as
 * they are, booleans as 1/0, categoricals as integer codes of a vocabulary built on the train
 * split only (so nothing about validation or test leaks into the inputs), and every missing value
 * (null, an unseen category) as an empty field, which XGBoost reads as missing.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import * as z from 'zod';
import type { SnapshotRow, Split } from '../features/dataset.ts';
import type { FeatureValue } from '../features/records.ts';

/** A column of the snapshot schema (the dataset manifest's `schema`). */
export interface SchemaColumn {
  readonly name: string;
  readonly type: string;
}

/** How one feature is encoded. */
export type EncodedFeature =
  | { readonly name: string; readonly type: 'number' | 'integer' | 'boolean' }
  | {
      readonly name: string;
      readonly type: 'categorical';
      /** Sorted train-split categories; a category's code is its index. */
      readonly vocabulary: readonly string[];
    };

/** The encoding of a run, written as `encoding.json` so serving can encode requests the same way. */
export interface Encoding {
  readonly format: 'csv, label first, no header; empty field = missing';
  readonly label: string;
  /** In column order, after the label. */
  readonly features: readonly EncodedFeature[];
}

/** `encoding.json` as BuildDataset writes it, for readers that take it from S3 (the edge export). */
export const EncodingSchema = z.strictObject({
  format: z.literal('csv, label first, no header; empty field = missing'),
  label: z.string().min(1),
  features: z.array(
    z.discriminatedUnion('type', [
      z.strictObject({ name: z.string().min(1), type: z.enum(['number', 'integer', 'boolean']) }),
      z.strictObject({
        name: z.string().min(1),
        type: z.literal('categorical'),
        vocabulary: z.array(z.string()),
      }),
    ]),
  ),
}) satisfies z.ZodType<Encoding>;

/** A value cannot be encoded for its column's type. */
export class EncodingError extends Error {
  override readonly name: string = 'EncodingError';
}

const KNOWN_TYPES = new Set(['number', 'integer', 'boolean', 'categorical']);

function checkSchema(schema: readonly SchemaColumn[]): void {
  const bad = schema.find((c) => !KNOWN_TYPES.has(c.type));
  if (bad) throw new EncodingError(`feature ${bad.name} has type ${bad.type}, which cannot be encoded`);
}

/** Collects the categories of the categorical columns, from train rows only. */
export class VocabularyBuilder {
  private readonly seen = new Map<string, Set<string>>();

  constructor(private readonly schema: readonly SchemaColumn[]) {
    checkSchema(schema);
    for (const c of schema) if (c.type === 'categorical') this.seen.set(c.name, new Set());
  }

  /** Adds one train row's features. */
  add(features: Readonly<Record<string, FeatureValue>>): void {
    for (const [name, set] of this.seen) {
      const v = features[name];
      if (typeof v === 'string' && v !== '') set.add(v);
    }
  }

  /** The encoding: vocabularies sorted by code unit, so the codes do not depend on the runtime's locale. */
  result(label: string): Encoding {
    return {
      format: 'csv, label first, no header; empty field = missing',
      label,
      features: this.schema.map((c): EncodedFeature => {
        if (c.type === 'categorical') {
          const vocabulary = [...(this.seen.get(c.name) ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
          return { name: c.name, type: 'categorical', vocabulary };
        }
        return { name: c.name, type: c.type as 'number' | 'integer' | 'boolean' };
      }),
    };
  }
}

/** Builds the encoding from train rows in one call (for small inputs and tests). */
export function buildEncoding(
  schema: readonly SchemaColumn[],
  label: string,
  trainFeatures: Iterable<Readonly<Record<string, FeatureValue>>>,
): Encoding {
  const builder = new VocabularyBuilder(schema);
  for (const f of trainFeatures) builder.add(f);
  return builder.result(label);
}

/** Turns an encoding into a fast row encoder: features in, CSV fields (without the label) out. */
export function featureEncoder(
  encoding: Encoding,
): (features: Readonly<Record<string, FeatureValue>>) => string {
  const columns = encoding.features.map((f) => {
    if (f.type !== 'categorical') return { feature: f, codes: undefined };
    return { feature: f, codes: new Map(f.vocabulary.map((v, i) => [v, i])) };
  });
  return (features) =>
    columns
      .map(({ feature, codes }) => {
        const v = features[feature.name];
        if (v === null || v === undefined) return '';
        switch (feature.type) {
          case 'number':
          case 'integer':
            if (typeof v !== 'number') {
              throw new EncodingError(
                `feature ${feature.name} is ${feature.type} but holds ${JSON.stringify(v)}`,
              );
            }
            return Number.isFinite(v) ? String(v) : '';
          case 'boolean':
            if (typeof v !== 'boolean') {
              throw new EncodingError(`feature ${feature.name} is boolean but holds ${JSON.stringify(v)}`);
            }
            return v ? '1' : '0';
          case 'categorical': {
            if (typeof v !== 'string') {
              throw new EncodingError(
                `feature ${feature.name} is categorical but holds ${JSON.stringify(v)}`,
              );
            }
            const code = codes?.get(v);
            return code === undefined ? '' : String(code);
          }
        }
        return '';
      })
      .join(',');
}

/** A training line: the label, then the encoded features. */
export function encodeLabeledRow(
  encode: (features: Readonly<Record<string, FeatureValue>>) => string,
  label: 0 | 1,
  features: Readonly<Record<string, FeatureValue>>,
): string {
  return `${label},${encode(features)}`;
}

/** Local files of the encoded channels. */
export interface EncodedFiles {
  readonly train: string;
  readonly validation: string;
  readonly testFeatures: string;
  readonly testLabels: string;
}

/** What {@link encodeSnapshotFile} wrote. */
export interface EncodedSnapshot {
  readonly encoding: Encoding;
  readonly rows: Readonly<Record<Split, number>>;
}

async function* snapshotRows(file: string): AsyncGenerator<SnapshotRow> {
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const line of lines) {
    if (line.trim() !== '') yield JSON.parse(line) as SnapshotRow;
  }
}

async function writeLine(out: WriteStream, line: string): Promise<void> {
  if (!out.write(`${line}\n`)) await once(out, 'drain');
}

async function closeAll(streams: readonly WriteStream[]): Promise<void> {
  await Promise.all(
    streams.map(async (s) => {
      s.end();
      await once(s, 'finish');
    }),
  );
}

/**
 * Encodes a snapshot file (JSON lines of SnapshotRow) into the four channel files, in two
 * streaming passes: vocabularies from the train rows, then every row. Memory holds only the
 * vocabularies.
 */
export async function encodeSnapshotFile(
  snapshotFile: string,
  schema: readonly SchemaColumn[],
  label: string,
  out: EncodedFiles,
): Promise<EncodedSnapshot> {
  const builder = new VocabularyBuilder(schema);
  for await (const row of snapshotRows(snapshotFile)) if (row.split === 'train') builder.add(row.features);
  const encoding = builder.result(label);
  const encode = featureEncoder(encoding);
  const streams = {
    train: createWriteStream(out.train),
    validation: createWriteStream(out.validation),
    testFeatures: createWriteStream(out.testFeatures),
    testLabels: createWriteStream(out.testLabels),
  };
  const rows: Record<Split, number> = { train: 0, validation: 0, test: 0 };
  try {
    for await (const row of snapshotRows(snapshotFile)) {
      rows[row.split]++;
      if (row.split === 'test') {
        await writeLine(streams.testFeatures, encode(row.features));
        await writeLine(streams.testLabels, String(row.label));
      } else {
        await writeLine(streams[row.split], encodeLabeledRow(encode, row.label, row.features));
      }
    }
  } finally {
    await closeAll(Object.values(streams));
  }
  return { encoding, rows };
}
