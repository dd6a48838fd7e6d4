/** PrepareDeployment step: refuse, or plan the deployment, create its model and configs, record DeploymentStarted. */
import { deployPart } from '../../shared/deployment/contracts.ts';
import { deploymentAlarmNames } from '../../shared/deployment/names.ts';
import { prepareDeployment } from '../../shared/deployment/prepare.ts';
import { DEPLOY_ENV } from '../../shared/deployment/steps.ts';
import { StepPayloadSchema } from '../../shared/pipeline/contracts.ts';
import { sageMakerClient } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { ledgerLocation, stepHandler } from './step-handler.ts';

const env = loadEnv(DEPLOY_ENV.prepare);
const sagemaker = sageMakerClient();
const ledger = ledgerLocation(env);

export const handler = stepHandler(StepPayloadSchema, ({ runId, state }) =>
  prepareDeployment({
    sagemaker,
    ledger,
    useCase: env.USE_CASE_CONFIG,
    endpointName: env.ENDPOINT_NAME,
    modelPackageGroup: env.MODEL_PACKAGE_GROUP,
    roleArn: env.SAGEMAKER_ROLE_ARN,
    dataKeyArn: env.DATA_KEY_ARN,
    dataCaptureUri: env.DATA_CAPTURE_URI,
    alarms: deploymentAlarmNames(env.ENDPOINT_NAME),
    executionName: runId,
    input: deployPart(state, 'input'),
  }),
);
