/** FinishDeployment step: verify what serves and record DeploymentCompleted or DeploymentRolledBack. */
import { deployPart, optionalDeployPart } from '../../shared/deployment/contracts.ts';
import { finishDeployment } from '../../shared/deployment/finish.ts';
import { DEPLOY_ENV } from '../../shared/deployment/steps.ts';
import { StepPayloadSchema } from '../../shared/pipeline/contracts.ts';
import { sageMakerClient } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { ledgerLocation, stepHandler } from './step-handler.ts';

const env = loadEnv(DEPLOY_ENV.finish);
const sagemaker = sageMakerClient();
const ledger = ledgerLocation(env);

export const handler = stepHandler(StepPayloadSchema, ({ state }) => {
  const watch = optionalDeployPart(state, 'watch');
  const error = optionalDeployPart(state, 'error');
  return finishDeployment({
    sagemaker,
    ledger,
    useCase: env.USE_CASE_CONFIG,
    input: deployPart(state, 'input'),
    plan: deployPart(state, 'plan'),
    ...(watch ? { watch } : {}),
    ...(error ? { error } : {}),
  });
});
