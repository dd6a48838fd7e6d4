/**
 * The alarms of the local CloudWatch and their states. Each alarm is evaluated at every end of
 * one of its periods (aligned to the epoch, as CloudWatch aligns them) and whenever it is read;
 * an evaluation that comes late (nobody read, the timer was starved) catches up on the period
 * ends it missed, so a short ALARM between two reads is still a recorded transition. Periods are
 * multiplied by the cloud's time scale.
 */
import type { LocalAlarm } from '../model.ts';
import { type AlarmStateValue, evaluateAlarm, formatNumber, type PeriodDatapoint } from './evaluation.ts';
import type { MetricStore } from './metrics.ts';
import { isPlainStatistic, isSupportedExtendedStatistic, statisticValue } from './statistics.ts';

/** An alarm as PutMetricAlarm or the template defines it. */
export type AlarmDefinition = Omit<LocalAlarm, 'stack' | 'logicalId' | 'arn'> & {
  /** @default - arn:aws:cloudwatch:<region>:<account>:alarm:<name> */
  readonly arn?: string;
};

/** One state change, as DescribeAlarmHistory reports it. */
export interface AlarmTransition {
  readonly alarmName: string;
  readonly timestamp: Date;
  readonly oldState: AlarmStateValue;
  readonly newState: AlarmStateValue;
  readonly reason: string;
  /** JSON, for changes made by evaluation. */
  readonly reasonData?: string;
}

/** An alarm's definition and current state. */
export interface AlarmSnapshot {
  readonly definition: AlarmDefinition & { readonly arn: string };
  readonly state: AlarmStateValue;
  readonly reason: string;
  readonly reasonData?: string;
  /** When the state last changed. */
  readonly stateUpdated: Date;
  readonly configurationUpdated: Date;
}

/** Raised for an alarm name the registry does not hold. */
export class AlarmNotFoundError extends Error {
  override readonly name: string = 'AlarmNotFoundError';
}

/** Raised for an alarm definition the registry cannot evaluate. */
export class InvalidAlarmDefinitionError extends Error {
  override readonly name: string = 'InvalidAlarmDefinitionError';
}

/**
 * Checks what evaluation relies on, so that a bad in-process definition fails when it is put
 * rather than later, inside the evaluation timer.
 */
function checkDefinition(d: AlarmDefinition): void {
  const bad = (what: string) => new InvalidAlarmDefinitionError(`Alarm ${d.name}: ${what}`);
  if ((d.statistic === undefined) === (d.extendedStatistic === undefined)) {
    throw bad('exactly one of statistic and extendedStatistic is required');
  }
  if (d.statistic !== undefined && !isPlainStatistic(d.statistic))
    throw bad(`unknown statistic ${d.statistic}`);
  if (d.extendedStatistic !== undefined && !isSupportedExtendedStatistic(d.extendedStatistic)) {
    throw bad(
      `extended statistic ${d.extendedStatistic} is not computed locally; use a percentile such as p99`,
    );
  }
  if (!(d.periodSeconds > 0)) throw bad(`periodSeconds must be > 0, got ${d.periodSeconds}`);
  if (!Number.isInteger(d.evaluationPeriods) || d.evaluationPeriods < 1) {
    throw bad(`evaluationPeriods must be an integer >= 1, got ${d.evaluationPeriods}`);
  }
  const m = d.datapointsToAlarm;
  if (m !== undefined && (!Number.isInteger(m) || m < 1 || m > d.evaluationPeriods)) {
    throw bad(
      `datapointsToAlarm must be an integer from 1 to evaluationPeriods (${d.evaluationPeriods}), got ${m}`,
    );
  }
  if (!Number.isFinite(d.threshold)) throw bad(`threshold must be a finite number, got ${d.threshold}`);
}

/** At most this many missed period ends are caught up on; older ones no longer matter. */
const MAX_CATCH_UP = 1000;
/** State changes kept for DescribeAlarmHistory (CloudWatch keeps two weeks' worth). */
const MAX_HISTORY = 10_000;

interface AlarmRecord {
  definition: AlarmDefinition & { readonly arn: string };
  /** The scaled period. */
  periodMs: number;
  state: AlarmStateValue;
  reason: string;
  reasonData?: string;
  stateUpdated: number;
  configurationUpdated: number;
  /** Index of the last period end evaluated (period end = index × periodMs). */
  evaluatedThrough: number;
  /** After SetAlarmState: evaluations before this period end leave the state alone. */
  heldUntil?: number;
}

