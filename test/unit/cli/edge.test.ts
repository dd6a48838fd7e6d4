/** `mlops edge export|verify`: the command line is checked before any call leaves the machine. */
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { edgeUseCase, edgeVerifyPassed, registerEdgeCommands } from '../../../infra/cli/edge.ts';
import { runCli, USAGE_EXIT_CODE, UsageError } from '../../../infra/cli/errors.ts';
import { UseCaseSchema } from '../../../shared/config/use-case.ts';
import type { EdgeParity } from '../../../shared/ledger/events.ts';
import seattleWeather from '../../../use-cases/seattle-weather.ts';

/** Runs `mlops edge …` in-process and returns what it printed and its exit code. */
async function mlopsEdge(...args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const program = new Command()
    .name('mlops')
    .exitOverride()
    .configureOutput({ writeErr: (s) => void err.push(s.trimEnd()), writeOut: (s) => void out.push(s) });
  registerEdgeCommands(program);
  const exitCode = await runCli(program, ['node', 'mlops', 'edge', ...args]);
  return { exitCode, stdout: out.join('\n'), stderr: err.join('\n') };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('mlops edge export', () => {
  it('names the use cases it knows when given another one', async () => {
    const run = await mlopsEdge('export', 'no-such-case', '--version', '1');
    expect(run.exitCode).toBe(USAGE_EXIT_CODE);
    expect(run.stderr).toMatch(
      /^mlops edge export: <useCase>: unknown use case no-such-case; use-cases\/ defines .*flight-delay/,
    );
  });

  it('refuses a use case that does not set edge, saying how to turn it on', () => {
    // Prepare: every use case in use-cases/ sets edge, so one that does not is made here.
    const { edge: _, ...withoutEdge } = seattleWeather;
    const all = [UseCaseSchema.parse(withoutEdge)];

    // Act / Assess
    expect(() => edgeUseCase(all, 'seattle-weather')).toThrow(
      new UsageError(
        '<useCase>',
        "seattle-weather does not set edge; add edge: { format: 'onnx' } to its use case to export it",
      ),
    );
    expect(edgeUseCase([UseCaseSchema.parse(seattleWeather)], 'seattle-weather').edge?.format).toBe('onnx');
  });

  it('refuses a version that is not a package version', async () => {
    const run = await mlopsEdge('export', 'flight-delay', '--version', 'latest');
    expect(run.exitCode).toBe(USAGE_EXIT_CODE);
    expect(run.stderr).toBe(
      'mlops edge export: --version: must be a package version (a positive integer), got "latest"',
    );
  });
});

describe('mlops edge verify', () => {
  const parity = (passed: boolean): EdgeParity => ({
    passed,
    reason: passed ? 'parity passed' : 'parity failed',
    rows: 10,
    maxAbsDelta: passed ? 0 : 0.1,
    nanMismatches: 0,
    worstRow: 0,
    flips: 0,
    flipShare: 0,
    threshold: 0.5,
    limits: { maxAbsDelta: 1e-6, maxFlipShare: 0 },
  });

  it.each([
    { gate: true, sourceMatches: true, passes: true },
    { gate: true, sourceMatches: undefined, passes: true },
    { gate: true, sourceMatches: false, passes: false },
    { gate: false, sourceMatches: true, passes: false },
  ])(
    'passes only when the gate holds and the file names no other source model (%o)',
    ({ gate, sourceMatches, passes }) => {
      expect(
        edgeVerifyPassed({ parity: parity(gate), ...(sourceMatches === undefined ? {} : { sourceMatches }) }),
      ).toBe(passes);
    },
  );

  it('needs the registered version to compare with', async () => {
    const run = await mlopsEdge('verify', 'model.onnx');
    expect(run.exitCode).toBe(USAGE_EXIT_CODE);
    expect(run.stderr).toContain("required option '--against <modelVersion>' not specified");
  });
});
