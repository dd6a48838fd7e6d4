import { describe, expect, it } from 'vitest';
import { EntityIdSchema, toFeatureRecord } from '../../../shared/features/records.ts';
import {
  CanonicalJsonError,
  canonicalJson,
  GENESIS_HASH,
  linkHash,
  sha256Hex,
} from '../../../shared/ledger/canonical.ts';
import { LedgerEventSchema } from '../../../shared/ledger/events.ts';
import { edgeExportHistory, sampleHistory } from '../../support/ledger-history.ts';

describe('canonicalJson (RFC 8785)', () => {
  it('sorts keys at every level and drops insignificant whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same bytes whatever the insertion order', () => {
    expect(canonicalJson({ x: 1, y: 2 })).toBe(canonicalJson({ y: 2, x: 1 }));
  });

  it('writes numbers in the shortest round-trip form (RFC 8785 test vectors)', () => {
    expect(canonicalJson([1e21, 1e-7, 0.1, 333333333.3333333, 4.5, 2e-3, 1e23])).toBe(
      '[1e+21,1e-7,0.1,333333333.3333333,4.5,0.002,1e+23]',
    );
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-0', -0],
    ['a Date', new Date(0)],
    ['a bigint', 1n],
    ['a lone surrogate', '\uD800x'],
  ])('refuses %s rather than change its meaning', (_, value) => {
    expect(() => canonicalJson({ v: value })).toThrow(CanonicalJsonError);
  });

  it('refuses undefined inside arrays but treats an undefined property as absent', () => {
    expect(() => canonicalJson([1, undefined])).toThrow('undefined would be written as null');
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });
});

describe('linkHash', () => {
  it('is sha256(prevHash + canonical event), hex', () => {
    expect(linkHash(GENESIS_HASH, '{"a":1}')).toBe(sha256Hex(`${GENESIS_HASH}{"a":1}`));
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('LedgerEventSchema', () => {
  it('accepts every event of the sample history, which covers all fourteen types', () => {
    const events = sampleHistory();
    for (const e of events) expect(LedgerEventSchema.safeParse(e).success, e.eventId).toBe(true);
    expect(new Set(events.map((e) => e.type)).size).toBe(14);
  });

  it('rejects NaN metrics, unknown fields and a bad decision', () => {
    const [, , completed] = sampleHistory();
    expect(LedgerEventSchema.safeParse({ ...completed, metrics: { auc: Number.NaN } }).success).toBe(false);
    expect(LedgerEventSchema.safeParse({ ...completed, extra: 1 }).success).toBe(false);
    const approval = sampleHistory().find((e) => e.type === 'ApprovalRecorded');
    expect(LedgerEventSchema.safeParse({ ...approval, decision: 'maybe' }).success).toBe(false);
  });

  it('accepts both edge export events, and refuses an export whose gate did not pass or a NaN figure', () => {
    const [exported, refused] = edgeExportHistory();
    expect(LedgerEventSchema.safeParse(exported).success).toBe(true);
    expect(LedgerEventSchema.safeParse(refused).success).toBe(true);
    const e = exported as Extract<typeof exported, { type: 'EdgeModelExported' }>;
    expect(LedgerEventSchema.safeParse({ ...e, parity: { ...e.parity, passed: false } }).success).toBe(false);
    expect(
      LedgerEventSchema.safeParse({ ...e, parity: { ...e.parity, maxAbsDelta: Number.NaN } }).success,
    ).toBe(false);
    const { objects: _, ...unpublished } = e;
    expect(LedgerEventSchema.safeParse(unpublished).success).toBe(false);
    expect(() => canonicalJson(exported)).not.toThrow();
  });

  it('requires the reproducibility manifest on training events', () => {
    const [, started] = sampleHistory();
    const { manifest: _, ...withoutManifest } = started as Record<string, unknown>;
    expect(LedgerEventSchema.safeParse(withoutManifest).success).toBe(false);
  });
});

describe('feature record IDs (same canonical JSON as the ledger)', () => {
  it('gives -0 the ID of 0, as JSON stores it, instead of refusing it', () => {
    const input = { entityId: 'e-1', eventTime: '2025-03-01T00:00:00.000Z' };
    const zero = toFeatureRecord('g', { ...input, values: { delay: 0 } });
    const negativeZero = toFeatureRecord('g', { ...input, values: { delay: -0 } });
    expect(negativeZero.recordId).toBe(zero.recordId);
    expect(zero.recordId).toBe(
      sha256Hex('{"entityId":"e-1","eventTime":"2025-03-01T00:00:00.000Z","group":"g","values":{"delay":0}}'),
    );
  });

  it('rejects an entity ID with a lone surrogate at validation, before hashing', () => {
    expect(EntityIdSchema.safeParse('e-\uD800').success).toBe(false);
    expect(EntityIdSchema.safeParse('e-\uD83D\uDE00').success).toBe(true);
  });
});
