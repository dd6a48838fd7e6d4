/**
 * Deployment operations the CLI and the demo share: ask for a rollback through the IAM-authorized
 * route (so the caller's identity, not a name it claims, is recorded), and wait for the deploy
 * execution's verified result.
 */
import { DescribeExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { DeploymentResult } from '../../shared/deployment/contracts.ts';
import { DEPLOYMENT_ROUTES } from '../../shared/deployment/contracts.ts';
import type { RollbackBody, RollbackStarted } from '../../shared/deployment/rollback.ts';
import { signedFetch } from '../local/sigv4.ts';
import type { Target } from './target.ts';

/** Asks for a rollback of `useCase`; the deploy execution it started. */
export async function requestRollback(
  target: Target,
  useCase: string,
  body: RollbackBody,
): Promise<RollbackStarted> {
  if (!target.apiUrl) {
    throw new Error('no API URL: pass --api-url https://<api-id>.execute-api.<region>.amazonaws.com/v1');
  }
  const path = DEPLOYMENT_ROUTES.rollback.path.replace('{useCase}', encodeURIComponent(useCase));
  const res = await signedFetch(`${target.apiUrl}${path}`, DEPLOYMENT_ROUTES.rollback.method, body);
  const answer = (await res.json()) as unknown;
  if (res.status !== 200) throw new Error(`rollback refused (${res.status}): ${JSON.stringify(answer)}`);
  return answer as RollbackStarted;
}

/** How a deploy execution ended. */
export interface DeployEnd {
  readonly status: string;
  /** The verified result, when the execution succeeded (deployed, rolled back or unchanged). */
  readonly result?: DeploymentResult;
  readonly error?: string;
  readonly cause?: string;
}

/** Waits for a deploy execution to end. */
export async function waitForDeploy(sfn: SFNClient, executionArn: string, pollMs = 1000): Promise<DeployEnd> {
  for (;;) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') {
      return {
        status: d.status ?? 'UNKNOWN',
        ...(d.output ? { result: JSON.parse(d.output) as DeploymentResult } : {}),
        ...(d.error ? { error: d.error } : {}),
        ...(d.cause ? { cause: d.cause } : {}),
      };
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
