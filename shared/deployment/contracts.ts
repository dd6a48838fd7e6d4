/**
 * The deploy state machine's data contract. The execution input sits at `$.input`; PrepareDeployment
 * writes `$.plan`, each DescribeEndpoint `$.endpoint`, WatchDeployment `$.watch`, and
 * FinishDeployment `$.result`, which is also the execution's output. The definition
 * (pipelines/deploy/) and the handlers (functions/pipeline/*-deployment.ts) code against these.
 */
import * as z from 'zod';
import { S3UriSchema, StepPayloadSchema } from '../pipeline/contracts.ts';
import { SLOTS } from './names.ts';

/** Why a deployment runs. */
export const DeployTriggerSchema = z.enum(['pipeline', 'rollback']);

/** The execution input. */
export const DeployInputSchema = z.strictObject({
  /** The approved model package version to serve. */
  modelPackageArn: z.string().regex(/^arn:aws[a-z-]*:sagemaker:[^:]*:\d{12}:model-package\/.+\/\d+$/, {
    message: 'must be a versioned model package ARN (…:model-package/<group>/<version>)',
  }),
  trigger: DeployTriggerSchema,
  /** Who asked: the pipeline run, or the caller's IAM principal ARN. */
  actor: z.string().min(1).max(500),
  reason: z.string().trim().min(1).max(2000),
  /** The training run that produced the model, when the pipeline deploys it. */
  runId: z.string().min(1).optional(),
  /** Added by Step Functions when a parent execution (the training pipeline) starts this one. */
  AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().min(1).optional(),
});
export type DeployInput = z.infer<typeof DeployInputSchema>;

const SlotSchema = z.enum(SLOTS);

/** A production variant as CreateEndpointConfig takes it. */
export const ProductionVariantSchema = z.looseObject({
  VariantName: SlotSchema,
  ModelName: z.string().min(1),
  InitialVariantWeight: z.number().min(0),
});

/** What is serving on the endpoint before the deployment. */
export const ServingSchema = z.strictObject({
  modelVersion: z.string().min(1),
  slot: SlotSchema,
  configName: z.string().min(1),
});
export type Serving = z.infer<typeof ServingSchema>;

/** PrepareDeployment's result: everything the machine needs, decided once. */
export const DeploymentPlanSchema = z.strictObject({
  deploymentId: z.string().min(1),
  endpointName: z.string().min(1),
  /** CreateEndpoint when false, UpdateEndpoint when true. */
  endpointExists: z.boolean(),
  modelVersion: z.string().min(1),
  modelPackageArn: z.string().min(1),
  modelName: z.string().min(1),
  slot: SlotSchema,
  previous: ServingSchema.nullable(),
  /** `canary`: a share of traffic first, then all; `all-at-once`: the new version takes everything. */
  strategy: z.strictObject({
    kind: z.enum(['canary', 'all-at-once']),
    canaryPercent: z.number().int().min(1).max(100),
    bakeSeconds: z.number().int().min(0),
  }),
  /** The config the first Create/UpdateEndpoint asks for (the canary's, or the full one). */
  firstConfig: z.string().min(1),
  /** The config with the new version alone: where a completed deployment ends. */
  fullConfig: z.string().min(1),
  /** The alarms watched during the bake, and given to SageMaker's AutoRollbackConfiguration. */
  alarms: z.array(z.string().min(1)).min(1),
  autoRollbackAlarms: z.array(z.strictObject({ AlarmName: z.string().min(1) })).min(1),
  /** The same version already serves alone: nothing to do. */
  alreadyServing: z.boolean(),
  encodingUri: S3UriSchema,
});
export type DeploymentPlan = z.infer<typeof DeploymentPlanSchema>;

/** What the DescribeEndpoint task keeps. */
export const EndpointStateSchema = z.looseObject({
  EndpointStatus: z.string(),
  EndpointConfigName: z.string().optional(),
  FailureReason: z.string().optional(),
});
export type EndpointState = z.infer<typeof EndpointStateSchema>;

/**
 * Seconds between two watches of a bake. The bake is counted in watch rounds, not read from a
 * clock, so a local cloud that shortens Wait states shortens the bake with them.
 */
export const WATCH_INTERVAL_SECONDS = 60;

/** Which update the machine is watching. */
export const WatchPhaseSchema = z.enum(['first', 'full', 'restore']);
export type WatchPhase = z.infer<typeof WatchPhaseSchema>;

