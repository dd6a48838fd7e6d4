/**
 * `POST /training/runs/{runId}/approval` with `{decision, reason}`: a human decision on a model
 * waiting in the Approval state. The approver is the caller's IAM identity (the route uses IAM
 * authorization); the decision reaches the pipeline through SendTaskSuccess.
 */
import * as z from 'zod';
import { parseJsonBody, parseOrThrow } from '../../shared/features/api.ts';
import { decideApproval } from '../../shared/pipeline/approval.ts';
import { ApprovalBodySchema } from '../../shared/pipeline/contracts.ts';
import { APPROVAL_API_ENV } from '../../shared/pipeline/env.ts';
import { documentClient, sfnClient } from '../shared/clients.ts';
import { httpHandler } from '../shared/http.ts';
import { loadEnv } from '../shared/observability.ts';

const env = loadEnv(APPROVAL_API_ENV);
const store = { client: documentClient(), tableName: env.RUN_STATE_TABLE };
const sfn = sfnClient();

/** The route's path parameters. */
const ApprovalPathSchema = z.strictObject({ runId: z.string().min(1).max(80) });

export const handler = httpHandler(async (event) => {
  const { runId } = parseOrThrow(ApprovalPathSchema, event.pathParameters, 'path');
  const body = parseOrThrow(ApprovalBodySchema, parseJsonBody(event.body), 'approval');
  return decideApproval({
    runId,
    body,
    approver: event.requestContext.identity.userArn ?? undefined,
    store,
    sfn,
  });
});
