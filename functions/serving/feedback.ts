/**
 * `POST /feedback/<useCase>` with `{requestId, label, observedAt}`: a thin adapter. The ground
 * truth of a served prediction, stored through the label path as the label event of the request
 * as it was served (shared/serving/feedback.ts).
 */
import { parseJsonBody, parseOrThrow } from '../../shared/features/api.ts';
import { labelContract } from '../../shared/labels/schema.ts';
import { FeedbackEnvSchema } from '../../shared/serving/api.ts';
import { feedbackInputSchema, recordFeedback } from '../../shared/serving/feedback.ts';
import { documentClient, s3Client } from '../shared/clients.ts';
import { httpHandler } from '../shared/http.ts';
import { loadEnv } from '../shared/observability.ts';

const env = loadEnv(FeedbackEnvSchema);
const useCase = env.USE_CASE_CONFIG;
const contract = labelContract(useCase);
const inputSchema = feedbackInputSchema();
const ctx = {
  documents: documentClient(),
  servedTable: env.SERVED_TABLE,
  labels: { client: s3Client(), bucket: env.DATASETS_BUCKET },
  windowDays: useCase.feedback.windowDays,
};

export const handler = httpHandler(async (event) =>
  recordFeedback(ctx, contract, parseOrThrow(inputSchema, parseJsonBody(event.body), 'feedback')),
);
