/** ValidateData step: the data quality gate; a failure throws DataValidationError. */
import { StepPayloadSchema } from '../../shared/pipeline/contracts.ts';

import { statePart } from '../../shared/pipeline/state.ts';
import { STEP_ENV } from '../../shared/pipeline/steps.ts';
import { validateDataStep } from '../../shared/pipeline/validate-data.ts';
import { s3Client } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { stepHandler } from './step-handler.ts';

const env = loadEnv(STEP_ENV.validateData);
const s3 = s3Client();

export const handler = stepHandler(StepPayloadSchema, ({ state }) =>
  validateDataStep({ useCase: env.USE_CASE_CONFIG, s3, dataset: statePart(state, 'dataset') }),
);
