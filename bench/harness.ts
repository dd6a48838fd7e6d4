/**
 * What every benchmark shares: its command line (`--quick`), the figures it reports (each a
 * min/median/max of samples, with its unit and target), the growth exponent, and how a figure
 * reaches the runner (bench/run.ts): each benchmark runs in a process of its own and writes its
 * figures as JSON to the file named by BENCH_OUT; run alone, it prints them.
 */
import { writeFileSync } from 'node:fs';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** A target a figure must meet: at most or at least a value, in the figure's unit. */
export interface Target {
  readonly op: '<=' | '>=';
  readonly value: number;
}

/** One measured figure. */
export interface Figure {
  /** `<bench>.<figure>`, e.g. `feature-read.handler-ratio-p50`. */
  readonly name: string;
  readonly bench: string;
  /** What it is, in words. */
  readonly label: string;
  readonly unit: string;
  readonly min: number;
  readonly median: number;
  readonly max: number;
  /** How many samples min, median and max are taken over (1 for a single measurement). */
  readonly samples: number;
  readonly target?: Target;
  /** Whether the median meets the target (absent without one). */
  readonly met?: boolean;
  /** How it was measured, or why a target is missed. */
  readonly note?: string;
}

/** The benchmark's command line: `--quick` and `--<name> <value>` options. */
export interface BenchArgs {
  /** Run briefly, to prove the benchmark works; figures are not comparable with a full run. */
  readonly quick: boolean;
  /** The value of `--<name>`, as a whole number, or `fallback`. */
  int(name: string, fallback: number): number;
}

export function benchArgs(argv: readonly string[] = process.argv.slice(2)): BenchArgs {
  return {
    quick: argv.includes('--quick'),
    int(name, fallback) {
      const at = argv.indexOf(`--${name}`);
      if (at === -1) return fallback;
      const value = Number(argv[at + 1]);
      if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} takes a whole number >= 1`);
      return value;
    },
  };
}

/** Percentile of a sample (nearest rank). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** The median: the middle value, or the mean of the two middle values of an even count. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Whether `value` meets `target`. */
export function meets(value: number, target: Target): boolean {
  return target.op === '<=' ? value <= target.value : value >= target.value;
}

/** A figure from its samples (or one value), with its target checked on the median. */
export function figure(
  bench: string,
  name: string,
  label: string,
  unit: string,
  values: number | readonly number[],
  options: { readonly target?: Target; readonly note?: string } = {},
): Figure {
  const samples = typeof values === 'number' ? [values] : values;
  if (samples.length === 0 || samples.some((v) => !Number.isFinite(v))) {
    throw new Error(`${bench}.${name}: every sample must be a finite number, got ${JSON.stringify(samples)}`);
  }
  const mid = median(samples);
  return {
    name: `${bench}.${name}`,
    bench,
    label,
    unit,
    min: Math.min(...samples),
    median: mid,
    max: Math.max(...samples),
    samples: samples.length,
    ...(options.target ? { target: options.target, met: meets(mid, options.target) } : {}),
    ...(options.note ? { note: options.note } : {}),
  };
}

/**
 * The exponent k of time ∝ n^k, fitted by least squares on log n and log time over the points
 * (at least two sizes): 1 is linear, 2 quadratic.
 */
export function growthExponent(points: readonly { readonly n: number; readonly seconds: number }[]): number {
  if (points.length < 2) throw new Error('a growth exponent needs at least two sizes');
  const xs = points.map((p) => Math.log(p.n));
  const ys = points.map((p) => Math.log(p.seconds));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < xs.length; i++) {
    sxy += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my);
    sxx += ((xs[i] ?? 0) - mx) ** 2;
  }
  if (sxx === 0) throw new Error('a growth exponent needs sizes that differ');
  return sxy / sxx;
}

/** The growth target every size-scaled step must meet. */
export const GROWTH_TARGET: Target = { op: '<=', value: 1.15 };

/** Times `fn` once, in milliseconds. */
export async function timeMs(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const number = (x: number): string => {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 0.01 || abs >= 1e7)) return x.toExponential(2);
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
  return Number(x.toPrecision(3)).toString();
};

/** `≤ 1.3`, `≥ 200,000`. */
export function targetText(target: Target | undefined): string {
  return target ? `${target.op === '<=' ? '≤' : '≥'} ${number(target.value)}` : '';
}

/** A plain-text table of figures: name, median (min–max), unit, target, met. */
export function figureTable(figures: readonly Figure[]): string {
  const rows = figures.map((f) => [
    f.name,
    f.samples > 1 ? `${number(f.median)} (${number(f.min)}–${number(f.max)})` : number(f.median),
    f.unit,
    targetText(f.target),
    f.met === undefined ? '' : f.met ? 'met' : 'MISSED',
  ]);
  const header = ['figure', 'median (min–max)', 'unit', 'target', ''];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 1 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The same table in Markdown, for the README: figure, what it is, median (min–max), target, met. */
export function markdownTable(figures: readonly Figure[]): string {
  const cell = (t: string) => t.replaceAll('|', '\\|');
  const rows = figures.map((f) => {
    const value =
      f.samples > 1 ? `${number(f.median)} (${number(f.min)}–${number(f.max)})` : number(f.median);
    return `| \`${f.name}\` | ${cell(f.label)} | ${value} ${cell(f.unit)} | ${targetText(f.target)} | ${f.met === undefined ? '' : f.met ? 'met' : '**missed**'} |`;
  });
  return ['| figure | what | median (min–max) | target | |', '|---|---|---|---|---|', ...rows].join('\n');
}

/**
 * Hands the figures to the runner (BENCH_OUT), or prints them when the benchmark runs alone.
 * Call once, at the end.
 */
export function report(figures: readonly Figure[]): void {
  const out = process.env.BENCH_OUT;
  if (out) writeFileSync(out, JSON.stringify(figures));
  else console.log(`\n${figureTable(figures)}`);
}

/** Progress for the person watching, on stderr (stdout stays for the figures of a lone run). */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}
