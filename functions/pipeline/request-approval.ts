/**
 * Approval step (`lambda:invoke.waitForTaskToken`, payload `{runId, state: $, token: $$.Task.Token}`):
 * stores the token and asks for a decision on SNS. The decision arrives through the approval route.
 */
import { requestApprovalStep } from '../../shared/pipeline/approval.ts';
import { ApprovalRequestPayloadSchema } from '../../shared/pipeline/contracts.ts';

import { optionalStatePart, statePart } from '../../shared/pipeline/state.ts';
import { STEP_ENV } from '../../shared/pipeline/steps.ts';
import { documentClient, snsClient } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { stepHandler } from './step-handler.ts';

const env = loadEnv(STEP_ENV.approval);
const store = { client: documentClient(), tableName: env.RUN_STATE_TABLE };
const sns = snsClient();

export const handler = stepHandler(ApprovalRequestPayloadSchema, async ({ runId, token, state }) => {
  const evaluation = optionalStatePart(state, 'evaluation');
  const item = await requestApprovalStep({
    runId,
    token,
    useCase: env.USE_CASE_CONFIG.name,
    registered: statePart(state, 'registered'),
    ...(evaluation ? { evaluation } : {}),
    store,
    sns,
    topicArn: env.TOPIC_ARN,
  });
  // The task's result is what SendTaskSuccess sends later; this is only for the invocation log.
  return { runId: item.runId, modelVersion: item.modelVersion, expiresAt: item.expiresAt };
});
