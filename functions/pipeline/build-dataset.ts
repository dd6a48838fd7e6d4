/** BuildDataset step: the snapshot (built or pinned), its XGBoost channels and TrainingStarted. */
import { buildDatasetStep } from '../../shared/pipeline/build-dataset.ts';
import { StepPayloadSchema } from '../../shared/pipeline/contracts.ts';

import { statePart } from '../../shared/pipeline/state.ts';
import { STEP_ENV } from '../../shared/pipeline/steps.ts';
import { s3Client } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { ledgerLocation, stepHandler } from './step-handler.ts';

const env = loadEnv(STEP_ENV.buildDataset);
const s3 = s3Client();
const ledger = ledgerLocation(env);

export const handler = stepHandler(StepPayloadSchema, ({ runId, state }) =>
  buildDatasetStep({
    runId,
    input: statePart(state, 'input'),
    useCase: env.USE_CASE_CONFIG,
    s3,
    ledger,
    buckets: { datasets: env.DATASETS_BUCKET, offline: env.OFFLINE_BUCKET, artifacts: env.ARTIFACTS_BUCKET },
    imageUri: env.IMAGE_URI,
    codeVersion: env.CODE_VERSION,
    configHash: env.CONFIG_HASH,
  }),
);
