/** ScaleEndpoint step: target-tracking autoscaling on the variant that serves, none on the other slot. */
import { scaleEndpoint } from '../../shared/deployment/scale.ts';
import { DEPLOY_ENV } from '../../shared/deployment/steps.ts';
import { StepPayloadSchema } from '../../shared/pipeline/contracts.ts';
import { applicationAutoScalingClient, sageMakerClient } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { stepHandler } from './step-handler.ts';

const env = loadEnv(DEPLOY_ENV.scale);
const autoscaling = applicationAutoScalingClient();
const sagemaker = sageMakerClient();

export const handler = stepHandler(StepPayloadSchema, () =>
  scaleEndpoint({ autoscaling, sagemaker, useCase: env.USE_CASE_CONFIG, endpointName: env.ENDPOINT_NAME }),
);
