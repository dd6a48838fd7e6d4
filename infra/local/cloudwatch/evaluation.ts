/**
 * Alarm evaluation as CloudWatch documents it, as a pure function: the state a metric alarm takes
 * from the last EvaluationPeriods periods of its statistic, with DatapointsToAlarm ("M out of N")
 * and the four TreatMissingData modes, and the StateReason text in CloudWatch's words.
 */
import type { LocalComparisonOperator, LocalTreatMissingData } from '../model.ts';

/** An alarm's state. */
export type AlarmStateValue = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** What evaluation reads of an alarm. */
export interface AlarmRule {
  readonly comparisonOperator: LocalComparisonOperator;
  readonly threshold: number;
  readonly evaluationPeriods: number;
  /** @default - evaluationPeriods */
  readonly datapointsToAlarm?: number;
  /** @default 'missing' */
  readonly treatMissingData?: LocalTreatMissingData;
}

/** One period of the evaluation window. */
export interface PeriodDatapoint {
  /** Start of the period (epoch milliseconds). */
  readonly start: number;
  /** The statistic over the period; undefined when the period has no data point. */
  readonly value: number | undefined;
  /** @default - not reported */
  readonly sampleCount?: number;
}

/** The outcome of one evaluation. */
export type AlarmEvaluation =
  | { readonly kind: 'state'; readonly state: AlarmStateValue; readonly reason: string }
  /** TreatMissingData `ignore` with too little data to decide: the alarm keeps its state. */
  | { readonly kind: 'retain' };

const OPERATOR_WORDS: Readonly<Record<LocalComparisonOperator, string>> = {
  GreaterThanThreshold: 'greater than',
  GreaterThanOrEqualToThreshold: 'greater than or equal to',
  LessThanThreshold: 'less than',
  LessThanOrEqualToThreshold: 'less than or equal to',
};

/** Whether one value breaches the threshold. */
export function breaches(operator: LocalComparisonOperator, value: number, threshold: number): boolean {
  switch (operator) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

/** A number as CloudWatch prints it in reasons (Java's double: `1.0`, `0.25`). */
export function formatNumber(value: number): string {
  return Number.isInteger(value) ? value.toFixed(1) : String(value);
}

/** A period start as CloudWatch prints it in reasons: `dd/MM/yy HH:mm:ss`, UTC. */
function formatPeriod(start: number): string {
  const d = new Date(start);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getUTCDate())}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCFullYear() % 100)} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const wasWere = (n: number) => (n === 1 ? 'was' : 'were');

/**
 * Evaluates an alarm over its window (the last EvaluationPeriods periods, oldest first).
 *
 * With every period present, M breaching ones (DatapointsToAlarm) mean ALARM, else OK. Missing
 * periods follow TreatMissingData, as CloudWatch's table has it: `breaching` counts them as
 * breaching, `notBreaching` as within the threshold, `missing` leaves them out (so the real data
 * points decide, and none at all is INSUFFICIENT_DATA), and `ignore` keeps the current state
 * unless the real points decide whatever the missing ones would have been.
 */
export function evaluateAlarm(
  rule: AlarmRule,
  window: readonly PeriodDatapoint[],
  current: AlarmStateValue,
): AlarmEvaluation {
  const n = rule.evaluationPeriods;
  const m = rule.datapointsToAlarm ?? n;
  const real = window.filter((p): p is PeriodDatapoint & { value: number } => p.value !== undefined);
  const breaching = real.filter((p) => breaches(rule.comparisonOperator, p.value, rule.threshold));
  const good = real.filter((p) => !breaches(rule.comparisonOperator, p.value, rule.threshold));
  const missing = Math.max(0, n - real.length);
  const mode = rule.treatMissingData ?? 'missing';
  const words = OPERATOR_WORDS[rule.comparisonOperator];
  const threshold = formatNumber(rule.threshold);
  // Most recent first, as CloudWatch lists them.
  const list = (points: readonly (PeriodDatapoint & { value: number })[]) =>
    `[${[...points]
      .sort((a, b) => b.start - a.start)
      .map((p) => `${formatNumber(p.value)} (${formatPeriod(p.start)})`)
      .join(', ')}]`;
  const treatedAs = (label: 'Breaching' | 'NonBreaching') =>
    `${plural(missing, 'missing datapoint')} ${wasWere(missing)} treated as [${label}]`;

  /** `outOf` is how many periods the verdict looked at: the whole window unless only real points decided. */
  const alarm = (needed: number, missingAsBreaching: boolean, outOf = n): AlarmEvaluation => {
    const minimum = `(minimum ${plural(needed, 'datapoint')} for ${current} -> ALARM transition)`;
    if (breaching.length === 0) {
      return {
        kind: 'state',
        state: 'ALARM',
        reason: `Threshold Crossed: no datapoints were received for ${plural(missing, 'period')} and ${treatedAs('Breaching')}.`,
      };
    }
    const extra = missingAsBreaching && missing > 0 ? `, and ${treatedAs('Breaching')}` : '';
    const shown = missingAsBreaching ? real.length : outOf;
    // CloudWatch writes "1 out of the last 1 datapoints": the plural does not follow the count.
    return {
      kind: 'state',
      state: 'ALARM',
      reason: `Threshold Crossed: ${breaching.length} out of the last ${shown} datapoints ${list(breaching)} ${wasWere(breaching.length)} ${words} the threshold (${threshold})${extra} ${minimum}.`,
    };
  };
  const ok = (missingAsGood: boolean): AlarmEvaluation => {
    if (good.length === 0 && breaching.length === 0) {
      return {
        kind: 'state',
        state: 'OK',
        reason: `Threshold Crossed: no datapoints were received for ${plural(missing, 'period')} and ${treatedAs('NonBreaching')}.`,
      };
    }
    const shown = good.length > 0 ? good : breaching;
    const extra = missingAsGood && missing > 0 ? `, and ${treatedAs('NonBreaching')}` : '';
    const verdict =
      good.length > 0
        ? `${wasWere(good.length)} not ${words}`
        : `${wasWere(breaching.length)} ${words}, fewer than the ${plural(m, 'datapoint')} needed for ALARM,`;
    return {
      kind: 'state',
      state: 'OK',
      reason: `Threshold Crossed: ${plural(shown.length, 'datapoint')} ${list(shown)} ${verdict} the threshold (${threshold})${extra}.`,
    };
  };

  if (missing === 0) return breaching.length >= m ? alarm(m, false) : ok(false);
  switch (mode) {
    case 'breaching':
      return breaching.length + missing >= m ? alarm(m, true) : ok(false);
    case 'notBreaching':
      return breaching.length >= m ? alarm(m, false) : ok(true);
    case 'missing': {
      if (real.length === 0) {
        return {
          kind: 'state',
          state: 'INSUFFICIENT_DATA',
          reason: `Insufficient Data: ${plural(missing, 'datapoint')} ${wasWere(missing)} unknown.`,
        };
      }
      // Too few real points: they decide alone, needing at most as many breaching as there are.
      const needed = Math.min(m, real.length);
      return breaching.length >= needed ? alarm(needed, false, real.length) : ok(false);
    }
    case 'ignore':
      if (breaching.length >= m) return alarm(m, false);
      if (breaching.length + missing < m) return ok(false);
      return { kind: 'retain' };
  }
}
