/** ExportEdge step: the registered version as an ONNX file, published only past its parity gate. */
import { StepPayloadSchema } from '../../shared/pipeline/contracts.ts';

import { exportEdgeStep } from '../../shared/pipeline/export-edge.ts';
import { statePart } from '../../shared/pipeline/state.ts';
import { STEP_ENV } from '../../shared/pipeline/steps.ts';
import { s3Client } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { ledgerLocation, stepHandler } from './step-handler.ts';

const env = loadEnv(STEP_ENV.exportEdge);
const s3 = s3Client();
const ledger = ledgerLocation(env);

export const handler = stepHandler(StepPayloadSchema, ({ runId, state }) =>
  exportEdgeStep({
    runId,
    useCase: env.USE_CASE_CONFIG,
    s3,
    ledger,
    artifactsBucket: env.ARTIFACTS_BUCKET,
    dataset: statePart(state, 'dataset'),
    trained: statePart(state, 'trained'),
    registered: statePart(state, 'registered'),
  }),
);