/** Options of an {@link AlarmRegistry}. */
export interface AlarmRegistryOptions {
  /** Multiplies every alarm's period. */
  readonly timeScale: number;
  readonly region: string;
  readonly account: string;
  /** @default - nothing is told */
  readonly onTransition?: (transition: AlarmTransition) => void;
}

/** Alarms, their states and their history. */
export class AlarmRegistry {
  private readonly alarms = new Map<string, AlarmRecord>();
  private readonly transitions: AlarmTransition[] = [];

  constructor(
    private readonly store: MetricStore,
    private readonly options: AlarmRegistryOptions,
  ) {}

  /** Creates an alarm, or replaces the definition of one (its state is kept, as PutMetricAlarm does). */
  put(definition: AlarmDefinition, now: number = Date.now()): void {
    checkDefinition(definition);
    const arn =
      definition.arn ??
      `arn:aws:cloudwatch:${this.options.region}:${this.options.account}:alarm:${definition.name}`;
    const periodMs = Math.max(1, definition.periodSeconds * 1000 * this.options.timeScale);
    const existing = this.alarms.get(definition.name);
    if (existing) {
      existing.definition = { ...definition, arn };
      existing.periodMs = periodMs;
      existing.configurationUpdated = now;
      existing.evaluatedThrough = Math.floor(now / periodMs) - 1;
      return;
    }
    this.alarms.set(definition.name, {
      definition: { ...definition, arn },
      periodMs,
      state: 'INSUFFICIENT_DATA',
      reason: 'Unchecked: Initial alarm creation',
      stateUpdated: now,
      configurationUpdated: now,
      // The first read evaluates the period that ended just before creation, as a new alarm does.
      evaluatedThrough: Math.floor(now / periodMs) - 1,
    });
  }

  /** Deletes alarms; unknown names are an error, as DeleteAlarms has it. */
  delete(names: readonly string[]): void {
    const unknown = names.filter((n) => !this.alarms.has(n));
    if (unknown.length > 0) throw new AlarmNotFoundError(`${unknown.join(', ')} not found`);
    for (const n of names) this.alarms.delete(n);
  }

  /** Every alarm, evaluated as of `now`, by name. */
  list(now: number = Date.now()): AlarmSnapshot[] {
    return [...this.alarms.values()]
      .map((r) => this.snapshot(this.evaluate(r, now)))
      .sort((a, b) => a.definition.name.localeCompare(b.definition.name));
  }

  /** One alarm, evaluated as of `now`. */
  get(name: string, now: number = Date.now()): AlarmSnapshot | undefined {
    const record = this.alarms.get(name);
    return record && this.snapshot(this.evaluate(record, now));
  }

  /** Evaluates every alarm as of `now` (the timer's tick). */
  evaluateAll(now: number = Date.now()): void {
    for (const record of this.alarms.values()) this.evaluate(record, now);
  }

  /** Sets an alarm's state until its next evaluation, as SetAlarmState does. */
  setState(
    name: string,
    state: AlarmStateValue,
    reason: string,
    reasonData?: string,
    now: number = Date.now(),
  ): void {
    const record = this.alarms.get(name);
    if (!record) throw new AlarmNotFoundError(`Alarm ${name} not found`);
    this.evaluate(record, now);
    if (state === record.state) {
      record.reason = reason;
      record.reasonData = reasonData;
    } else {
      this.transition(record, state, reason, reasonData, now);
    }
    // CloudWatch evaluates once a period: the set state lasts until the period ends.
    record.heldUntil = (Math.floor(now / record.periodMs) + 1) * record.periodMs;
  }

  /** State changes, oldest first, of one alarm or of all. */
  history(name?: string): AlarmTransition[] {
    return this.transitions.filter((t) => name === undefined || t.alarmName === name);
  }

  /**
   * Which of `names` are in ALARM now, or entered ALARM at or after `since`. A deployment's
   * monitor asks this, so an alarm that fired between two of its polls is not missed.
   */
  firing(names: readonly string[], since?: Date, now: number = Date.now()): string[] {
    const from = since?.getTime() ?? now;
    return names.filter((name) => {
      const record = this.alarms.get(name);
      if (!record) return false;
      if (this.evaluate(record, now).state === 'ALARM') return true;
      return this.transitions.some(
        (t) => t.alarmName === name && t.newState === 'ALARM' && t.timestamp.getTime() >= from,
      );
    });
  }

