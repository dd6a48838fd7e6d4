import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app.ts';
import { loadStage } from '../../infra/config/stage.ts';
import { loadUseCases, validateUseCase } from '../../infra/config/use-cases.ts';
import { ConstructConfigError } from '../../infra/constructs/errors.ts';
import { APPROVAL_HANDLER_FILE, TrainingPipeline } from '../../infra/constructs/training-pipeline/index.ts';
import { functionId } from '../../infra/constructs/training-pipeline/step-functions.ts';
import { TrainingDefinition, type TrainingDefinitionProps } from '../../pipelines/training/definition.ts';
import type { UseCase } from '../../shared/config/use-case.ts';
import { APPROVAL_API_ENV } from '../../shared/pipeline/env.ts';
import { LAMBDA_STEPS, STEP_ENV, STEP_NAMES } from '../../shared/pipeline/steps.ts';
import { reportingApp, synthFindings } from './helpers.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };
type Resources = Record<string, { Properties?: JsonObject }>;

/** Renders CloudFormation intrinsics as `<Logical.Attr>` text, so a template's strings can be read. */
function flatten(node: unknown): string {
  if (typeof node === 'string') return node;
  if (typeof node !== 'object' || node === null) return JSON.stringify(node);
  const o = node as Record<string, unknown>;
  if (Array.isArray(o['Fn::Join'])) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts.map(flatten).join(sep);
  }
  if (Array.isArray(o['Fn::GetAtt'])) return `<${(o['Fn::GetAtt'] as string[]).join('.')}>`;
  if (o.Ref !== undefined) return `<${String(o.Ref)}>`;
  if (o['Fn::ImportValue'] !== undefined) return `<import:${flatten(o['Fn::ImportValue'])}>`;
  return JSON.stringify(node);
}

