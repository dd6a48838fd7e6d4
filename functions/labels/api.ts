/**
 * `POST /labels/{useCase}`: a batch of label events, each validated against the use case; the
 * valid ones are stored (partial acceptance), every rejection is answered with its reasons, and
 * a batch with no valid event is a 400 that writes nothing.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { NotFoundError } from '../../shared/errors.ts';
import { parseJsonBody, parseOrThrow } from '../../shared/features/api.ts';
import {
  contractOrThrow,
  LABEL_ROUTES,
  type LabelBatchResponse,
  LabelStoreEnvSchema,
  parseLabelBatch,
  UseCasePathSchema,
} from '../../shared/labels/api.ts';
import { ingestLabelBatch, type LabelStoreContext } from '../../shared/labels/store.ts';
import { s3Client } from '../shared/clients.ts';
import { httpHandler } from '../shared/http.ts';
import { loadEnv } from '../shared/observability.ts';

const env = loadEnv(LabelStoreEnvSchema);
const contracts = new Map(env.LABEL_CONTRACTS.map((c) => [c.useCase, c]));
const ctx: LabelStoreContext = {
  client: s3Client(),
  bucket: env.DATASETS_BUCKET,
};

async function putBatch(event: APIGatewayProxyEvent): Promise<LabelBatchResponse> {
  const path = parseOrThrow(UseCasePathSchema, event.pathParameters, 'path');
  const contract = contractOrThrow(contracts, path.useCase);
  return ingestLabelBatch(ctx, contract, parseLabelBatch(parseJsonBody(event.body)).labels);
}

/** Dispatches on method and API Gateway resource path. */
export const handler = httpHandler(async (event) => {
  if (`${event.httpMethod} ${event.resource}` !== `${LABEL_ROUTES.batch.method} ${LABEL_ROUTES.batch.path}`) {
    throw new NotFoundError(`no route ${event.httpMethod} ${event.resource}`);
  }
  return putBatch(event);
});
