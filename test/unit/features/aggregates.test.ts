import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Outcome, rollingRate, type WindowValue } from '../../../shared/features/aggregates.ts';

const MIN = 60_000;

async function run(events: { observedAt: number; outcome: Outcome }[], windowMs: number, stepMs: number) {
  async function* source() {
    yield* events;
  }
  const out: WindowValue[] = [];
  for await (const v of rollingRate(source(), { windowMs, stepMs })) out.push(v);
  return out;
}

describe('rollingRate', () => {
  it('uses exactly the outcomes known within (at - window, at] at every boundary', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            observed: fc.integer({ min: 0, max: 600 }),
            delay: fc.integer({ min: 0, max: 180 }),
            entity: fc.constantFrom('ATL', 'ORD'),
            positive: fc.boolean(),
          }),
          { minLength: 1, maxLength: 80 },
        ),
        async (raw) => {
          const events = raw
            .map((r) => ({
              observedAt: r.observed * MIN,
              outcome: { entityId: r.entity, knownAt: (r.observed + r.delay) * MIN, positive: r.positive },
            }))
            .sort((a, b) => a.observedAt - b.observedAt);
          const windowMs = 120 * MIN;
          const values = await run(events, windowMs, 15 * MIN);
          expect(values.length).toBeGreaterThan(0);
          for (const v of values) {
            const inWindow = events
              .map((e) => e.outcome)
              .filter((o) => o.entityId === v.entityId && o.knownAt <= v.at && o.knownAt > v.at - windowMs);
            expect(v.count).toBe(inWindow.length);
            const positives = inWindow.filter((o) => o.positive).length;
            expect(v.rate).toBe(inWindow.length === 0 ? null : positives / inWindow.length);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('does not count a delayed flight before it actually leaves', async () => {
    const values = await run(
      [{ observedAt: 0, outcome: { entityId: 'ATL', knownAt: 40 * MIN, positive: true } }],
      120 * MIN,
      15 * MIN,
    );
    expect(values.filter((v) => v.at < 40 * MIN)).toEqual([]);
    expect(values.find((v) => v.at === 45 * MIN)).toEqual({
      entityId: 'ATL',
      at: 45 * MIN,
      rate: 1,
      count: 1,
    });
  });

  it('rejects events out of observation order', async () => {
    await expect(
      run(
        [
          { observedAt: 10, outcome: { entityId: 'A', knownAt: 10, positive: true } },
          { observedAt: 5, outcome: { entityId: 'A', knownAt: 5, positive: true } },
        ],
        100,
        10,
      ),
    ).rejects.toThrow('ordered by observedAt');
  });
});
