/**
 * The monitor checks each prediction-log line field by field (logLineOf) instead of building a
 * zod copy of every line; the schema stays the contract. Both must accept and refuse the same
 * lines: real lines, lines with one field broken, and arbitrary JSON.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LogLineSchema, logLineOf } from '../../../shared/monitoring/log-reader.ts';

const valid = {
  requestId: 'req-1',
  time: '2026-05-28T20:26:40.000Z',
  useCase: 'flight-delay',
  modelVersion: 'flight-delay-v1',
  features: { delayRate2h: 0.189, flights2h: 34, origin: 'DFW', late: true, gate: null },
  score: 0.45,
  captureData: { endpointInput: { data: '0.189,34' } },
  eventMetadata: { eventId: 'req-1', inferenceId: 'req-1' },
};

/** The two answers for one parsed line: accepted or not, and what is kept. */
function both(raw: unknown) {
  const parsed = LogLineSchema.safeParse(raw);
  const fast = logLineOf(raw);
  const expected = parsed.success
    ? {
        requestId: parsed.data.requestId,
        time: parsed.data.time,
        modelVersion: parsed.data.modelVersion,
        features: parsed.data.features,
        score: parsed.data.score,
        ...(parsed.data.eventMetadata ? { eventId: parsed.data.eventMetadata.eventId } : {}),
      }
    : undefined;
  return { expected, fast };
}

const broken: [string, unknown][] = [
  ['requestId empty', { ...valid, requestId: '' }],
  ['requestId a number', { ...valid, requestId: 7 }],
  ['time not ISO', { ...valid, time: '2026-05-28 20:26:40' }],
  ['time with an offset', { ...valid, time: '2026-05-28T20:26:40+02:00' }],
  ['time on 30 February', { ...valid, time: '2026-02-30T20:26:40.000Z' }],
  ['time missing', { ...valid, time: undefined }],
  ['modelVersion missing', { ...valid, modelVersion: undefined }],
  ['features an array', { ...valid, features: [1, 2] }],
  ['features null', { ...valid, features: null }],
  ['a feature an object', { ...valid, features: { a: { b: 1 } } }],
  ['a feature an array', { ...valid, features: { a: [1] } }],
  ['score a string', { ...valid, score: '0.4' }],
  ['score missing', { ...valid, score: undefined }],
  ['eventMetadata without eventId', { ...valid, eventMetadata: {} }],
  ['eventMetadata.eventId empty', { ...valid, eventMetadata: { eventId: '' } }],
  ['eventMetadata a string', { ...valid, eventMetadata: 'req-1' }],
  ['not an object', 'req-1'],
  ['an array', [valid]],
  ['null', null],
];

describe('logLineOf, against LogLineSchema', () => {
  it('keeps what the schema keeps of a real line', () => {
    const { expected, fast } = both(valid);
    expect(fast).toEqual(expected);
    expect(fast?.eventId).toBe('req-1');
    expect(both({ ...valid, eventMetadata: undefined }).fast).toEqual(
      both({ ...valid, eventMetadata: undefined }).expected,
    );
  });

  it.each(broken)('refuses what the schema refuses: %s', (_, raw) => {
    const { expected, fast } = both(JSON.parse(JSON.stringify(raw ?? null)));
    expect(expected).toBeUndefined();
    expect(fast).toBeUndefined();
  });

  it('answers as the schema does on arbitrary JSON and on real lines with one field replaced', () => {
    const field = fc.constantFrom('requestId', 'time', 'modelVersion', 'features', 'score', 'eventMetadata');
    const value = fc.oneof(
      fc.jsonValue(),
      fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      fc.dictionary(
        fc.string(),
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.string(),
          fc.boolean(),
          fc.constant(null),
        ),
      ),
      fc.record({ eventId: fc.string() }),
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.tuple(field, value).map(([k, v]) => ({ ...valid, [k]: v })),
        ),
        (raw) => {
          const parsed = JSON.parse(JSON.stringify(raw ?? null)) as unknown;
          const { expected, fast } = both(parsed);
          expect(fast).toEqual(expected);
        },
      ),
      { seed: 20261204, numRuns: 2000 },
    );
  });
});