/** WatchDeployment's verdict. */
export const WatchResultSchema = z.strictObject({
  phase: WatchPhaseSchema,
  verdict: z.enum([
    /** Still inside the bake: check again after a pause. */
    'baking',
    /** The bake passed with no alarm: go on. */
    'baked',
    /** A watched alarm is in ALARM: restore the previous config. */
    'alarm',
    /** SageMaker itself rolled the update back (its endpoint config is not the one asked for). */
    'rolled-back',
    /** The endpoint failed. */
    'failed',
  ]),
  /** Watch rounds done in this phase; the bake ends after `bakeSeconds / WATCH_INTERVAL_SECONDS` of them. */
  round: z.number().int().min(1),
  alarms: z.array(z.string()).default([]),
  reason: z.string().optional(),
});
export type WatchResult = z.infer<typeof WatchResultSchema>;

/** How a deployment ended: the execution's output. */
export const DeploymentResultSchema = z.strictObject({
  outcome: z.enum(['deployed', 'rolled-back', 'unchanged', 'failed']),
  deploymentId: z.string().min(1),
  endpointName: z.string().min(1),
  /** The version the deployment tried to serve. */
  modelVersion: z.string().min(1),
  /** The version serving when the deployment ended (verified on the endpoint). */
  servingModelVersion: z.string().nullable(),
  endpointConfigName: z.string().nullable(),
  reason: z.string(),
  /** The alarms that fired, for a rollback on alarm. */
  alarms: z.array(z.string()),
});
export type DeploymentResult = z.infer<typeof DeploymentResultSchema>;

/** What ScaleEndpoint registered: the serving variant's autoscaling, or null and why not. */
export const ScalingResultSchema = z.strictObject({
  registered: z
    .strictObject({
      resourceId: z.string().min(1),
      minCapacity: z.number().int(),
      maxCapacity: z.number().int(),
      targetInvocationsPerInstance: z.number(),
    })
    .nullable(),
  /** The other slot's registration, removed. */
  deregistered: z.string().nullable().optional(),
  reason: z.string(),
});
export type ScalingResult = z.infer<typeof ScalingResultSchema>;

/** Payload of WatchDeployment: the step payload (`{runId, state}`, runId = the execution name) and the phase. */
export const WatchPayloadSchema = StepPayloadSchema.extend({ phase: WatchPhaseSchema });

/** The parts of the deploy machine's state, with their contracts. */
export const DEPLOY_STATE_PARTS = {
  input: DeployInputSchema,
  plan: DeploymentPlanSchema,
  endpoint: EndpointStateSchema,
  watch: WatchResultSchema,
  result: DeploymentResultSchema,
  scaling: ScalingResultSchema,
  error: z.object({ Error: z.string().optional(), Cause: z.string().optional() }),
} as const;
export type DeployStatePart = keyof typeof DEPLOY_STATE_PARTS;

/** The JSONPath of a deploy state part or a field in it. */
export function deployPath(part: DeployStatePart, ...fields: readonly string[]): string {
  return ['$', part, ...fields].join('.');
}

/** The deployment routes. */
export const DEPLOYMENT_ROUTES = {
  rollback: { method: 'POST', path: '/deployments/{useCase}/rollback' },
} as const;

/** The deploy state lacks a part a step needs, or the part does not match its contract. */
export class DeployStateError extends Error {
  override readonly name: string = 'DeployStateError';
}

/** Parses `$.<part>` of the deploy state; `optional` parts may be absent. */
export function deployPart<K extends DeployStatePart>(
  state: Readonly<Record<string, unknown>>,
  part: K,
): z.infer<(typeof DEPLOY_STATE_PARTS)[K]> {
  const parsed = DEPLOY_STATE_PARTS[part].safeParse(state[part], { reportInput: true });
  if (!parsed.success) {
    throw new DeployStateError(
      `$.${part} is missing or does not match its contract: ${parsed.error.message}`,
    );
  }
  return parsed.data as z.infer<(typeof DEPLOY_STATE_PARTS)[K]>;
}

/** Like {@link deployPart}, but undefined when the part is absent. */
export function optionalDeployPart<K extends DeployStatePart>(
  state: Readonly<Record<string, unknown>>,
  part: K,
): z.infer<(typeof DEPLOY_STATE_PARTS)[K]> | undefined {
  return state[part] === undefined || state[part] === null ? undefined : deployPart(state, part);
}
