/** FindChampion step: the serving (else latest approved) model package and a SageMaker model to transform with. */
import { StepPayloadSchema } from '../../shared/pipeline/contracts.ts';

import { findChampionStep } from '../../shared/pipeline/find-champion.ts';
import { STEP_ENV } from '../../shared/pipeline/steps.ts';
import { sageMakerClient } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { stepHandler } from './step-handler.ts';

const env = loadEnv(STEP_ENV.findChampion);
const sagemaker = sageMakerClient();

export const handler = stepHandler(StepPayloadSchema, () =>
  findChampionStep({
    sagemaker,
    useCase: env.USE_CASE_CONFIG.name,
    modelPackageGroup: env.MODEL_PACKAGE_GROUP,
    imageUri: env.IMAGE_URI,
    roleArn: env.SAGEMAKER_ROLE_ARN,
    endpointName: env.ENDPOINT_NAME,
  }),
);
