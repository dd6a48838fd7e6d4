/**
 * EventBridge schedules for the local cloud: fired on demand (`tick`) or, when `auto` is set, on
 * their real period. `rate(...)` runs on a timer; a `cron(...)` rule fires only on demand.
 */
import type { LocalPlacement, LocalSchedule } from './model.ts';

/** A schedule target as the rule declares it. */
export interface ScheduleTarget {
  readonly arn: string;
  readonly input?: string;
}

export interface SchedulerOptions {
  readonly schedules: readonly LocalSchedule[];
  /** Delivers one event to one target and resolves with what it returned. */
  readonly fire: (schedule: LocalSchedule, target: ScheduleTarget) => Promise<unknown>;
  /** Fire rate() schedules on their period. */
  readonly auto: boolean;
  readonly log: (line: string) => void;
}

/** A running scheduler. */
export interface Scheduler {
  /** Fires the named schedule (or every enabled one) now. */
  tick(scheduleName?: string): Promise<{ schedule: string; target: string; result: unknown }[]>;
  stop(): void;
}

const UNIT_MS: Readonly<Record<string, number>> = {
  minute: 60_000,
  minutes: 60_000,
  hour: 3_600_000,
  hours: 3_600_000,
  day: 86_400_000,
  days: 86_400_000,
};

/** The longest delay setTimeout/setInterval honour (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Period of a `rate(N unit)` expression in ms, or undefined for anything else. */
export function ratePeriodMs(expression: string): number | undefined {
  const m = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const unit = UNIT_MS[m[2]];
  return unit === undefined ? undefined : Number(m[1]) * unit;
}

/** Starts the scheduler. */
export function startScheduler(options: SchedulerOptions): Scheduler {
  const timers: NodeJS.Timeout[] = [];
  const fireSchedule = async (schedule: LocalSchedule) => {
    const results: { schedule: string; target: string; result: unknown }[] = [];
    for (const target of schedule.targets) {
      const result = await options.fire(schedule, target);
      results.push({ schedule: schedule.name, target: target.arn, result });
    }
    return results;
  };
  if (options.auto) {
    for (const schedule of options.schedules.filter((s) => s.enabled)) {
      const period = ratePeriodMs(schedule.expression);
      if (period === undefined) {
        options.log(
          `[scheduler] ${schedule.name}: ${schedule.expression} fires only with 'mlops local tick'`,
        );
        continue;
      }
      if (period > MAX_TIMER_MS) {
        // Node fires a longer interval every millisecond instead: such a schedule is tick-only.
        options.log(
          `[scheduler] ${schedule.name}: ${schedule.expression} is longer than a timer can wait ` +
            `(${MAX_TIMER_MS} ms); it fires only with 'mlops local tick'`,
        );
        continue;
      }
      const timer = setInterval(() => {
        fireSchedule(schedule).catch((e: unknown) =>
          options.log(`[scheduler] ${schedule.name} failed: ${String(e)}`),
        );
      }, period);
      timer.unref();
      timers.push(timer);
    }
  }
  return {
    async tick(name) {
      const chosen = options.schedules.filter((s) =>
        name === undefined ? s.enabled : s.name === name || s.logicalId === name,
      );
      if (name !== undefined && chosen.length === 0) {
        throw new Error(
          `no schedule named '${name}'; known: ${options.schedules.map((s) => s.name).join(', ') || 'none'}`,
        );
      }
      const all = [];
      for (const s of chosen) all.push(...(await fireSchedule(s)));
      return all;
    },
    stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}

/**
 * What EventBridge delivers to a schedule's target: the target's constant input, or else a
 * Scheduled Event naming the rule.
 */
export function scheduledEventFor(
  schedule: Pick<LocalSchedule, 'arn'>,
  target: ScheduleTarget,
  placement: LocalPlacement,
): unknown {
  if (target.input) return JSON.parse(target.input) as unknown;
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: placement.account,
    time: new Date().toISOString(),
    region: placement.region,
    resources: [schedule.arn],
    detail: {},
  };
}
