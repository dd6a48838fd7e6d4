import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp, type MlopsStacks } from '../../infra/build-app.ts';
import { loadStage, type StageName } from '../../infra/config/stage.ts';
import { loadUseCases } from '../../infra/config/use-cases.ts';

/** One finding of a validation plugin (cdk-nag packs or CloudFormation Validate). */
export interface Finding {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly paths: readonly string[];
}

/**
 * Template tests need the templates, not the bundles: with no stack named for bundling, each
 * function's asset is a placeholder and a synth takes seconds instead of a minute of esbuild.
 * The bundles themselves are built (and run) by the local-cloud tests, from `cdk synth`.
 */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] } as const;

/** An app that writes its validation report instead of failing synth, so tests can read it. */
export function reportingApp(): App {
  return new App({
    context: {
      '@aws-cdk/core:failSynthOnValidationErrors': false,
      '@aws-cdk/core:validateAgainstDefaultRules': true,
      ...SKIP_BUNDLING,
    },
  });
}

/** The real stacks of one stage, in a reporting app. */
export async function buildStage(stage: StageName): Promise<{ app: App; stacks: MlopsStacks }> {
  const app = reportingApp();
  const stacks = buildApp(app, {
    stage: loadStage(stage),
    region: 'us-east-1',
    useCases: await loadUseCases(),
  });
  return { app, stacks };
}

/** Synthesizes `app` and returns every finding of every validation plugin. */
export function synthFindings(app: App): Finding[] {
  const assembly = app.synth({ force: true });
  const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8')) as {
    pluginReports: {
      pluginName: string;
      violations: {
        ruleName: string;
        severity?: string;
        violatingConstructs?: { constructPath?: string }[];
      }[];
    }[];
  };
  return report.pluginReports.flatMap((p) =>
    p.violations.map((v) => ({
      plugin: p.pluginName,
      rule: v.ruleName,
      severity: v.severity ?? 'error',
      paths: (v.violatingConstructs ?? []).map((c) => c.constructPath ?? '?'),
    })),
  );
}
