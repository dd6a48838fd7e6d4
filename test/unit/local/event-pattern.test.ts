import { describe, expect, it } from 'vitest';
import { matchesPattern } from '../../../infra/local/event-pattern.ts';
import { toEventBridgeEvent } from '../../../infra/local/triggers.ts';

const event = toEventBridgeEvent(
  {
    eventName: 'ObjectCreated:Put',
    eventTime: '2026-01-01T00:00:00.000Z',
    s3: { bucket: { name: 'datasets' }, object: { key: 'ingest/airport-delays/a.csv', size: 10 } },
  },
  'us-east-1',
  '000000000000',
);

describe('event patterns', () => {
  it('matches the bulk-ingest rule on bucket and key prefix', () => {
    const pattern = {
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['datasets'] }, object: { key: [{ prefix: 'ingest/' }] } },
    };
    expect(matchesPattern(pattern, event)).toBe(true);
    expect(matchesPattern({ ...pattern, detail: { bucket: { name: ['other'] } } }, event)).toBe(false);
    expect(
      matchesPattern({ ...pattern, detail: { object: { key: [{ prefix: 'quarantine/' }] } } }, event),
    ).toBe(false);
  });

  it('supports exists, suffix and anything-but', () => {
    expect(matchesPattern({ detail: { object: { key: [{ suffix: '.csv' }] } } }, event)).toBe(true);
    expect(matchesPattern({ detail: { object: { versionId: [{ exists: false }] } } }, event)).toBe(true);
    expect(matchesPattern({ detail: { object: { key: [{ exists: true }] } } }, event)).toBe(true);
    expect(matchesPattern({ source: [{ 'anything-but': ['aws.s3'] }] }, event)).toBe(false);
  });

  it('refuses an operator it does not know rather than matching silently', () => {
    expect(() => matchesPattern({ source: [{ wildcard: 'aws.*' }] }, event)).toThrow(
      'unsupported event-pattern operator',
    );
  });

  it('maps deletions to Object Deleted', () => {
    const deleted = toEventBridgeEvent(
      {
        eventName: 'ObjectRemoved:Delete',
        eventTime: 'x',
        s3: { bucket: { name: 'b' }, object: { key: 'k' } },
      },
      'us-east-1',
      '0',
    );
    expect(deleted['detail-type']).toBe('Object Deleted');
  });

  it.each([
    ['ObjectCreated:Put', 'PutObject'],
    ['ObjectCreated:Post', 'CompleteMultipartUpload'],
    ['ObjectCreated:Copy', 'CopyObject'],
    ['ObjectRemoved:Delete', 'DeleteObject'],
  ])('names the S3 operation of %s as EventBridge does (%s)', (eventName, reason) => {
    const mapped = toEventBridgeEvent(
      { eventName, eventTime: 'x', s3: { bucket: { name: 'b' }, object: { key: 'k' } } },
      'us-east-1',
      '0',
    );
    expect(mapped.detail).toMatchObject({ reason });
  });
});
