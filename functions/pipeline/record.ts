/** Record step (`kind`: success | gate-failure | approval | failure): the ledger facts that close a run. */
import { RecordPayloadSchema } from '../../shared/pipeline/contracts.ts';

import { recordStep } from '../../shared/pipeline/record.ts';
import { STEP_ENV } from '../../shared/pipeline/steps.ts';
import { s3Client, sageMakerClient } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { ledgerLocation, stepHandler } from './step-handler.ts';

const env = loadEnv(STEP_ENV.record);
const s3 = s3Client();
const sagemaker = sageMakerClient();
const ledger = ledgerLocation(env);

export const handler = stepHandler(RecordPayloadSchema, ({ runId, kind, step, state }) =>
  recordStep({
    runId,
    kind,
    ...(step !== undefined ? { step } : {}),
    state,
    useCase: env.USE_CASE_CONFIG,
    ledger,
    s3,
    sagemaker,
  }),
);
