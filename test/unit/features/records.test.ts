import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FeatureGroup, FeatureGroupSchema } from '../../../shared/config/use-case.ts';
import { validateRecords } from '../../../shared/features/ingest.ts';
import {
  DYNAMODB_MIN_MAGNITUDE,
  dynamoNumberProblem,
  EntityIdSchema,
  eventTimeSchema,
  MAX_STORED_MAGNITUDE,
} from '../../../shared/features/records.ts';

const group: FeatureGroup = FeatureGroupSchema.parse({
  name: 'sensors',
  entity: 'sensor',
  ttlSeconds: 3600,
  features: [
    { name: 'ratio', type: 'number', min: 0, max: 1 },
    { name: 'reading', type: 'number' },
  ],
});
const now = () => Date.parse('2026-01-01T00:00:00Z');
const record = (values: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  entityId: 'S1',
  eventTime: '2025-12-31T00:00:00Z',
  values: { ratio: 0.5, reading: 1, ...values },
  ...extra,
});

describe('values the stores cannot hold', () => {
  it.each([
    ['a subnormal that passes min 0', { ratio: 1e-320 }, 'values.ratio', 'at least 1e-130'],
    ['just under the smallest DynamoDB magnitude', { reading: -9e-131 }, 'values.reading', 'at least 1e-130'],
    [
      'beyond the largest DynamoDB magnitude',
      { reading: 1e126 },
      'values.reading',
      'at most 9007199254740991',
    ],
    [
      'beyond what the document client writes exactly',
      { reading: 2 ** 53 },
      'values.reading',
      'at most 9007199254740991',
    ],
    ['-0, which DynamoDB stores as 0', { reading: -0 }, 'values.reading', 'must not be -0'],
  ])('refuses %s, naming the field', (_what, values, field, problem) => {
    // Act
    const { accepted, rejected } = validateRecords(group, [record(values)], now);
    // Assess
    expect(accepted).toEqual([]);
    expect(rejected[0]?.problems).toEqual([
      expect.objectContaining({ field, problem: expect.stringContaining(problem) }),
    ]);
  });

  it('accepts 0 and the extremes DynamoDB does hold', () => {
    const { accepted } = validateRecords(
      group,
      [record({ ratio: 0, reading: DYNAMODB_MIN_MAGNITUDE }), record({ reading: -Number.MAX_SAFE_INTEGER })],
      now,
    );
    expect(accepted).toHaveLength(2);
  });

  it('refuses exactly the doubles DynamoDB cannot store (property over all doubles)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const magnitude = Math.abs(n);
        const storable =
          !Object.is(n, -0) &&
          (magnitude === 0 || (magnitude >= 1e-130 && magnitude <= MAX_STORED_MAGNITUDE));
        expect(dynamoNumberProblem(n) === undefined).toBe(storable);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('entity IDs and event times', () => {
  it.each([
    ['NUL', 'A\u0000B'],
    ['a right-to-left override', 'ORD\u202E'],
    ['a zero-width space', 'OR\u200BD'],
    ['a byte-order mark', '\uFEFFORD'],
    ['a bell', 'ORD\u0007'],
  ])('refuses an entity ID holding %s', (_what, id) => {
    const parsed = EntityIdSchema.safeParse(id);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.message).join('; ')).toContain(
      'control or invisible format characters',
    );
  });

  it('accepts letters of any script, digits and punctuation other than # and /', () => {
    for (const id of ['ORD', 'KÖLN-1', '東京', 'a.b_c:d@e+f'])
      expect(EntityIdSchema.safeParse(id).success).toBe(true);
  });

  it('refuses an eventTime before the Unix epoch and accepts the epoch itself', () => {
    const schema = eventTimeSchema(now);
    expect(schema.safeParse('0001-01-01T00:00:00Z').error?.issues[0]?.message).toBe(
      'must not be before 1970-01-01T00:00:00.000Z',
    );
    expect(schema.safeParse('1969-12-31T23:59:59.999Z').success).toBe(false);
    expect(schema.parse('1970-01-01T00:00:00Z')).toBe('1970-01-01T00:00:00.000Z');
  });
});
