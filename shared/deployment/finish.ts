/**
 * FinishDeployment: reads what the endpoint serves now and records how the deployment ended.
 * DeploymentCompleted is recorded only when the endpoint is verified on the new config with the
 * new version; anything else is DeploymentRolledBack naming why (the alarm that fired, or
 * SageMaker's own FailureReason) and the version left serving. A version that was rolled back is
 * marked Rejected in the registry, so "the previous approved version" never means it again.
 */
import { type SageMakerClient, UpdateModelPackageCommand } from '@aws-sdk/client-sagemaker';
import type { UseCase } from '../config/use-case.ts';
import type { LedgerWriter } from '../ledger/append.ts';
import type { DeploymentCompleted, DeploymentRolledBack } from '../ledger/events.ts';
import { appendOnce } from '../pipeline/ledger.ts';
import type { DeployInput, DeploymentPlan, DeploymentResult, WatchResult } from './contracts.ts';
import { describeServing, primaryVariant } from './serving.ts';

/** The deployment left the endpoint in a state nobody asked for. */
export class DeploymentFailedError extends Error {
  override readonly name: string = 'DeploymentFailedError';
}

/** What FinishDeployment needs. */
export interface FinishDeploymentOptions {
  readonly sagemaker: SageMakerClient;
  readonly ledger: LedgerWriter;
  readonly useCase: UseCase;
  readonly input: DeployInput;
  readonly plan: DeploymentPlan;
  /** The last watch; absent when the plan found the version already serving, or a task failed. */
  readonly watch?: WatchResult;
  /** What a failed task left at `$.error` (its Catch routes here). */
  readonly error?: { readonly Error?: string; readonly Cause?: string };
  /** @default () => new Date() */
  readonly now?: () => Date;
}

const MAX_REASON = 2000;

function clip(text: string): string {
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text;
}

/** Runs FinishDeployment. */
export async function finishDeployment(o: FinishDeploymentOptions): Promise<DeploymentResult> {
  const { plan } = o;
  const serving = await describeServing(o.sagemaker, plan.endpointName);
  const primary = primaryVariant(serving);
  const base = {
    deploymentId: plan.deploymentId,
    endpointName: plan.endpointName,
    modelVersion: plan.modelVersion,
    servingModelVersion: primary?.modelVersion ?? null,
    endpointConfigName: serving?.configName ?? null,
    alarms: o.watch?.alarms ?? [],
  };
  if (plan.alreadyServing) {
    return {
      ...base,
      outcome: 'unchanged',
      reason: `${plan.modelVersion} already serves alone on ${plan.endpointName}`,
    };
  }
  const time = (o.now ?? (() => new Date()))().toISOString();
  const verified =
    serving?.status === 'InService' &&
    serving.configName === plan.fullConfig &&
    serving.variants.length === 1 &&
    primary?.modelVersion === plan.modelVersion;
  const watched = o.watch;
  if (!o.error && watched?.verdict === 'baked' && watched.phase !== 'restore' && verified) {
    const event: DeploymentCompleted = {
      type: 'DeploymentCompleted',
      eventId: `${plan.deploymentId}-completed`,
      actor: o.input.actor,
      time,
      useCase: o.useCase.name,
      deploymentId: plan.deploymentId,
      modelVersion: plan.modelVersion,
      endpointName: plan.endpointName,
      endpointConfigName: plan.fullConfig,
      reason: clip(o.input.reason),
    };
    await appendOnce(o.ledger, event);
    return {
      ...base,
      outcome: 'deployed',
      reason: `verified: ${plan.endpointName} serves ${plan.modelVersion} on ${plan.fullConfig}`,
    };
  }

  // Every other ending is a rollback (or a failed first deployment), recorded with its reason.
  const caught = o.error ? `${o.error.Error ?? 'error'}: ${o.error.Cause ?? 'no cause given'}` : undefined;
  const reason = clip(
    caught ??
      watched?.reason ??
      (watched?.verdict === 'baked'
        ? `the endpoint was not verified on ${plan.fullConfig} with ${plan.modelVersion}: it serves ${base.servingModelVersion ?? 'nothing'} on ${base.endpointConfigName ?? '(no config)'}`
        : `the deployment ended with verdict ${watched?.verdict ?? 'none'}`),
  );
  const restored =
    primary?.modelVersion && primary.modelVersion !== plan.modelVersion ? primary.modelVersion : undefined;
  const event: DeploymentRolledBack = {
    type: 'DeploymentRolledBack',
    eventId: `${plan.deploymentId}-rolled-back`,
    actor:
      watched?.verdict === 'alarm' || watched?.phase === 'restore' ? 'deploy/WatchDeployment' : 'sagemaker',
    time,
    useCase: o.useCase.name,
    deploymentId: plan.deploymentId,
    modelVersion: plan.modelVersion,
    endpointName: plan.endpointName,
    ...(restored ? { restoredModelVersion: restored } : {}),
    reason,
    ...(serving?.configName ? { endpointConfigName: serving.configName } : {}),
    ...(base.alarms.length > 0 ? { alarms: [...base.alarms] } : {}),
  };
  await appendOnce(o.ledger, event);
  await o.sagemaker.send(
    new UpdateModelPackageCommand({
      ModelPackageArn: plan.modelPackageArn,
      ModelApprovalStatus: 'Rejected',
      ApprovalDescription: clip(`rolled back from ${plan.endpointName}: ${reason}`).slice(0, 1024),
    }),
  );
  if ((o.error || watched?.verdict === 'failed') && restored === undefined && plan.previous !== null) {
    throw new DeploymentFailedError(`${plan.endpointName}: ${reason}`);
  }
  return {
    ...base,
    outcome: restored === undefined && plan.previous === null ? 'failed' : 'rolled-back',
    reason,
  };
}
