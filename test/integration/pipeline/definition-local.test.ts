/**
 * The synthesized training state machine, read from cdk.out the way `npm start` reads it, is
 * accepted by the local Step Functions service: the library's ASL validation, JSONPath only, and
 * every Task resource routed to an emulated integration. Nothing runs, so no Lambda is invoked.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthApp } from '../../../infra/cli/local.ts';
import { loadAssembly } from '../../../infra/local/assembly/index.ts';
import type { LocalAssembly, LocalStateMachine } from '../../../infra/local/model.ts';
import { prepareDefinition } from '../../../infra/local/stepfunctions/definition.ts';
import { parseResource } from '../../../infra/local/stepfunctions/integrations.ts';
import { StepFunctionsService } from '../../../infra/local/stepfunctions/service.ts';
import { STEP_NAMES } from '../../../shared/pipeline/steps.ts';

const assemblies: Partial<Record<'dev' | 'prod', LocalAssembly>> = {};
const dirs: string[] = [];

beforeAll(async () => {
  for (const stage of ['dev', 'prod'] as const) {
    const dir = mkdtempSync(join(tmpdir(), `mlops-pipeline-${stage}-`));
    dirs.push(dir);
    assemblies[stage] = loadAssembly(synthApp(stage, dir).outdir);
  }
});

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function trainingMachine(stage: 'dev' | 'prod'): { assembly: LocalAssembly; machine: LocalStateMachine } {
  const assembly = assemblies[stage];
  const machine = assembly?.stateMachines.find((m) => m.name === `mlops-${stage}-flight-delay-training`);
  if (!assembly || !machine) throw new Error(`the ${stage} training state machine is missing from cdk.out`);
  return { assembly, machine };
}

describe.each(['dev', 'prod'] as const)('the training state machine on the local cloud (%s)', (stage) => {
  it('is accepted by the local Step Functions service without running anything', async () => {
    const { assembly, machine } = trainingMachine(stage);
    const invoked: string[] = [];
    const service = new StepFunctionsService({
      stateMachines: [machine],
      invokeLambda: async (arn) => {
        invoked.push(arn);
        throw new Error('no Lambda runs in this test');
      },
      endpoints: {
        sagemaker: 'http://127.0.0.1:9',
        dynamodb: 'http://127.0.0.1:9',
        sns: 'http://127.0.0.1:9',
      },
      placement: assembly.placement,
      retryIntervalScale: 1,
      syncPollIntervalMs: 250,
    });
    await service.close();
    expect(machine.type).toBe('STANDARD');
    expect(invoked).toEqual([]);
  });

  it('routes every Task to an integration the local cloud emulates', () => {
    const { assembly, machine } = trainingMachine(stage);
    const prepared = prepareDefinition(machine.definition, 1);
    const resources = Object.fromEntries(
      [...prepared.tasks.values()].map((t) => {
        const parsed = parseResource(t.resource);
        return [t.name, parsed.kind === 'lambda' ? 'lambda' : `${parsed.service}:${parsed.resource}`];
      }),
    );
    const lambdaSteps = [
      STEP_NAMES.buildDataset,
      STEP_NAMES.validateData,
      STEP_NAMES.findChampion,
      STEP_NAMES.evaluate,
      STEP_NAMES.register,
      STEP_NAMES.exportEdge,
      STEP_NAMES.recordEdgeFailure,
      STEP_NAMES.recordGateFailure,
      STEP_NAMES.recordSuccess,
      STEP_NAMES.recordFailure,
    ];
    expect(resources).toEqual({
      ...Object.fromEntries(lambdaSteps.map((name) => [name, 'lambda'])),
      [STEP_NAMES.train]: 'sagemaker:createTrainingJob.sync',
      [STEP_NAMES.createCandidateModel]: 'sagemaker:createModel',
      TransformCandidate: 'sagemaker:createTransformJob.sync',
      TransformChampion: 'sagemaker:createTransformJob.sync',
      [STEP_NAMES.notifyFailure]: 'sns:publish',
      [STEP_NAMES.deploy]: 'states:startExecution.sync:2',
      ...(stage === 'prod'
        ? { [STEP_NAMES.approval]: 'lambda:invoke.waitForTaskToken', [STEP_NAMES.recordApproval]: 'lambda' }
        : {}),
    });
    // Lambda steps call functions the local runtime knows, by the ARN the assembly gives them.
    const functionArns = new Set(assembly.functions.map((f) => f.arn));
    for (const task of prepared.tasks.values()) {
      if (parseResource(task.resource).kind === 'lambda')
        expect(functionArns.has(task.resource), task.name).toBe(true);
    }
  });

  it('names every state once and uses JSONPath only', () => {
    const { machine } = trainingMachine(stage);
    expect(machine.definition).not.toContain('JSONata');
    const prepared = prepareDefinition(machine.definition, 1);
    const names = [...prepared.stateTypes.keys()];
    expect(names).toEqual(
      expect.arrayContaining(
        Object.values(STEP_NAMES).filter(
          (n) => stage === 'prod' || (n !== STEP_NAMES.approval && n !== STEP_NAMES.recordApproval),
        ),
      ),
    );
    expect(prepared.stateTypes.get(STEP_NAMES.transform)).toBe('Parallel');
  });

  it('serves the approval route locally and reports the StartExecution route it cannot serve', () => {
    const { assembly } = trainingMachine(stage);
    expect(
      assembly.routes.some(
        (r) =>
          r.path === '/training/runs/{runId}/approval' &&
          r.method === 'POST' &&
          r.authorization === 'AWS_IAM',
      ),
    ).toBe(true);
    // The local API serves Lambda proxy routes only; a run starts through the SFN API instead.
    expect(assembly.routes.some((r) => r.path === '/training/flight-delay/runs')).toBe(false);
    expect(
      (assembly.warnings ?? []).some((w) => w.includes('only Lambda proxy integrations are served locally')),
    ).toBe(true);
  });
});
