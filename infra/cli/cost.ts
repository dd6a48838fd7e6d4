/**
 * `mlops cost <useCase> --predictions-per-month N`: what serving a use case costs a month, for its
 * current deployment, a real-time instance alternative and a serverless one, and the traffic at
 * which the two alternatives cost the same. Offline: prices come from shared/serving/prices.ts,
 * per-prediction figures from the benchmark results file, options or printed assumptions.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { UseCase } from '../../shared/config/use-case.ts';
import {
  type BreakEven,
  benchmarkFigures,
  type CostReport,
  costReport,
  type Figure,
  type FigureInput,
  formatUsd,
  type InstancePlan,
  type PredictionUsage,
  planOf,
  type ReportOption,
  type ResolvableFigure,
  resolveUsage,
  type ServerlessPlan,
  type ServingPlan,
} from '../../shared/serving/cost.ts';
import { PRICES, PRICES_READ_ON, type Price, pricedInstanceTypes } from '../../shared/serving/prices.ts';
import { loadStage, StageNameSchema } from '../config/stage.ts';
import { loadUseCases } from '../config/use-cases.ts';
import { UsageError } from './errors.ts';

const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/** Where the benchmark harness writes its figures. */
export const DEFAULT_BENCH_FILE = join(PROJECT_ROOT, 'bench', 'results.json');

/**
 * The instance alternative of a serverless use case: the type and autoscaling of the flight-delay
 * example, so both use cases are compared with the same instances. Printed as assumed.
 */
export const DEFAULT_INSTANCE_ALTERNATIVE: InstancePlan = {
  mode: 'instance',
  instanceType: 'ml.m5.large',
  scaling: { kind: 'autoscaling', minCapacity: 1, maxCapacity: 4, targetInvocationsPerInstance: 1000 },
};

/** The serverless alternative of an instance use case: SageMaker's default serverless settings. */
export const DEFAULT_SERVERLESS_ALTERNATIVE: ServerlessPlan = {
  mode: 'serverless',
  memorySizeMb: 2048,
  maxConcurrency: 5,
};

interface CostOptions {
  readonly predictionsPerMonth: string;
  readonly stage: string;
  readonly lambdaMs?: string;
  readonly modelMs?: string;
  readonly payloadBytes?: string;
  readonly instanceType?: string;
  readonly serverlessMemoryMb?: string;
  readonly bench?: string;
  readonly json?: boolean;
}

function positiveNumber(option: string, raw: string, integer: boolean): number {
  // Digit separators are allowed so `1_000_000` and `1,000,000` read as written.
  const value = Number(raw.replace(/[_,]/g, ''));
  const ok =
    raw.trim() !== '' && Number.isFinite(value) && value > 0 && (!integer || Number.isSafeInteger(value));
  if (!ok)
    throw new UsageError(
      option,
      `must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(raw)}`,
    );
  return value;
}

function findUseCase(useCases: readonly UseCase[], name: string): UseCase {
  const found = useCases.find((u) => u.name === name);
  if (!found) {
    throw new UsageError(
      '<useCase>',
      `unknown use case ${JSON.stringify(name)}; known: ${useCases.map((u) => u.name).join(', ')}`,
    );
  }
  return found;
}

