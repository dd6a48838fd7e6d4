import { describe, expect, it } from 'vitest';
import {
  type ArchiveObjectVersion,
  type ChainArchive,
  settleVersions,
} from '../../../shared/ledger/archive.ts';
import { compareWithArchive } from '../../../shared/ledger/verify.ts';

const KEY = 'ledger/main/events/000000000003.json';
const OTHER = 'ledger/main/events/000000000004.json';
const at = (minute: number) => new Date(Date.UTC(2025, 2, 1, 0, minute));

describe('settleVersions', () => {
  it('keeps the oldest version of a key that was put again with other bytes, and names the key', () => {
    // Prepare: ListObjectVersions order, newest first.
    const versions: ArchiveObjectVersion[] = [
      { key: KEY, lastModified: at(9), body: '{"forged":true}' },
      { key: KEY, lastModified: at(1), body: '{"original":true}' },
      { key: OTHER, lastModified: at(2), body: '{"other":true}' },
    ];
    // Act
    const settled = settleVersions(versions);
    // Assess
    expect(settled.original.get(KEY)).toBe('{"original":true}');
    expect(settled.original.get(OTHER)).toBe('{"other":true}');
    expect(settled.rewrittenKeys).toEqual([KEY]);
  });

  it('accepts versions with identical bytes, as a retried archive batch writes', () => {
    const settled = settleVersions([
      { key: KEY, lastModified: at(5), body: '{"a":1}' },
      { key: KEY, lastModified: at(1), body: '{"a":1}' },
    ]);
    expect(settled.rewrittenKeys).toEqual([]);
    expect(settled.original.get(KEY)).toBe('{"a":1}');
  });

  it('takes the last listed version as the oldest when times tie', () => {
    const settled = settleVersions([
      { key: KEY, lastModified: at(1), body: 'newer' },
      { key: KEY, lastModified: at(1), body: 'older' },
    ]);
    expect(settled.original.get(KEY)).toBe('older');
    expect(settled.rewrittenKeys).toEqual([KEY]);
  });

  it('reads a single current object per key as the original (a store without versions)', () => {
    const settled = settleVersions([{ key: KEY, body: 'only' }]);
    expect(settled.original.get(KEY)).toBe('only');
    expect(settled.rewrittenKeys).toEqual([]);
  });
});

describe('compareWithArchive', () => {
  it('reports a rewritten archive object as an archive mismatch naming the key', () => {
    const archive: ChainArchive = { digests: [], events: [], rewrittenKeys: [KEY] };
    expect(compareWithArchive([], archive)).toMatchObject({
      seq: 3,
      kind: 'archive-mismatch',
      message: expect.stringContaining(KEY),
    });
  });
});
