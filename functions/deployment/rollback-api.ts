/**
 * `POST /deployments/<useCase>/rollback` with `{reason, to?}`: runs the deploy machine on an
 * earlier approved version. The actor is the caller's IAM identity (the route uses IAM
 * authorization); the answer names the execution to follow.
 */

import { RollbackBodySchema, startRollback } from '../../shared/deployment/rollback.ts';
import { ROLLBACK_ENV } from '../../shared/deployment/steps.ts';
import { parseJsonBody, parseOrThrow } from '../../shared/features/api.ts';
import { sageMakerClient, sfnClient } from '../shared/clients.ts';
import { httpHandler } from '../shared/http.ts';
import { loadEnv } from '../shared/observability.ts';

const env = loadEnv(ROLLBACK_ENV);
const sagemaker = sageMakerClient();
const sfn = sfnClient();

export const handler = httpHandler(async (event) =>
  startRollback({
    sagemaker,
    sfn,
    useCase: env.USE_CASE_CONFIG.name,
    endpointName: env.ENDPOINT_NAME,
    modelPackageGroup: env.MODEL_PACKAGE_GROUP,
    deployStateMachineArn: env.DEPLOY_STATE_MACHINE_ARN,
    actor: event.requestContext.identity.userArn ?? undefined,
    body: parseOrThrow(RollbackBodySchema, parseJsonBody(event.body), 'rollback request'),
  }),
);
