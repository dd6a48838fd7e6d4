import { describe, expect, it } from 'vitest';
import type { LocalSchedule } from '../../../infra/local/model.ts';
import { startScheduler } from '../../../infra/local/scheduler.ts';

const schedule = (expression: string): LocalSchedule => ({
  stack: 'Test',
  logicalId: 'Monthly',
  name: 'monthly',
  arn: 'arn:aws:events:us-east-1:000000000000:rule/monthly',
  expression,
  enabled: true,
  targets: [{ arn: 'arn:aws:lambda:us-east-1:000000000000:function:f' }],
});

describe('the local scheduler', () => {
  it('leaves a rate longer than a timer can wait to tick, instead of firing every millisecond', async () => {
    // Prepare
    const fired: string[] = [];
    const logs: string[] = [];
    // Act
    const scheduler = startScheduler({
      schedules: [schedule('rate(30 days)')],
      fire: async (s) => fired.push(s.name),
      auto: true,
      log: (line) => logs.push(line),
    });
    await new Promise((r) => setTimeout(r, 50));
    const ticked = await scheduler.tick('monthly');
    scheduler.stop();
    // Assess
    expect(fired).toEqual(['monthly']);
    expect(ticked).toHaveLength(1);
    expect(logs.join('\n')).toContain('rate(30 days) is longer than a timer can wait');
  });
});
