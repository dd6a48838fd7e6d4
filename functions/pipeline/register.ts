/** Register step: evaluation.json, the model package and ModelRegistered. */
import { StepPayloadSchema } from '../../shared/pipeline/contracts.ts';

import { registerStep } from '../../shared/pipeline/register.ts';
import { optionalStatePart, statePart } from '../../shared/pipeline/state.ts';
import { STEP_ENV } from '../../shared/pipeline/steps.ts';
import { s3Client, sageMakerClient } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { ledgerLocation, stepHandler } from './step-handler.ts';

const env = loadEnv(STEP_ENV.register);
const s3 = s3Client();
const sagemaker = sageMakerClient();
const ledger = ledgerLocation(env);

export const handler = stepHandler(StepPayloadSchema, ({ runId, state }) => {
  const champion = optionalStatePart(state, 'champion');
  return registerStep({
    runId,
    useCase: env.USE_CASE_CONFIG,
    s3,
    sagemaker,
    ledger,
    artifactsBucket: env.ARTIFACTS_BUCKET,
    modelPackageGroup: env.MODEL_PACKAGE_GROUP,
    imageUri: env.IMAGE_URI,
    requireApproval: env.STAGE_REQUIRE_APPROVAL,
    dataset: statePart(state, 'dataset'),
    trained: statePart(state, 'trained'),
    evaluation: statePart(state, 'evaluation'),
    ...(champion ? { champion } : {}),
  });
});
