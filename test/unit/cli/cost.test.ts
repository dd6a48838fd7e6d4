import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerCostCommand } from '../../../infra/cli/cost.ts';
import { runCli } from '../../../infra/cli/errors.ts';
import type { CostReport } from '../../../shared/serving/cost.ts';

const dir = mkdtempSync(join(tmpdir(), 'cost-cli-'));
// A file that does not exist, so the run does not depend on a local bench/results.json.
const NO_BENCH = join(dir, 'absent.json');

/** Runs `mlops cost …` in-process and returns what it printed and its exit code. */
async function mlopsCost(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const program = new Command()
    .name('mlops')
    .exitOverride()
    .configureOutput({ writeErr: (s) => void err.push(s.trimEnd()), writeOut: (s) => void out.push(s) });
  registerCostCommand(program);
  const exitCode = await runCli(program, ['node', 'mlops', 'cost', ...args]);
  return { exitCode, stdout: out.join('\n'), stderr: err.join('\n') };
}

type JsonReport = CostReport & { readonly notes: readonly string[]; readonly pricesReadOn: string };

async function jsonReport(...args: string[]): Promise<JsonReport> {
  const run = await mlopsCost(...args, '--json');
  expect(run.stderr).toBe('');
  expect(run.exitCode).toBe(0);
  return JSON.parse(run.stdout) as JsonReport;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('mlops cost', () => {
  it('prices the current deployment and both alternatives, line by line, with the break-even', async () => {
    // Act
    const run = await mlopsCost('flight-delay', '--predictions-per-month', '1000000', '--bench', NO_BENCH);

    // Assess
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toContain('Cost of flight-delay at 1,000,000 predictions/month (us-east-1, USD');
    for (const row of [
      'API Gateway REST requests',
      'Lambda requests',
      'Lambda duration (arm64)',
      'DynamoDB on-demand reads',
      'SageMaker compute',
      'CloudWatch Logs ingestion',
      'Data Firehose ingestion',
      'S3 PUT requests',
      'total per month',
      'per 1,000 predictions',
    ]) {
      expect(run.stdout).toContain(row);
    }
    expect(run.stdout).toMatch(/^Break-even: /m);
    expect(run.stdout).toContain('assumed, not measured');
    expect(run.stdout).toMatch(/Prices \(us-east-1, pages read \d{4}-\d{2}-\d{2}\)/);
  });

  it('compares an instance use case with serverless, and a serverless one with instances', async () => {
    // Act
    const flight = await jsonReport(
      'flight-delay',
      '--predictions-per-month',
      '1000000',
      '--bench',
      NO_BENCH,
    );
    const weather = await jsonReport(
      'seattle-weather',
      '--predictions-per-month',
      '1000000',
      '--bench',
      NO_BENCH,
    );

    // Assess
    expect(flight.options.map((o) => o.plan.mode)).toEqual(['instance', 'instance', 'serverless']);
    expect(weather.options.map((o) => o.plan.mode)).toEqual(['serverless', 'instance', 'serverless']);
    expect(flight.options[0].monthlyUsd).toBe(flight.options[1].monthlyUsd);
    for (const option of [...flight.options, ...weather.options]) {
      const sum = option.lines.reduce((s, l) => s + l.usd, 0);
      expect(option.monthlyUsd).toBeCloseTo(sum, 10);
      expect(option.per1000Usd).toBeCloseTo(option.monthlyUsd / 1000, 12);
    }
  });

  it('takes figures from the benchmark file before options, and says which option was not used', async () => {
    // Prepare
    const bench = join(dir, 'results.json');
    writeFileSync(
      bench,
      JSON.stringify({
        generatedAt: '2026-12-01',
        results: [{ name: 'predict.model-latency-ms', median: 7 }],
      }),
    );

    // Act
    const report = await jsonReport(
      'flight-delay',
      '--predictions-per-month',
      '1_000_000',
      '--bench',
      bench,
      '--model-ms',
      '50',
      '--lambda-ms',
      '33',
    );

    // Assess
    expect(report.usage.modelLatencyMs).toMatchObject({ origin: 'benchmark', value: 7 });
    expect(report.usage.lambdaDurationMs).toMatchObject({ origin: 'option', value: 33 });
    expect(report.usage.payloadBytes.origin).toBe('assumed');
    expect(report.notes.join('\n')).toContain('--model-ms 50 not used');
  });

  it('fails with one line naming the known use cases for an unknown one', async () => {
    const run = await mlopsCost('no-such-case', '--predictions-per-month', '1000');
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'mlops cost: <useCase>: unknown use case "no-such-case"; known: flight-delay, seattle-weather',
    );
  });

  it.each(['0', '-5', '1.5', 'lots', ''])('fails with one line for --predictions-per-month=%s', async (n) => {
    const run = await mlopsCost('flight-delay', `--predictions-per-month=${n}`);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe(
      `mlops cost: --predictions-per-month: must be a positive integer, got ${JSON.stringify(n)}`,
    );
  });

  it('requires --predictions-per-month', async () => {
    const run = await mlopsCost('flight-delay');
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain("required option '--predictions-per-month <n>' not specified");
  });

  it('rejects an instance type the price table does not have', async () => {
    const run = await mlopsCost(
      'flight-delay',
      '--predictions-per-month',
      '1000',
      '--instance-type',
      'ml.x9.huge',
    );
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('mlops cost: --instance-type: no price for "ml.x9.huge"');
  });
});