  private snapshot(r: AlarmRecord): AlarmSnapshot {
    return {
      definition: r.definition,
      state: r.state,
      reason: r.reason,
      ...(r.reasonData === undefined ? {} : { reasonData: r.reasonData }),
      stateUpdated: new Date(r.stateUpdated),
      configurationUpdated: new Date(r.configurationUpdated),
    };
  }

  /** Catches up on the period ends since the last evaluation, then looks at the current period. */
  private evaluate(r: AlarmRecord, now: number): AlarmRecord {
    const current = Math.floor(now / r.periodMs);
    let end = Math.max(r.evaluatedThrough + 1, current - MAX_CATCH_UP);
    for (; end <= current; end++) {
      const instant = end * r.periodMs;
      r.evaluatedThrough = end;
      if (r.heldUntil !== undefined && instant < r.heldUntil) continue;
      delete r.heldUntil;
      // At a period end the window is the N complete periods before it.
      this.apply(r, end - 1, Math.max(instant, r.configurationUpdated));
    }
    if (r.heldUntil !== undefined && now < r.heldUntil) return r;
    // Data in the period under way counts at once; an empty one does not count as missing yet.
    const start = current * r.periodMs;
    if (this.store.aggregate(this.metricOf(r), start, now + 1, r.definition.unit) !== undefined) {
      this.apply(r, current, now);
    }
    return r;
  }

  private metricOf(r: AlarmRecord) {
    const d = r.definition;
    return {
      namespace: d.namespace,
      metricName: d.metricName,
      dimensions: d.dimensions.map((x) => ({ Name: x.name, Value: x.value })),
    };
  }

  /** Evaluates the window of periods ending with period `last`, as of `instant`. */
  private apply(r: AlarmRecord, last: number, instant: number): void {
    const d = r.definition;
    const statistic = d.extendedStatistic ?? d.statistic ?? 'Average';
    const metric = this.metricOf(r);
    const window: PeriodDatapoint[] = [];
    for (let i = last - d.evaluationPeriods + 1; i <= last; i++) {
      const start = i * r.periodMs;
      const end = Math.min((i + 1) * r.periodMs, instant + 1);
      const aggregate = this.store.aggregate(metric, start, end, d.unit);
      const value = aggregate && statisticValue(aggregate, statistic);
      window.push({
        start,
        value,
        ...(aggregate === undefined ? {} : { sampleCount: aggregate.sampleCount }),
      });
    }
    const outcome = evaluateAlarm(d, window, r.state);
    if (outcome.kind === 'retain' || outcome.state === r.state) return;
    const reasonData = JSON.stringify({
      version: '1.0',
      queryDate: isoDate(instant),
      startDate: isoDate(window[0]?.start ?? instant),
      statistic,
      period: d.periodSeconds,
      recentDatapoints: window.flatMap((p) => (p.value === undefined ? [] : [Number(formatNumber(p.value))])),
      threshold: d.threshold,
      evaluatedDatapoints: [...window]
        .reverse()
        .filter((p) => p.value !== undefined)
        .map((p) => ({ timestamp: isoDate(p.start), sampleCount: p.sampleCount, value: p.value })),
    });
    this.transition(r, outcome.state, outcome.reason, reasonData, instant);
  }

  private transition(
    r: AlarmRecord,
    state: AlarmStateValue,
    reason: string,
    reasonData: string | undefined,
    at: number,
  ): void {
    const transition: AlarmTransition = {
      alarmName: r.definition.name,
      timestamp: new Date(at),
      oldState: r.state,
      newState: state,
      reason,
      ...(reasonData === undefined ? {} : { reasonData }),
    };
    r.state = state;
    r.reason = reason;
    r.reasonData = reasonData;
    r.stateUpdated = at;
    this.transitions.push(transition);
    if (this.transitions.length > MAX_HISTORY)
      this.transitions.splice(0, this.transitions.length - MAX_HISTORY);
    this.options.onTransition?.(transition);
  }
}

/** CloudWatch's reason-data timestamps: `2024-05-22T10:31:00.000+0000`. */
function isoDate(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}
