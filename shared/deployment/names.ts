/**
 * The names a use case's deployment is known by: its endpoint, its deploy state machine, the two
 * variant slots, the alarms that guard a deployment, and the SageMaker models and endpoint
 * configs each deployment creates. Synth (the alarms, the grants) and the deploy functions (run
 * time) both derive them here, so an alarm the machine watches is always one the stack defines.
 */
import { sha256Hex } from '../ledger/canonical.ts';
import { sageMakerName } from '../pipeline/names.ts';

/**
 * The endpoint's two variant slots. A deployment puts the new version in the slot the serving one
 * does not use, so during a canary each version has its own variant: the variant that answered a
 * request names the version, and each slot has alarms of its own.
 */
export const SLOTS = ['blue', 'green'] as const;
export type Slot = (typeof SLOTS)[number];

/** The slot a deployment uses next to one that is serving (or the first slot when none is). */
export function otherSlot(serving: Slot | undefined): Slot {
  return serving === 'blue' ? 'green' : 'blue';
}

/** Whether a variant name is one of our slots. */
export function isSlot(name: string | undefined): name is Slot {
  return name === 'blue' || name === 'green';
}

/** The endpoint of a use case in a stage: `mlops-<stage>-<useCase>`. */
export function endpointNameOf(stage: string, useCase: string): string {
  return sageMakerName(`mlops-${stage}`, useCase);
}

/** Where an endpoint's SageMaker data capture lands in the prediction-log bucket. */
export function dataCapturePrefix(useCase: string): string {
  return `capture/${useCase}/`;
}

/** The deploy state machine of a use case: `mlops-<stage>-<useCase>-deploy`. */
export function deployMachineNameOf(stage: string, useCase: string): string {
  return `mlops-${stage}-${useCase}-deploy`;
}

/** The alarms that guard a deployment to `endpointName`. */
export interface DeploymentAlarmNames {
  /** Per slot: the variant's Invocation5XXErrors. */
  readonly errors: Readonly<Record<Slot, string>>;
  /** Per slot: the variant's ModelLatency p99. */
  readonly latency: Readonly<Record<Slot, string>>;
  /** The predict function's Errors. */
  readonly predictErrors: string;
}

/** The alarm names of an endpoint's deployments. */
export function deploymentAlarmNames(endpointName: string): DeploymentAlarmNames {
  const perSlot = (what: string) =>
    Object.fromEntries(SLOTS.map((s) => [s, `${endpointName}-${s}-${what}`])) as Record<Slot, string>;
  return {
    errors: perSlot('5xx'),
    latency: perSlot('latency-p99'),
    predictErrors: `${endpointName}-predict-errors`,
  };
}

/** Every alarm a deployment into `slot` watches: that slot's, and the predict function's. */
export function alarmsWatchedFor(names: DeploymentAlarmNames, slot: Slot): string[] {
  return [names.errors[slot], names.latency[slot], names.predictErrors];
}

/** Every alarm of the endpoint, for SageMaker's AutoRollbackConfiguration. */
export function allAlarms(names: DeploymentAlarmNames): string[] {
  return [...SLOTS.flatMap((s) => [names.errors[s], names.latency[s]]), names.predictErrors];
}

/** The SageMaker model that serves package version `version` (with the serving environment). */
export function servingModelName(modelPackageGroup: string, version: number): string {
  return sageMakerName(modelPackageGroup, `v${version}-serve`);
}

/** A short, stable ID of one deployment (from the deploy execution's name). */
export function deploymentIdOf(endpointName: string, executionName: string): string {
  return `${endpointName}/${executionName}`;
}

/** An endpoint config of one deployment: `phase` is `canary` (both versions) or `full` (the new one). */
export function endpointConfigNameOf(
  endpointName: string,
  deploymentId: string,
  phase: 'canary' | 'full',
): string {
  return sageMakerName(endpointName, `${sha256Hex(deploymentId).slice(0, 10)}-${phase}`);
}

/** The environment every serving model carries, so the predict path knows what answered. */
export const SERVING_MODEL_ENV = {
  modelVersion: 'MLOPS_MODEL_VERSION',
  encodingUri: 'MLOPS_ENCODING_URI',
} as const;
