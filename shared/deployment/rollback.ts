/**
 * Rollback on demand: the deploy machine run on an earlier approved version, with the caller's
 * identity and reason. Without `to`, the target is the newest approved version older than the
 * one serving; a version the deploy machine rolled back is no longer approved, so it is skipped.
 */
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import * as z from 'zod';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import { modelVersionOf, packageVersionOf, packageVersions } from '../pipeline/find-champion.ts';
import type { DeployInput } from './contracts.ts';
import { describeServing, primaryVariant } from './serving.ts';

/** The body of `POST /deployments/{useCase}/rollback` (and what `mlops rollback` sends). */
export const RollbackBodySchema = z.strictObject({
  /** Why: recorded in the ledger with the caller's identity. */
  reason: z.string().trim().min(1).max(2000),
  /**
   * The model package version to serve again.
   * @default - the newest approved version older than the one serving
   */
  to: z.number().int().positive().optional(),
});
export type RollbackBody = z.infer<typeof RollbackBodySchema>;

/** What a rollback request started. */
export interface RollbackStarted {
  readonly executionArn: string;
  readonly endpointName: string;
  /** The version serving when the rollback was asked for (null when nothing served). */
  readonly fromModelVersion: string | null;
  readonly toModelVersion: string;
}

/** What {@link startRollback} needs. */
export interface RollbackOptions {
  readonly sagemaker: SageMakerClient;
  readonly sfn: SFNClient;
  readonly useCase: string;
  readonly endpointName: string;
  readonly modelPackageGroup: string;
  readonly deployStateMachineArn: string;
  /** The caller's IAM principal ARN. */
  readonly actor: string | undefined;
  readonly body: RollbackBody;
}

/** Chooses the version and starts the deploy machine on it. */
export async function startRollback(o: RollbackOptions): Promise<RollbackStarted> {
  if (!o.actor) throw new ForbiddenError('a rollback needs an IAM identity to record; call the route signed');
  const serving = primaryVariant(await describeServing(o.sagemaker, o.endpointName));
  const current = packageVersionOf(serving?.modelVersion ?? '');
  let target: { version: number; arn: string } | undefined;
  if (o.body.to !== undefined) {
    const to = o.body.to;
    if (to === current) throw new ConflictError(`to: version ${to} already serves on ${o.endpointName}`);
    const found = (await packageVersions(o.sagemaker, o.modelPackageGroup)).find((v) => v.version === to);
    if (!found) throw new NotFoundError(`to: ${o.useCase} has no model version ${to}`);
    if (found.status !== 'Approved') {
      throw new ConflictError(
        `to: version ${to} is ${found.status || 'without a status'}; only an approved version may serve`,
      );
    }
    target = found;
  } else {
    if (current === undefined) {
      throw new ConflictError(`nothing serves on ${o.endpointName}: there is no deployment to roll back`);
    }
    target = (await packageVersions(o.sagemaker, o.modelPackageGroup)).find(
      (v) => v.status === 'Approved' && v.version < current,
    );
    if (!target) {
      throw new ConflictError(`${o.useCase} has no approved version older than v${current} to roll back to`);
    }
  }
  const input: DeployInput = {
    modelPackageArn: target.arn,
    trigger: 'rollback',
    actor: o.actor,
    reason: o.body.reason,
  };
  const started = await o.sfn.send(
    new StartExecutionCommand({ stateMachineArn: o.deployStateMachineArn, input: JSON.stringify(input) }),
  );
  if (!started.executionArn) throw new Error('StartExecution returned no execution ARN');
  return {
    executionArn: started.executionArn,
    endpointName: o.endpointName,
    fromModelVersion: serving?.modelVersion ?? null,
    toModelVersion: modelVersionOf(o.useCase, target.version),
  };
}
