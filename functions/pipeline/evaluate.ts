/** Evaluate step: candidate and champion metrics on the same test split, the gates, ModelEvaluated. */
import { StepPayloadSchema } from '../../shared/pipeline/contracts.ts';

import { evaluateStep } from '../../shared/pipeline/evaluate.ts';
import { statePart } from '../../shared/pipeline/state.ts';
import { STEP_ENV } from '../../shared/pipeline/steps.ts';
import { s3Client } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { ledgerLocation, stepHandler } from './step-handler.ts';

const env = loadEnv(STEP_ENV.evaluate);
const s3 = s3Client();
const ledger = ledgerLocation(env);

export const handler = stepHandler(StepPayloadSchema, ({ runId, state }) =>
  evaluateStep({
    runId,
    useCase: env.USE_CASE_CONFIG,
    s3,
    ledger,
    dataset: statePart(state, 'dataset'),
    champion: statePart(state, 'champion'),
  }),
);
