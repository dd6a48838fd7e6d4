import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SnapshotRow } from '../../../shared/features/dataset.ts';
import {
  buildEncoding,
  EncodingError,
  encodeLabeledRow,
  encodeSnapshotFile,
  featureEncoder,
} from '../../../shared/pipeline/encoding.ts';

const schema = [
  { name: 'rate', type: 'number' },
  { name: 'hour', type: 'integer' },
  { name: 'origin', type: 'categorical' },
  { name: 'holiday', type: 'boolean' },
];

let work: string | undefined;
afterEach(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  work = undefined;
});

describe('CSV encoding for XGBoost', () => {
  it('puts the label first, then the features in schema order, with no header', () => {
    const encoding = buildEncoding(schema, 'delayed', [{ origin: 'ORD' }]);
    const line = encodeLabeledRow(featureEncoder(encoding), 1, {
      rate: 0.25,
      hour: 7,
      origin: 'ORD',
      holiday: true,
    });
    expect(line).toBe('1,0.25,7,0,1');
  });

  it('codes categories by their sorted order in the train rows', () => {
    const encoding = buildEncoding(schema, 'y', [
      { origin: 'ORD' },
      { origin: 'ATL' },
      { origin: 'LAX' },
      { origin: 'ATL' },
    ]);
    expect(encoding.features.find((f) => f.name === 'origin')).toEqual({
      name: 'origin',
      type: 'categorical',
      vocabulary: ['ATL', 'LAX', 'ORD'],
    });
    const encode = featureEncoder(encoding);
    expect(encode({ rate: 1, hour: 0, origin: 'LAX', holiday: false })).toBe('1,0,1,0');
  });

  it('sorts by code unit, not locale, so codes are the same on every runtime', () => {
    const encoding = buildEncoding(schema, 'y', [{ origin: 'b' }, { origin: 'B' }, { origin: 'a' }]);
    const origin = encoding.features.find((f) => f.name === 'origin');
    expect(origin && 'vocabulary' in origin ? origin.vocabulary : []).toEqual(['B', 'a', 'b']);
  });

  it('writes an unseen category and a null as empty fields (missing to XGBoost)', () => {
    const encode = featureEncoder(buildEncoding(schema, 'y', [{ origin: 'ORD' }]));
    expect(encode({ rate: null, hour: 3, origin: 'SFO', holiday: null })).toBe(',3,,');
  });

  it('refuses a value of the wrong type instead of guessing', () => {
    const encode = featureEncoder(buildEncoding(schema, 'y', []));
    expect(() => encode({ rate: 'high', hour: 1, origin: 'ORD', holiday: false })).toThrow(EncodingError);
  });

  it('builds the vocabulary from the train split only and writes the four channels', async () => {
    work = mkdtempSync(join(tmpdir(), 'encoding-test-'));
    const row = (
      split: SnapshotRow['split'],
      origin: string,
      label: 0 | 1,
      rate: number | null,
    ): SnapshotRow => ({
      labelId: `${split}-${origin}-${rate}`,
      eventTime: '2001-01-01T10:00:00.000Z',
      entities: { airport: origin },
      label,
      features: { rate, hour: 10, origin, holiday: false },
      featureTimes: {},
      split,
    });
    const rows = [
      row('train', 'ORD', 1, 0.5),
      row('validation', 'DFW', 0, 0.1),
      row('train', 'ATL', 0, null),
      row('test', 'SFO', 1, 0.3),
      row('test', 'ORD', 0, 0.2),
    ];
    const snapshot = join(work, 'data.jsonl');
    writeFileSync(snapshot, `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const files = {
      train: join(work, 'train.csv'),
      validation: join(work, 'validation.csv'),
      testFeatures: join(work, 'features.csv'),
      testLabels: join(work, 'labels.csv'),
    };
    const out = await encodeSnapshotFile(snapshot, schema, 'delayed', files);
    const origin = out.encoding.features.find((f) => f.name === 'origin');
    // DFW appears only in validation and SFO only in test: neither gets a code.
    expect(origin && 'vocabulary' in origin ? origin.vocabulary : []).toEqual(['ATL', 'ORD']);
    expect(out.rows).toEqual({ train: 2, validation: 1, test: 2 });
    expect(readFileSync(files.train, 'utf8')).toBe('1,0.5,10,1,0\n0,,10,0,0\n');
    expect(readFileSync(files.validation, 'utf8')).toBe('0,0.1,10,,0\n');
    expect(readFileSync(files.testFeatures, 'utf8')).toBe('0.3,10,,0\n0.2,10,1,0\n');
    expect(readFileSync(files.testLabels, 'utf8')).toBe('1\n0\n');
  });
});