function asObject(value: Json | undefined): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`expected an object, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The state machine definitions of a template, parsed. */
/** The definitions of the template's state machines whose name ends with `-<kind>`. */
function definitions(t: Template, kind: 'training' | 'deploy' = 'training'): JsonObject[] {
  return Object.values(t.findResources('AWS::StepFunctions::StateMachine') as Resources)
    .filter((r) => String(r.Properties?.StateMachineName).endsWith(`-${kind}`))
    .map((r) => asObject(JSON.parse(flatten(r.Properties?.DefinitionString)) as Json));
}

/** Every state of a definition, Parallel branches included, with the level it sits at. */
function allStates(definition: JsonObject): { name: string; state: JsonObject; topLevel: boolean }[] {
  const out: { name: string; state: JsonObject; topLevel: boolean }[] = [];
  const visit = (machine: JsonObject, topLevel: boolean) => {
    for (const [name, value] of Object.entries(asObject(machine.States))) {
      const state = asObject(value);
      out.push({ name, state, topLevel });
      if (Array.isArray(state.Branches)) for (const b of state.Branches) visit(asObject(b), false);
    }
  };
  visit(definition, true);
  return out;
}

function stateOf(definition: JsonObject, name: string): JsonObject {
  const found = allStates(definition).find((s) => s.name === name);
  if (!found) throw new Error(`no state ${name}`);
  return found.state;
}

interface Built {
  readonly app: App;
  readonly service: Template;
  readonly definition: JsonObject;
  readonly useCase: UseCase;
}

async function build(stage: 'dev' | 'prod', useCases?: UseCase[]): Promise<Built> {
  const app = reportingApp();
  // One pipeline per app unless a test says otherwise: the first use case (the flights demo).
  const resolved = useCases ?? (await loadUseCases()).slice(0, 1);
  const stacks = buildApp(app, { stage: loadStage(stage), region: 'us-east-1', useCases: resolved });
  const service = Template.fromStack(stacks.service);
  const [definition] = definitions(service);
  const [useCase] = resolved;
  if (!definition || !useCase) throw new Error('expected one state machine and one use case');
  return { app, service, definition, useCase };
}

/** The demo use case, retrained weekly on a custom image, with no log-loss ceiling and no edge export. */
async function scheduledCustomUseCase(): Promise<UseCase> {
  const [loaded] = await loadUseCases();
  if (!loaded) throw new Error('the demo use case is missing');
  const { edge: _noEdge, ...demo } = loaded;
  const { maxLogLoss: _dropped, ...gates } = demo.gates;
  return validateUseCase(
    {
      ...demo,
      name: 'weekly-custom',
      featureGroups: demo.featureGroups.map((g) => ({ ...g, name: `${g.name}-weekly` })),
      gates,
      model: {
        ...demo.model,
        algorithm: {
          kind: 'custom-image',
          imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/model:1',
        },
      },
      trainingSchedule: 'rate(7 days)',
    },
    'test',
  );
}

const built: Partial<Record<'dev' | 'prod' | 'scheduled', Built>> = {};
function get(name: 'dev' | 'prod' | 'scheduled'): Built {
  const b = built[name];
  if (!b) throw new Error(`${name} was not built`);
  return b;
}

beforeAll(async () => {
  built.dev = await build('dev');
  built.prod = await build('prod');
  built.scheduled = await build('dev', [await scheduledCustomUseCase()]);
});

const TASK_TYPES: Record<keyof typeof STEP_NAMES, string> = {
  buildDataset: 'Task',
  validateData: 'Task',
  train: 'Task',
  createCandidateModel: 'Task',
  findChampion: 'Task',
  transform: 'Parallel',
  evaluate: 'Task',
  gate: 'Choice',
  recordGateFailure: 'Task',
  register: 'Task',
  exportEdge: 'Task',
  approval: 'Task',
  recordSuccess: 'Task',
  recordApproval: 'Task',
  recordFailure: 'Task',
  recordEdgeFailure: 'Task',
  notifyFailure: 'Task',
  failed: 'Fail',
  deploy: 'Task',
  deploymentRolledBack: 'Fail',
};

describe('the training state machine', () => {
  it.each(['dev', 'prod'] as const)(
    'has every step of STEP_NAMES with its type, after keeping the input at $.input (%s)',
    (stage) => {
      const { definition } = get(stage);
      const states = allStates(definition);
      for (const [key, name] of Object.entries(STEP_NAMES) as [keyof typeof STEP_NAMES, string][]) {
        const approvalOnly = key === 'approval' || key === 'recordApproval';
        if (approvalOnly && stage === 'dev') {
          expect(states.some((s) => s.name === name)).toBe(false);
          continue;
        }
        expect(stateOf(definition, name).Type).toBe(TASK_TYPES[key]);
      }
      expect(definition.StartAt).toBe('KeepInput');
      expect(stateOf(definition, 'KeepInput')).toMatchObject({
        Type: 'Pass',
        Parameters: { 'input.$': '$' },
        Next: STEP_NAMES.buildDataset,
      });
      expect(definition.QueryLanguage).toBeUndefined();
    },
  );

  it('gives no two states the same name, at any depth', () => {
    const names = allStates(get('prod').definition).map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('runs Train as a .sync training job with KMS on volume and output, a stopping condition and retries on throttling', () => {
    const train = stateOf(get('dev').definition, STEP_NAMES.train);
    expect(train.Resource).toMatch(/:states:::sagemaker:createTrainingJob\.sync$/);
    const params = asObject(train.Parameters);
    expect(params['TrainingJobName.$']).toBe('$.dataset.names.trainingJob');
    expect(params['HyperParameters.$']).toBe('$.dataset.hyperparameters');
    expect(asObject(params.AlgorithmSpecification).TrainingImage).toBe(
      '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
    );
    expect(params.OutputDataConfig).toEqual({
      'S3OutputPath.$': '$.dataset.trainingOutputPath',
      KmsKeyId: expect.stringMatching(/DataKey.*\.Arn|import:.*Key/),
    });
    expect(asObject(params.ResourceConfig)).toMatchObject({
      InstanceType: 'ml.m5.large',
      InstanceCount: 1,
      VolumeKmsKeyId: expect.any(String),
    });
    expect(params.StoppingCondition).toEqual({ MaxRuntimeInSeconds: 3600 });
    expect(params.InputDataConfig).toEqual([
      expect.objectContaining({
        ChannelName: 'train',
        ContentType: 'text/csv',
        DataSource: { S3DataSource: { 'S3Uri.$': '$.dataset.channels.train', S3DataType: 'S3Prefix' } },
      }),
      expect.objectContaining({
        ChannelName: 'validation',
        DataSource: { S3DataSource: { 'S3Uri.$': '$.dataset.channels.validation', S3DataType: 'S3Prefix' } },
      }),
    ]);
    expect(train.ResultSelector).toEqual({
      'jobName.$': '$.TrainingJobName',
      'modelArtifacts.$': '$.ModelArtifacts.S3ModelArtifacts',
    });
    expect(train.ResultPath).toBe('$.trained');
    expect(train.Retry).toEqual([
      expect.objectContaining({
        ErrorEquals: [
          'SageMaker.AmazonSageMakerException',
          'SageMaker.ResourceLimitExceededException',
          'SageMaker.ThrottlingException',
        ],
        BackoffRate: 2,
      }),
    ]);
  });

  it('trains and serves the custom image when the use case brings one', () => {
    const { definition } = get('scheduled');
    const image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/team/model:1';
    expect(
      asObject(asObject(stateOf(definition, STEP_NAMES.train).Parameters).AlgorithmSpecification),
    ).toMatchObject({
      TrainingImage: image,
    });
    expect(
      asObject(asObject(stateOf(definition, STEP_NAMES.createCandidateModel).Parameters).PrimaryContainer),
    ).toMatchObject({ Image: image, 'ModelDataUrl.$': '$.trained.modelArtifacts' });
  });

  it('scores the test split with the candidate and, only when there is one, the champion', () => {
    const { definition } = get('dev');
    const candidate = stateOf(definition, 'TransformCandidate');
    const champion = stateOf(definition, 'TransformChampion');
    for (const [job, who, model] of [
      [candidate, 'candidate', '$.candidate.modelName'],
      [champion, 'champion', '$.champion.modelName'],
    ] as const) {
      expect(job.Resource).toMatch(/:states:::sagemaker:createTransformJob\.sync$/);
      const params = asObject(job.Parameters);
      expect(params['ModelName.$']).toBe(model);
      expect(params.TransformInput).toEqual({
        ContentType: 'text/csv',
        SplitType: 'Line',
        DataSource: {
          S3DataSource: { 'S3Uri.$': '$.dataset.channels.testFeatures', S3DataType: 'S3Prefix' },
        },
      });
      expect(asObject(params.TransformOutput)['S3OutputPath.$']).toBe(
        `States.Format('{}/${who}/', $.dataset.transformOutputPrefix)`,
      );
      expect(asObject(params.TransformOutput).KmsKeyId).toEqual(expect.any(String));
    }
    expect(stateOf(definition, 'HasChampion').Choices).toEqual([
      { Variable: '$.champion.exists', BooleanEquals: true, Next: 'TransformChampion' },
    ]);
    expect(stateOf(definition, STEP_NAMES.transform).ResultPath).toBeNull();
    expect(asObject(stateOf(definition, 'CandidateModelNamed').Parameters)).toEqual({
      'modelName.$': '$.dataset.names.candidateModel',
      'modelArn.$': '$.candidate.modelArn',
    });
  });

  it.each(['dev', 'prod'] as const)(
    'catches every error of every Task and Parallel into RecordFailure, NotifyFailure, Failed (%s)',
    (stage) => {
      const { definition } = get(stage);
      const states = allStates(definition);
      const catching = states.filter(
        (s) => s.topLevel && (s.state.Type === 'Task' || s.state.Type === 'Parallel'),
      );
      expect(catching.length).toBeGreaterThanOrEqual(stage === 'prod' ? 12 : 10);
      for (const { name, state } of catching) {
        const [handler, ...others] = (state.Catch ?? []) as JsonObject[];
        expect(others, name).toEqual([]);
        expect(handler?.ErrorEquals, name).toEqual(['States.ALL']);
        if (name === STEP_NAMES.recordFailure) {
          expect(handler?.Next).toBe(STEP_NAMES.notifyFailure);
        } else if (name === STEP_NAMES.notifyFailure) {
          expect(handler?.Next).toBe(STEP_NAMES.failed);
        } else if (name === STEP_NAMES.exportEdge) {
          // The one Task whose errors do not fail the run: the edge file never holds up the deployment.
          expect(handler?.Next).toBe(STEP_NAMES.recordEdgeFailure);
        } else if (name === STEP_NAMES.recordEdgeFailure) {
          expect(handler?.Next).toBe('EdgeExportSkipped');
        } else {
          expect(handler?.ResultPath, name).toBe('$.error');
          const mark = stateOf(definition, String(handler?.Next));
          expect(mark, name).toMatchObject({ Type: 'Pass', Result: name, ResultPath: '$.failedStep' });
          expect(mark.Next).toBe(STEP_NAMES.recordFailure);
        }
      }
      // Inside the Parallel, the branch Tasks fail the Parallel, whose Catch is checked above.
      const nested = states.filter((s) => !s.topLevel && s.state.Type === 'Task');
      expect(nested.map((s) => s.name).sort()).toEqual(['TransformCandidate', 'TransformChampion']);

      const record = stateOf(definition, STEP_NAMES.recordFailure);
      expect(record.Parameters).toEqual({
        'runId.$': '$$.Execution.Name',
        'state.$': '$',
        kind: 'failure',
        'step.$': '$.failedStep',
      });
      expect(record.Next).toBe(STEP_NAMES.notifyFailure);
      const notify = stateOf(definition, STEP_NAMES.notifyFailure);
      expect(notify.Resource).toMatch(/:states:::sns:publish$/);
      expect(asObject(notify.Parameters).Message).toMatchObject({
        'runId.$': '$$.Execution.Name',
        'failedStep.$': '$.failedStep',
        'error.$': '$.error',
      });
      expect(notify.Next).toBe(STEP_NAMES.failed);
      expect(stateOf(definition, STEP_NAMES.failed)).toMatchObject({
        ErrorPath: '$.error.Error',
        CausePath: '$.error.Cause',
      });
    },
  );

  it('sends {runId, state} to every Lambda step, plus the record kind, and keeps results at the contract paths', () => {
    const { definition } = get('prod');
    const payload = (extra: JsonObject = {}) => ({
      'runId.$': '$$.Execution.Name',
      'state.$': '$',
      ...extra,
    });
    const expected: [string, string | null, JsonObject][] = [
      [STEP_NAMES.buildDataset, '$.dataset', payload()],
      [STEP_NAMES.validateData, '$.validation', payload()],
      [STEP_NAMES.findChampion, '$.champion', payload()],
      [STEP_NAMES.evaluate, '$.evaluation', payload()],
      [STEP_NAMES.register, '$.registered', payload()],
      [STEP_NAMES.recordGateFailure, null, payload({ kind: 'gate-failure' })],
      [STEP_NAMES.recordApproval, null, payload({ kind: 'approval' })],
      [STEP_NAMES.recordSuccess, null, payload({ kind: 'success' })],
    ];
    for (const [name, resultPath, parameters] of expected) {
      const state = stateOf(definition, name);
      // payloadResponseOnly: the function ARN itself is the resource, so the result is the response.
      expect(state.Resource, name).toMatch(/^<.*\.Arn>$/);
      expect(state.Parameters, name).toEqual(parameters);
      expect(state.ResultPath, name).toBe(resultPath);
    }
  });

  it('lets a candidate through the Gate only when it clears the use case floors', () => {
    const { definition, useCase } = get('dev');
    const gate = stateOf(definition, STEP_NAMES.gate);
    expect(gate.Choices).toEqual([
      {
        And: [
          { Variable: '$.evaluation.candidate.auc', NumericGreaterThanEquals: useCase.gates.minAuc },
          { Variable: '$.evaluation.candidate.logLoss', NumericLessThanEquals: useCase.gates.maxLogLoss },
          { Variable: '$.evaluation.aucDrop', NumericLessThanEquals: useCase.gates.maxAucRegression },
        ],
        Next: STEP_NAMES.register,
      },
    ]);
    expect(gate.Default).toBe(STEP_NAMES.recordGateFailure);
    expect(stateOf(definition, STEP_NAMES.recordGateFailure).Next).toBe('RejectedByGate');
    expect(stateOf(definition, 'RejectedByGate').Type).toBe('Succeed');
  });

  it('leaves log loss out of the Gate when the use case sets no ceiling', () => {
    const { definition, useCase } = get('scheduled');
    const and = ((stateOf(definition, STEP_NAMES.gate).Choices as JsonObject[])[0]?.And ??
      []) as JsonObject[];
    expect(and.map((c) => c.Variable)).toEqual(['$.evaluation.candidate.auc', '$.evaluation.aucDrop']);
    expect(and[1]?.NumericLessThanEquals).toBe(useCase.gates.maxAucRegression);
  });

  it('waits for an approver with a task token only where the stage requires approval', () => {
    const prod = get('prod').definition;
    const approval = stateOf(prod, STEP_NAMES.approval);
    expect(approval.Resource).toMatch(/:states:::lambda:invoke\.waitForTaskToken$/);
    expect(asObject(approval.Parameters).Payload).toEqual({
      'runId.$': '$$.Execution.Name',
      'state.$': '$',
      'token.$': '$$.Task.Token',
    });
    expect(approval.TimeoutSeconds).toBe(7 * 24 * 3600);
    expect(approval.ResultPath).toBe('$.approval');
    expect(stateOf(prod, STEP_NAMES.register).Next).toBe(STEP_NAMES.approval);
    expect(approval.Next).toBe(STEP_NAMES.recordApproval);
    expect(stateOf(prod, STEP_NAMES.recordApproval).Next).toBe('IsApproved');
    expect(stateOf(prod, 'IsApproved')).toMatchObject({
      Choices: [{ Variable: '$.approval.decision', StringEquals: 'approved', Next: 'ReadyToDeploy' }],
      Default: 'RejectedByApprover',
    });

    const dev = get('dev').definition;
    expect(stateOf(dev, STEP_NAMES.register).Next).toBe('ReadyToDeploy');
    expect(stateOf(dev, 'ReadyToDeploy').Next).toBe(STEP_NAMES.exportEdge);
    expect(stateOf(dev, STEP_NAMES.deploy).Next).toBe(STEP_NAMES.recordSuccess);
    expect(stateOf(dev, STEP_NAMES.recordSuccess).Next).toBe('IsServing');
  });

  it.each(['dev', 'prod'] as const)(
    'exports the edge file after ReadyToDeploy (after any approval), and every way out of ExportEdge deploys (%s)',
    (stage) => {
      const { definition } = get(stage);
      expect(stateOf(definition, 'ReadyToDeploy').Next).toBe(STEP_NAMES.exportEdge);
      const exportEdge = stateOf(definition, STEP_NAMES.exportEdge);
      expect(exportEdge.Resource).toMatch(/^<.*\.Arn>$/);
      expect(exportEdge.Parameters).toEqual({ 'runId.$': '$$.Execution.Name', 'state.$': '$' });
      expect(exportEdge.ResultPath).toBe('$.edge');
      expect(exportEdge.Next).toBe(STEP_NAMES.deploy);
      // A failed or timed-out attempt reruns once (idempotent), after the Lambda service retries.
      expect(exportEdge.Retry).toEqual([
        expect.objectContaining({ ErrorEquals: expect.arrayContaining(['Lambda.ServiceException']) }),
        {
          ErrorEquals: ['States.TaskFailed', 'States.Timeout'],
          IntervalSeconds: 2,
          MaxAttempts: 2,
          BackoffRate: 2,
        },
      ]);
      // A refused file is a result, not an error; an error the step could not record is recorded
      // by RecordEdgeFailure, and skips to Deploy too, even when that record fails.
      expect(exportEdge.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.edgeError', Next: STEP_NAMES.recordEdgeFailure },
      ]);
      const recordEdge = stateOf(definition, STEP_NAMES.recordEdgeFailure);
      expect(recordEdge.Parameters).toEqual({
        'runId.$': '$$.Execution.Name',
        'state.$': '$',
        kind: 'edge-failure',
      });
      expect(recordEdge.ResultPath).toBeNull();
      expect(recordEdge.Next).toBe('EdgeExportSkipped');
      expect(recordEdge.Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.recordEdgeFailureError', Next: 'EdgeExportSkipped' },
      ]);
      expect(stateOf(definition, 'EdgeExportSkipped')).toMatchObject({
        Type: 'Pass',
        Next: STEP_NAMES.deploy,
      });
      expect(JSON.stringify([exportEdge.Catch, recordEdge.Catch])).not.toContain(STEP_NAMES.recordFailure);
    },
  );

  it('has no ExportEdge state or function when the use case sets no edge', () => {
    const { definition, service } = get('scheduled');
    expect(allStates(definition).map((s) => s.name)).not.toContain(STEP_NAMES.exportEdge);
    expect(allStates(definition).map((s) => s.name)).not.toContain('EdgeExportSkipped');
    expect(allStates(definition).map((s) => s.name)).not.toContain(STEP_NAMES.recordEdgeFailure);
    expect(stateOf(definition, 'ReadyToDeploy').Next).toBe(STEP_NAMES.deploy);
    const services = Object.values(service.findResources('AWS::Lambda::Function') as Resources).map(
      (f) => asObject(asObject(f.Properties?.Environment).Variables).POWERTOOLS_SERVICE_NAME,
    );
    expect(services).toContain('Register');
    expect(services).not.toContain('ExportEdge');
  });
});

describe('the training pipeline resources', () => {
  it('runs a Standard state machine with X-Ray and ALL-level logs to a KMS-encrypted log group, without execution data', () => {
    const t = get('dev').service;
    const machine = t.findResources('AWS::StepFunctions::StateMachine', {
      Properties: { StateMachineName: 'mlops-dev-flight-delay-training' },
    }) as Resources;
    const [props] = Object.values(machine).map((r) => r.Properties);
    expect(props?.StateMachineType).toBe('STANDARD');
    expect(props?.TracingConfiguration).toEqual({ Enabled: true });
    const logging = asObject(props?.LoggingConfiguration);
    expect(logging).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    const groupId = flatten(
      asObject(asObject((logging.Destinations as Json[])[0]).CloudWatchLogsLogGroup).LogGroupArn,
    ).replace(/^<(.*)\.Arn>$/, '$1');
    const group = (t.findResources('AWS::Logs::LogGroup') as Resources)[groupId];
    expect(group?.Properties?.KmsKeyId).toBeDefined();
  });

  it('encrypts the topic with the data key and refuses publishing without TLS', () => {
    const t = get('dev').service;
    const topics = t.findResources('AWS::SNS::Topic') as Resources;
    expect(Object.keys(topics)).toHaveLength(1);
    const [topic] = Object.values(topics);
    expect(flatten(topic?.Properties?.KmsMasterKeyId)).toMatch(/DataKey/);
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('lets the SageMaker role write only under runs/ (and the data capture prefix), with no wildcard S3 actions', () => {
    const t = get('dev').service;
    const roles = t.findResources('AWS::IAM::Role', {
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'sagemaker.amazonaws.com' } })],
        },
      },
    });
    const roleIds = Object.keys(roles);
    expect(roleIds).toHaveLength(1);
    const policies = Object.values(t.findResources('AWS::IAM::Policy') as Resources).filter((p) =>
      ((p.Properties?.Roles ?? []) as Json[]).some((r) => flatten(r) === `<${roleIds[0]}>`),
    );
    const statements = policies.flatMap(
      (p) => asObject(p.Properties?.PolicyDocument).Statement as JsonObject[],
    );
    const s3Statements = statements.filter((s) => [s.Action].flat().some((a) => String(a).startsWith('s3:')));
    expect(s3Statements.length).toBeGreaterThan(0);
    const writes = s3Statements.filter((s) =>
      [s.Action].flat().some((a) => /^s3:(Put|Delete|Abort)/.test(String(a))),
    );
    expect(writes.length).toBeGreaterThan(0);
    for (const s of s3Statements) {
      for (const action of [s.Action].flat()) expect(String(action)).not.toMatch(/\*/);
    }
    for (const s of writes) {
      for (const resource of [s.Resource].flat().map(flatten)) {
        expect(resource).toMatch(
          /^<import:Mlops-dev-Data-(Datasets|Artifacts)Arn>\/runs\/(\*|\*\/transform\/\*)$|^<import:Mlops-dev-Data-PredictionLogsArn>\/capture\/flight-delay\/\*$/,
        );
      }
    }
  });

  it('lets ExportEdge read the model, encoding, scores and snapshot, write only edge/<useCase>/ and append to the ledger', () => {
    // Prepare: the ExportEdge function's role and its policies.
    const t = get('dev').service;
    const [fn] = Object.values(t.findResources('AWS::Lambda::Function') as Resources).filter(
      (f) => asObject(asObject(f.Properties?.Environment).Variables).POWERTOOLS_SERVICE_NAME === 'ExportEdge',
    );
    const roleId = flatten(fn?.Properties?.Role).replace(/^<(.*)\.Arn>$/, '$1');
    const statements = Object.values(t.findResources('AWS::IAM::Policy') as Resources)
      .filter((p) => ((p.Properties?.Roles ?? []) as Json[]).some((r) => flatten(r) === `<${roleId}>`))
      .flatMap((p) => asObject(p.Properties?.PolicyDocument).Statement as JsonObject[])
      .filter((st) => st.Effect === 'Allow');
    const grants = (prefix: string) =>
      statements.flatMap((st) =>
        [st.Action]
          .flat()
          .map(String)
          .filter((a) => a.startsWith(prefix))
          .flatMap((a) => [st.Resource].flat().map((r) => `${a} ${flatten(r)}`)),
      );

    // Assess: S3, exactly these.
    expect(grants('s3:').sort()).toEqual(
      [
        's3:GetObject <import:Mlops-dev-Data-ArtifactsArn>/runs/*',
        's3:GetObject <import:Mlops-dev-Data-DatasetsArn>/runs/*',
        's3:GetObject <import:Mlops-dev-Data-DatasetsArn>/snapshots/flight-delay/*',
        's3:GetObjectVersion <import:Mlops-dev-Data-DatasetsArn>/snapshots/flight-delay/*',
        's3:PutObject <import:Mlops-dev-Data-ArtifactsArn>/edge/flight-delay/*',
      ].sort(),
    );
    // The ledger: put (with its condition checks and reads), never update or delete.
    expect(new Set(grants('dynamodb:').map((g) => g.split(' ')[0]))).toEqual(
      new Set(['dynamodb:PutItem', 'dynamodb:ConditionCheckItem', 'dynamodb:GetItem', 'dynamodb:Query']),
    );
    expect(statements.flatMap((st) => [st.Action].flat().map(String))).not.toContain('sagemaker:CreateModel');
    // Memory for onnxruntime and the test rows; the bundle carries the native addon (not visible with bundling skipped).
    expect(fn?.Properties?.MemorySize).toBeGreaterThanOrEqual(1024);
  });

  it('grants Resource * only for actions that have no resource-level permissions', () => {
    // The nag acknowledgement of `Resource::*` covers a whole role, so this list is what keeps it honest.
    const noResourceLevel = new Set([
      'xray:PutTraceSegments',
      'xray:PutTelemetryRecords',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      'logs:CreateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:DescribeLogGroups',
      'logs:DescribeResourcePolicies',
      'logs:GetLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:UpdateLogDelivery',
      'sagemaker:ListTags',
      'sagemaker:ListModelPackages',
      'cloudwatch:PutMetricData',
      'ecr:GetAuthorizationToken',
      // Scalable targets are named by resource ID; their ARNs carry random IDs.
      'application-autoscaling:RegisterScalableTarget',
      'application-autoscaling:DeregisterScalableTarget',
      'application-autoscaling:DescribeScalableTargets',
      'application-autoscaling:PutScalingPolicy',
    ]);
    for (const stage of ['dev', 'prod', 'scheduled'] as const) {
      const policies = Object.values(get(stage).service.findResources('AWS::IAM::Policy') as Resources);
      const starred = policies
        .flatMap((p) => asObject(p.Properties?.PolicyDocument).Statement as JsonObject[])
        .filter((st) => st.Effect === 'Allow' && [st.Resource].flat().includes('*'))
        .flatMap((st) => [st.Action].flat().map(String));
      expect(
        starred.filter((a) => !noResourceLevel.has(a)),
        stage,
      ).toEqual([]);
    }
  });

  it('configures each step function with exactly the variables its handler parses', () => {
    const t = get('dev').service;
    const functions = Object.values(t.findResources('AWS::Lambda::Function') as Resources);
    const platform = new Set(['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE']);
    const handlers: [string, string, { shape: object }][] = [
      ...LAMBDA_STEPS.map(([key, row]): [string, string, { shape: object }] => [
        functionId(row.handler),
        row.handler,
        STEP_ENV[key],
      ]),
      ['Api', APPROVAL_HANDLER_FILE, APPROVAL_API_ENV],
    ];
    expect(handlers.map(([name]) => name).sort()).toEqual([
      'Api',
      'BuildDataset',
      'Evaluate',
      'ExportEdge',
      'FindChampion',
      'Record',
      'Register',
      'RequestApproval',
      'ValidateData',
    ]);
    for (const [serviceName, file, schema] of handlers) {
      const fn = functions.find((f) => {
        const vars = asObject(asObject(f.Properties?.Environment).Variables);
        return (
          vars.POWERTOOLS_SERVICE_NAME === serviceName && (serviceName !== 'Api' || 'RUN_STATE_TABLE' in vars)
        );
      });
      expect(fn, file).toBeDefined();
      const vars = Object.keys(asObject(asObject(fn?.Properties?.Environment).Variables)).filter(
        (v) => !platform.has(v),
      );
      const expected = Object.keys(schema.shape).filter((v) => v !== 'LEDGER_CHAIN');
      expect(vars.sort(), file).toEqual(expected.sort());
    }
  });

  it('starts a run from POST /training/{useCase}/runs through StartExecution, IAM-authorized', () => {
    const t = get('dev').service;
    const methods = Object.values(t.findResources('AWS::ApiGateway::Method') as Resources);
    const start = methods.find((m) => asObject(m.Properties?.Integration ?? {}).Type === 'AWS');
    expect(start?.Properties?.HttpMethod).toBe('POST');
    expect(start?.Properties?.AuthorizationType).toBe('AWS_IAM');
    const integration = asObject(start?.Properties?.Integration);
    expect(flatten(integration.Uri)).toMatch(/:states:action\/StartExecution$/);
    const template = flatten(asObject(integration.RequestTemplates)['application/json']);
    expect(template).toContain('"useCase":"flight-delay"');
    expect(template).toContain('"name": "$context.requestId"');
    expect(template).toMatch(/"stateMachineArn": "<.*StateMachine.*>"/);
    expect(start?.Properties?.RequestModels).toBeDefined();
    const resources = t.findResources('AWS::ApiGateway::Resource') as Resources;
    const paths = Object.values(resources).map((r) => r.Properties?.PathPart);
    expect(paths).toEqual(
      expect.arrayContaining(['training', 'flight-delay', 'runs', '{runId}', 'approval']),
    );
  });

  it('answers POST /training/runs/{runId}/approval with a Lambda that may only send task success to the pipelines', () => {
    const t = get('prod').service;
    t.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
      RequestParameters: { 'method.request.path.runId': true },
      Integration: Match.objectLike({ Type: 'AWS_PROXY' }),
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'states:SendTaskSuccess',
            Resource: { Ref: Match.stringLikeRegexp('StateMachine') },
          }),
        ]),
      },
    });
  });

  it('schedules retraining with {useCase, trigger: schedule} only when the use case asks for it', () => {
    // The monitor's schedule is the only one when the use case has no trainingSchedule.
    const schedules = Object.values(
      get('dev').service.findResources('AWS::Events::Rule', {
        Properties: { ScheduleExpression: Match.anyValue() },
      }),
    ).map((r) => String((r.Properties as { Description?: string }).Description));
    expect(schedules.filter((d) => !d.startsWith('Monitoring check'))).toEqual([]);
    const t = get('scheduled').service;
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(7 days)',
      Targets: [
        Match.objectLike({
          Input: JSON.stringify({ useCase: 'weekly-custom', trigger: 'schedule' }),
          DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }),
        }),
      ],
    });
  });

  it('registers models in a package group named after the stage and use case', () => {
    get('prod').service.hasResourceProperties('AWS::SageMaker::ModelPackageGroup', {
      ModelPackageGroupName: 'mlops-prod-flight-delay',
    });
  });

  it('passes every nag pack with a schedule and a custom image too', () => {
    expect(synthFindings(get('scheduled').app)).toEqual([]);
  });
});

describe('TrainingDefinition', () => {
  function render(extra: Partial<TrainingDefinitionProps> = {}): JsonObject {
    const stack = new Stack(new App(), 'Def', { env: { region: 'us-east-1', account: '123456789012' } });
    const fn = (name: string) =>
      lambda.Function.fromFunctionArn(stack, name, `arn:aws:lambda:us-east-1:123456789012:function:${name}`);
    const definition = new TrainingDefinition(stack, 'Definition', {
      useCase: get('dev').useCase,
      stage: loadStage('dev'),
      functions: {
        buildDataset: fn('build'),
        validateData: fn('validate'),
        findChampion: fn('champion'),
        evaluate: fn('evaluate'),
        register: fn('register'),
        exportEdge: fn('edge'),
        approval: fn('approval'),
        record: fn('record'),
      },
      sagemakerRole: iam.Role.fromRoleArn(stack, 'Role', 'arn:aws:iam::123456789012:role/sm'),
      imageUri: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1',
      dataKey: kms.Key.fromKeyArn(stack, 'Key', 'arn:aws:kms:us-east-1:123456789012:key/abc'),
      failureTopic: sns.Topic.fromTopicArn(stack, 'Topic', 'arn:aws:sns:us-east-1:123456789012:t'),
      ...extra,
    });
    const graph = new sfn.StateGraph(definition.start.startState, 'training');
    return asObject(stack.resolve(graph.toGraphJson()) as Json);
  }

  it('runs the deployment steps between ReadyToDeploy and RecordSuccess, with their own failure route', () => {
    const definition = render({
      deploy: ({ scope, failure }) => {
        const deploy = new sfn.Pass(scope, 'Deploy');
        const verify = new tasks.EvaluateExpression(scope, 'VerifyEndpoint', { expression: '1 + 1' });
        failure.catchFor(verify, 'VerifyEndpoint');
        return deploy.next(verify);
      },
    });
    expect(stateOf(definition, 'ReadyToDeploy').Next).toBe(STEP_NAMES.exportEdge);
    expect(stateOf(definition, STEP_NAMES.exportEdge).Next).toBe('Deploy');
    expect(stateOf(definition, 'Deploy').Next).toBe('VerifyEndpoint');
    const verify = stateOf(definition, 'VerifyEndpoint');
    expect(verify.Next).toBe(STEP_NAMES.recordSuccess);
    expect(verify.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'CatchVerifyEndpoint' },
    ]);
  });

  it('refuses a use case that turns ExportEdge on without giving its function, at synth', () => {
    const other = new Stack(new App(), 'Functions');
    const fn = (name: string) =>
      lambda.Function.fromFunctionArn(other, name, `arn:aws:lambda:us-east-1:123456789012:function:${name}`);
    expect(() =>
      render({
        functions: {
          buildDataset: fn('build'),
          validateData: fn('validate'),
          findChampion: fn('champion'),
          evaluate: fn('evaluate'),
          register: fn('register'),
          approval: fn('approval'),
          record: fn('record'),
        },
      }),
    ).toThrow('step exportEdge is on for use case flight-delay but has no function');
  });

  it('refuses two failure routes for one step', () => {
    expect(() =>
      render({
        deploy: ({ scope, failure }) => {
          const deploy = new tasks.EvaluateExpression(scope, 'Deploy', { expression: '1 + 1' });
          failure.catchFor(deploy, STEP_NAMES.train);
          return deploy;
        },
      }),
    ).toThrow('step Train already has a failure route');
  });

  it('refuses an approval wait longer than the approval token is kept (7 days) at synth', () => {
    expect(() => render({ approvalTimeout: Duration.days(8) })).toThrow(
      'approvalTimeout must be between 60 seconds and 7 days (how long an approval token is kept), got 8 days',
    );
    expect(() => render({ approvalTimeout: Duration.days(7) })).not.toThrow();
  });
});

/** The demo use case renamed `runs` (its feature groups renamed too, so they stay unique). */
async function useCaseNamedRuns(): Promise<UseCase> {
  const [demo] = await loadUseCases();
  return validateUseCase(
    { ...demo, featureGroups: demo?.featureGroups.map((g) => ({ ...g, name: `${g.name}-r` })), name: 'runs' },
    'test',
  );
}

describe('TrainingPipeline checks', () => {
  it('reports every problem of its props at once, under its construct path', async () => {
    // Prepare: a region-agnostic stack, a use case named runs, and a folder without handlers.
    const runs = await useCaseNamedRuns();
    const stack = new Stack(new App(), 'Checks');
    const emptyDir = mkdtempSync(join(tmpdir(), 'no-handlers-'));
    // The checks run before any other prop is read.
    const unread = undefined as never;

    // Act
    let caught: unknown;
    try {
      new TrainingPipeline(stack, 'Training-runs', {
        useCase: runs,
        stage: loadStage('dev'),
        functionsDir: emptyDir,
        encryptionKey: unread,
        ledger: unread,
        datasetsBucket: unread,
        offlineBucket: unread,
        artifactsBucket: unread,
        runState: unread,
        predictionLogsBucket: unread,
        api: unread,
      });
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(ConstructConfigError);
    const error = caught as ConstructConfigError;
    expect(error.path).toBe('Checks/Training-runs');
    expect(error.problems).toEqual([
      expect.stringMatching(
        /^needs a stack with an explicit region \(image URIs are regional\), got \$\{Token/,
      ),
      "use case name 'runs' collides with the /training/runs approval route; rename it",
      ...LAMBDA_STEPS.map(([, row]) => `pipeline handler ${row.handler} is missing from ${emptyDir}`),
    ]);
    expect(error.message).toMatch(
      new RegExp(`^Checks/Training-runs: ${2 + LAMBDA_STEPS.length} problems:\n {2}- needs a stack`),
    );
  });

  it('refuses a use case named runs, whose route would collide with the approval route', async () => {
    const runs = await useCaseNamedRuns();
    await expect(build('dev', [runs])).rejects.toThrow(
      "use case name 'runs' collides with the /training/runs approval route; rename it",
    );
  });
});
