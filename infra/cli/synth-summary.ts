import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp } from '../build-app.ts';
import { loadStage } from '../config/stage.ts';
import { loadUseCases } from '../config/use-cases.ts';

/** What one stage synthesizes to. */
export interface SynthSummary {
  readonly stage: string;
  readonly outdir: string;
  readonly stacks: readonly { name: string; resourceCount: number; byType: Record<string, number> }[];
  readonly findings: number;
}

/** Synthesizes every stack of `stageName` to cdk.out and counts its resources by type. */
export async function synthSummary(stageName: string, outdir = 'cdk.out'): Promise<SynthSummary> {
  const stage = loadStage(stageName);
  const app = new App({ outdir, context: { '@aws-cdk/core:failSynthOnValidationErrors': false } });
  buildApp(app, { stage, region: 'us-east-1', useCases: await loadUseCases() });
  const assembly = app.synth();
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
    pluginReports: { violations: unknown[] }[];
  };
  const stacks = assembly.stacks.map((s) => {
    const resources = Object.values(
      (s.template as { Resources?: Record<string, { Type: string }> }).Resources ?? {},
    );
    const byType: Record<string, number> = {};
    for (const r of resources) byType[r.Type] = (byType[r.Type] ?? 0) + 1;
    return { name: s.stackName, resourceCount: resources.length, byType };
  });
  return {
    stage: stage.name,
    outdir: assembly.directory,
    stacks,
    findings: report.pluginReports.reduce((n, p) => n + p.violations.length, 0),
  };
}