/** The benchmark figures of `file`, and a note when the file is there but unreadable. */
function readBenchmark(file: string): {
  figures: Partial<Record<ResolvableFigure, FigureInput>>;
  note?: string;
} {
  const shown = relative(PROJECT_ROOT, file).startsWith('..') ? file : relative(PROJECT_ROOT, file);
  if (!existsSync(file)) return { figures: {} };
  try {
    return { figures: benchmarkFigures(JSON.parse(readFileSync(file, 'utf8')), shown) };
  } catch (e) {
    return { figures: {}, note: `${shown} ignored: ${e instanceof Error ? e.message : String(e)}` };
  }
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

function describeScaling(plan: InstancePlan, count: ReportOption['instances']): string {
  const s = plan.scaling;
  const running = count ? `${count.count} × ${plan.instanceType}` : plan.instanceType;
  if (s.kind === 'fixed') return `${running} (fixed count, no autoscaling)`;
  const why =
    count?.limitedBy === 'minCapacity'
      ? `; traffic needs ${count.needed}, floor minCapacity ${s.minCapacity}`
      : count?.limitedBy === 'maxCapacity'
        ? `; traffic needs ${count.needed}, capped at maxCapacity ${s.maxCapacity}`
        : '';
  return `${running} (autoscaling ${s.minCapacity}–${s.maxCapacity} at ${int(s.targetInvocationsPerInstance)} invocations/instance/minute${why})`;
}

/** One line saying what a plan is and where it came from. */
export function describePlan(option: ReportOption, origin: string): string {
  const plan: ServingPlan = option.plan;
  const what =
    plan.mode === 'instance'
      ? `real-time ${describeScaling(plan, option.instances)}`
      : `serverless ${int(plan.memorySizeMb)} MB, max concurrency ${plan.maxConcurrency}`;
  return `${what} — ${origin}`;
}

/** Where a figure came from, as printed next to it. */
export function describeOrigin(figure: Figure): string {
  switch (figure.origin) {
    case 'assumed':
      return `assumed, not measured: ${figure.detail}`;
    case 'option':
      return `from option ${figure.detail}`;
    default:
      return `${figure.origin}: ${figure.detail}`;
  }
}

const FIGURE_LABELS: Readonly<Record<keyof PredictionUsage, string>> = {
  lambdaDurationMs: 'Lambda duration',
  lambdaMemoryMb: 'Lambda memory',
  modelLatencyMs: 'model latency',
  payloadBytes: 'payload in + out',
  readUnits: 'DynamoDB reads',
  logRecordBytes: 'log record',
  writeUnits: 'DynamoDB writes',
  lambdaPlatformLogBytes: 'Lambda log lines',
  firehoseBufferSeconds: 'Firehose buffer interval',
  firehoseBufferBytes: 'Firehose buffer size',
  logRetentionMonths: 'S3 log retention',
};

function priceText(price: Price): string {
  // Cents for prices of a cent or more; small unit prices keep every significant digit.
  const usd =
    price.usd >= 0.01
      ? `$${price.usd.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`
      : `$${price.usd.toLocaleString('en-US', { maximumSignificantDigits: 6 })}`;
  return `${price.name}: ${usd} per ${price.unit}${price.tiers ? ' (first tier; cheaper tiers above)' : ''}`;
}

/** The break-even paragraph: where the instance and serverless alternatives cost the same. */
export function breakEvenText(be: BreakEven, instance: ServingPlan, serverless: ServingPlan): string {
  const type = instance.mode === 'instance' ? instance.instanceType : '';
  const memory = serverless.mode === 'serverless' ? `${int(serverless.memorySizeMb)} MB` : '';
  if (be.kind === 'never') {
    const past =
      be.pastMaxCapacityAt === undefined
        ? ''
        : ` Past that, the instances run above the target; they would match serverless at ${int(be.pastMaxCapacityAt)} predictions/month.`;
    return `Break-even: never — ${be.reason}.${past}`;
  }
  const head = `Break-even: ${int(be.predictionsPerMonth)} predictions/month (${be.instances} × ${type} against serverless ${memory}); serverless is cheaper below it`;
  if (!be.instancesCheaperFrom) return `${head}, instances above.`;
  const last = be.instancesCheaperFrom;
  return `${head}. Above it the two swap as autoscaling adds instances; instances are cheaper for good from ${int(last.predictionsPerMonth)} predictions/month (${last.instances} × ${type}).`;
}

/** The report as the text `mlops cost` prints. */
export function renderCostReport(
  report: CostReport,
  origins: { readonly current: string; readonly instance: string; readonly serverless: string },
  notes: readonly string[],
): string {
  const ref = (price: Price) => `[${report.prices.indexOf(price) + 1}]`;
  const [current, instance, serverless] = report.options;
  const out: string[] = [];
  out.push(
    `Cost of ${report.useCase} at ${int(report.predictionsPerMonth)} predictions/month (${report.region}, ${report.currency}, on-demand list prices, no free tier)`,
    '',
    'Plans',
    `  current     ${describePlan(current, origins.current)}`,
    `  instance    ${describePlan(instance, origins.instance)}`,
    `  serverless  ${describePlan(serverless, origins.serverless)}`,
    '',
  );
  const label = 42;
  const col = 13;
  // A line of less than a cent keeps its digits, so no printed figure reads as free.
  const cell = (usd: number) => formatUsd(usd, usd > 0 && usd < 0.01 ? 4 : 2).padStart(col);
  out.push(
    `${'Monthly cost'.padEnd(label)}${'current'.padStart(col)}${'instance'.padStart(col)}${'serverless'.padStart(col)}   price`,
  );
  current.lines.forEach((line, i) => {
    const cells = report.options.map((o) => o.lines[i]);
    const refs = [...new Set(cells.map((c) => (c ? ref(c.price) : '')))].join(' ');
    out.push(
      `  ${`${line.service} ${line.item}`.padEnd(label - 2)}${cells.map((c) => cell(c?.usd ?? 0)).join('')}   ${refs}`,
    );
  });
  out.push(
    `  ${'total per month'.padEnd(label - 2)}${report.options.map((o) => cell(o.monthlyUsd)).join('')}   sum of the lines`,
    `  ${'per 1,000 predictions'.padEnd(label - 2)}${report.options.map((o) => formatUsd(o.per1000Usd, 4).padStart(col)).join('')}   total / traffic × 1,000`,
    '',
  );
  out.push(breakEvenText(report.breakEven, instance.plan, serverless.plan));
  const warnings = report.options.flatMap((o) => o.warnings.map((w) => `  ${o.label}: ${w}`));
  if (warnings.length > 0) out.push('', 'Caveats', ...[...new Set(warnings)]);
  out.push('', 'Per-prediction figures and log path');
  for (const [key, figure] of Object.entries(report.usage) as [keyof PredictionUsage, Figure][]) {
    out.push(
      `  ${FIGURE_LABELS[key].padEnd(26)}${`${int(figure.value)} ${figure.unit}`.padEnd(17)}${describeOrigin(figure)}`,
    );
  }
  out.push('', `Prices (${report.region}, pages read ${PRICES_READ_ON})`);
  report.prices.forEach((price, i) => {
    out.push(`  [${i + 1}]${price.verified ? '' : '*'} ${priceText(price)} — ${price.source}`);
    if (price.note) out.push(`       ${price.note}`);
    for (const page of price.readAt) out.push(`       read: ${page}`);
  });
  if (report.prices.some((p) => !p.verified)) {
    out.push(
      `  * not verified: no AWS page read on ${PRICES_READ_ON} showed this figure; it is the figure we are confident of, corroborated where a third-party page is named. Check the official page before relying on it.`,
    );
  }
  if (notes.length > 0) out.push('', 'Notes', ...notes.map((n) => `  ${n}`));
  return out.join('\n');
}

/** Adds `cost <useCase>` to `program`. */
export function registerCostCommand(program: Command): Command {
  return program
    .command('cost <useCase>')
    .description(
      'Monthly cost and cost per 1,000 predictions: current deployment, instances, serverless, and their break-even',
    )
    .requiredOption('--predictions-per-month <n>', 'traffic to price, a positive integer')
    .option('--stage <stage>', 'stage whose predict-function memory is used (dev or prod)', 'prod')
    .option('--lambda-ms <ms>', 'predict-function duration per prediction (below the benchmark file)')
    .option('--model-ms <ms>', 'model latency per prediction (below the benchmark file)')
    .option('--payload-bytes <bytes>', 'bytes sent to plus returned by the model per prediction')
    .option(
      '--instance-type <type>',
      "instance alternative's type (default: the use case's, else ml.m5.large)",
    )
    .option(
      '--serverless-memory-mb <mb>',
      "serverless alternative's memory (default: the use case's, else 2048)",
    )
    .option('--bench <file>', 'benchmark results file (default: bench/results.json)')
    .option('--json', 'machine-readable output')
    .action(async (useCaseName: string, opts: CostOptions) => {
      const predictionsPerMonth = positiveNumber('--predictions-per-month', opts.predictionsPerMonth, true);
      const stageName = StageNameSchema.safeParse(opts.stage);
      if (!stageName.success)
        throw new UsageError('--stage', `must be dev or prod, got ${JSON.stringify(opts.stage)}`);
      const options: Partial<Record<ResolvableFigure, FigureInput>> = {};
      if (opts.lambdaMs !== undefined)
        options.lambdaDurationMs = {
          value: positiveNumber('--lambda-ms', opts.lambdaMs, false),
          detail: '--lambda-ms',
        };
      if (opts.modelMs !== undefined)
        options.modelLatencyMs = {
          value: positiveNumber('--model-ms', opts.modelMs, false),
          detail: '--model-ms',
        };
      if (opts.payloadBytes !== undefined)
        options.payloadBytes = {
          value: positiveNumber('--payload-bytes', opts.payloadBytes, true),
          detail: '--payload-bytes',
        };
      if (opts.instanceType !== undefined && !PRICES.sagemaker.realTime[opts.instanceType]) {
        throw new UsageError(
          '--instance-type',
          `no price for ${JSON.stringify(opts.instanceType)} in shared/serving/prices.ts; priced: ${pricedInstanceTypes().join(', ')}`,
        );
      }
      let serverlessMemoryMb: number | undefined;
      if (opts.serverlessMemoryMb !== undefined) {
        serverlessMemoryMb = positiveNumber('--serverless-memory-mb', opts.serverlessMemoryMb, true);
        if (!PRICES.sagemaker.serverless[serverlessMemoryMb]) {
          throw new UsageError(
            '--serverless-memory-mb',
            `must be one of ${Object.keys(PRICES.sagemaker.serverless).join(', ')}, got ${JSON.stringify(opts.serverlessMemoryMb)}`,
          );
        }
      }

      const useCase = findUseCase(await loadUseCases(), useCaseName);
      const source = `use-cases/${useCase.name}.ts`;
      const current = planOf(useCase.deployment);
      const instance: InstancePlan =
        current.mode === 'instance'
          ? { ...current, ...(opts.instanceType ? { instanceType: opts.instanceType } : {}) }
          : {
              ...DEFAULT_INSTANCE_ALTERNATIVE,
              ...(opts.instanceType ? { instanceType: opts.instanceType } : {}),
            };
      const serverless: ServerlessPlan =
        current.mode === 'serverless'
          ? { ...current, ...(serverlessMemoryMb ? { memorySizeMb: serverlessMemoryMb } : {}) }
          : {
              ...DEFAULT_SERVERLESS_ALTERNATIVE,
              ...(serverlessMemoryMb ? { memorySizeMb: serverlessMemoryMb } : {}),
            };
      const origins = {
        current: `${source} deployment`,
        instance:
          current.mode === 'instance'
            ? opts.instanceType
              ? `${source} deployment with --instance-type`
              : `same as current (${source})`
            : `assumed: ${opts.instanceType ? '--instance-type with ' : ''}the flight-delay example's instances and autoscaling`,
        serverless:
          current.mode === 'serverless'
            ? serverlessMemoryMb
              ? `${source} deployment with --serverless-memory-mb`
              : `same as current (${source})`
            : `assumed: ${serverlessMemoryMb ? '--serverless-memory-mb with ' : ''}SageMaker's default serverless settings (2,048 MB, max concurrency 5)`,
      };

      const bench = readBenchmark(opts.bench ? resolve(opts.bench) : DEFAULT_BENCH_FILE);
      const stage = loadStage(stageName.data);
      const usage = resolveUsage({
        benchmark: bench.figures,
        options,
        lambdaMemoryMb: {
          value: stage.lambdaMemoryMb,
          detail: `stage ${stage.name} lambdaMemoryMb (infra/config/stage.ts); arm64 prices, as infra/constructs/mlops-function.ts forces`,
        },
        featureGroups: useCase.featureGroups.length,
        // shared/features/online-store.ts reads the online store with ConsistentRead: true.
        consistentRead: true,
      });
      const notes: string[] = [];
      if (bench.note) notes.push(bench.note);
      for (const [key, given] of Object.entries(options) as [ResolvableFigure, FigureInput][]) {
        const used = usage[key];
        if (used.origin !== 'option')
          notes.push(`${given.detail} ${given.value} not used: ${used.detail} comes first`);
      }
      notes.push(
        'not counted: data transfer out, CloudWatch metrics and alarms, X-Ray traces, log storage in CloudWatch, the canary variant during a deployment, training and monitoring jobs.',
      );

      const report = costReport({
        useCase: useCase.name,
        predictionsPerMonth,
        current,
        instance,
        serverless,
        usage,
      });
      if (opts.json) {
        console.log(
          JSON.stringify({ ...report, plans: origins, pricesReadOn: PRICES_READ_ON, notes }, null, 2),
        );
        return;
      }
      console.log(renderCostReport(report, origins, notes));
    });
}
