/**
 * Human approval of a registered model. The Approval state (`waitForTaskToken`) stores its task
 * token per run and announces the wait on SNS; the approval route turns a caller's decision into
 * SendTaskSuccess exactly once: the pending item is claimed with a conditional put before the
 * token is used, so two concurrent decisions cannot both reach the pipeline.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  InvalidToken,
  SendTaskSuccessCommand,
  type SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { ConflictError, ForbiddenError, NotFoundError } from '../errors.ts';
import type { ApprovalBody, ApprovalDecision, EvaluateOutput, RegisterOutput } from './contracts.ts';

/** How long a pending approval is kept (DynamoDB TTL); the Approval state's timeout should not exceed it. */
export const APPROVAL_TTL_SECONDS = 7 * 24 * 3600;

/** The run-state table: partition key `runId`, TTL attribute `expiresAt`. */
export interface RunStateStore {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** An approval item of the run-state table. */
export const ApprovalItemSchema = z.object({
  runId: z.string().min(1),
  token: z.string().min(1),
  modelVersion: z.string().min(1),
  requestedAt: z.iso.datetime(),
  /** Epoch seconds (DynamoDB TTL). */
  expiresAt: z.number().int(),
  status: z.enum(['pending', 'decided', 'lapsed']),
  decision: z.enum(['approved', 'rejected']).optional(),
  approver: z.string().optional(),
  reason: z.string().optional(),
  decidedAt: z.iso.datetime().optional(),
});
export type ApprovalItem = z.infer<typeof ApprovalItemSchema>;

/** No approval is pending for the run. */
export class NoPendingApprovalError extends NotFoundError {
  override readonly name: string = 'NoPendingApprovalError';
}

/** The run's approval was already decided (or the pipeline stopped waiting). */
export class ApprovalAlreadyDecidedError extends ConflictError {
  override readonly name: string = 'ApprovalAlreadyDecidedError';
}

/** The caller's identity is unknown, so a decision could not be attributed. */
export class ApproverUnknownError extends ForbiddenError {
  override readonly name: string = 'ApproverUnknownError';
}

/** Step Functions errors meaning the token can no longer be used. */

/** What the Approval step needs. */
export interface RequestApprovalOptions {
  readonly runId: string;
  readonly token: string;
  readonly useCase: string;
  readonly registered: RegisterOutput;
  readonly evaluation?: EvaluateOutput;
  readonly store: RunStateStore;
  readonly sns: SNSClient;
  readonly topicArn: string;
  /** @default APPROVAL_TTL_SECONDS */
  readonly ttlSeconds?: number;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** The message that asks for a decision. */
export function approvalMessage(o: {
  runId: string;
  useCase: string;
  registered: RegisterOutput;
  evaluation?: EvaluateOutput;
  expiresAt: string;
}): { subject: string; message: string } {
  const metrics = o.evaluation
    ? `Test-split metrics: AUC ${o.evaluation.candidate.auc.toFixed(4)}, log loss ${o.evaluation.candidate.logLoss.toFixed(4)}, ${o.evaluation.candidate.rows} rows` +
      (o.evaluation.champion ? `; champion AUC ${o.evaluation.champion.auc.toFixed(4)}.` : '; no champion.')
    : '';
  return {
    subject: `[mlops] ${o.useCase}: model ${o.registered.modelVersion} awaits approval`.slice(0, 100),
    message: [
      `Training run ${o.runId} registered ${o.registered.modelVersion} (${o.registered.modelPackageArn}) and waits for a decision until ${o.expiresAt}.`,
      metrics,
      'To approve:',
      `  mlops approve ${o.runId} --reason "<why>"`,
      'To reject:',
      `  mlops reject ${o.runId} --reason "<why>"`,
      `(or POST /training/runs/${o.runId}/approval with {"decision": "approved"|"rejected", "reason": "..."}; your IAM identity is recorded as the approver)`,
    ]
      .filter((line) => line !== '')
      .join('\n'),
  };
}

/** Runs the Approval step's Lambda: stores the token and asks for a decision. */
export async function requestApprovalStep(o: RequestApprovalOptions): Promise<ApprovalItem> {
  const now = (o.now ?? (() => new Date()))();
  const expiresAtSeconds = Math.floor(now.getTime() / 1000) + (o.ttlSeconds ?? APPROVAL_TTL_SECONDS);
  const item: ApprovalItem = {
    runId: o.runId,
    token: o.token,
    modelVersion: o.registered.modelVersion,
    requestedAt: now.toISOString(),
    expiresAt: expiresAtSeconds,
    status: 'pending',
  };
  try {
    await o.store.client.send(
      new PutCommand({
        TableName: o.store.tableName,
        Item: item,
        // A retried Approval state brings a new token; only a decided run must not be reopened.
        ConditionExpression: 'attribute_not_exists(runId) OR #status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'pending' },
      }),
    );
  } catch (e) {
    if (e instanceof ConditionalCheckFailedException) {
      throw new ApprovalAlreadyDecidedError(`run ${o.runId}: the approval was already decided`);
    }
    throw e;
  }
  const { subject, message } = approvalMessage({
    runId: o.runId,
    useCase: o.useCase,
    registered: o.registered,
    ...(o.evaluation ? { evaluation: o.evaluation } : {}),
    expiresAt: new Date(expiresAtSeconds * 1000).toISOString(),
  });
  await o.sns.send(new PublishCommand({ TopicArn: o.topicArn, Subject: subject, Message: message }));
  return item;
}

/** What a decision needs. */
export interface DecideApprovalOptions {
  readonly runId: string;
  readonly body: ApprovalBody;
  /** The caller's IAM identity (principal ARN); undefined when the request carried none. */
  readonly approver: string | undefined;
  readonly store: RunStateStore;
  readonly sfn: SFNClient;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** The answer of the approval route. */
export interface ApprovalResult extends ApprovalDecision {
  readonly runId: string;
  readonly modelVersion: string;
  readonly decidedAt: string;
}

async function putConditionally(store: RunStateStore, item: ApprovalItem, condition: Record<string, string>) {
  const names = Object.fromEntries(Object.keys(condition).map((k) => [`#${k}`, k]));
  const values = Object.fromEntries(Object.entries(condition).map(([k, v]) => [`:${k}`, v]));
  await store.client.send(
    new PutCommand({
      TableName: store.tableName,
      Item: item,
      ConditionExpression: Object.keys(condition)
        .map((k) => `#${k} = :${k}`)
        .join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    }),
  );
}

/** Decides a pending approval: claims it, then sends the decision to the waiting pipeline. */
export async function decideApproval(o: DecideApprovalOptions): Promise<ApprovalResult> {
  if (o.approver === undefined || o.approver === '') {
    throw new ApproverUnknownError(
      'the request carries no IAM identity; sign it with SigV4 (IAM authorization)',
    );
  }
  const now = (o.now ?? (() => new Date()))();
  const got = await o.store.client.send(
    new GetCommand({ TableName: o.store.tableName, Key: { runId: o.runId }, ConsistentRead: true }),
  );
  const parsed = got.Item ? ApprovalItemSchema.safeParse(got.Item) : undefined;
  const pending = parsed?.success ? parsed.data : undefined;
  // TTL deletion is lazy: an item past expiresAt counts as gone.
  if (!pending || pending.expiresAt * 1000 <= now.getTime()) {
    throw new NoPendingApprovalError(`runId: run ${o.runId} has no pending approval`);
  }
  if (pending.status !== 'pending') {
    throw new ApprovalAlreadyDecidedError(
      pending.status === 'decided'
        ? `run ${o.runId} was already ${pending.decision ?? 'decided'} by ${pending.approver ?? 'someone'} at ${pending.decidedAt ?? 'an earlier time'}`
        : `run ${o.runId} is no longer waiting for approval`,
    );
  }
  const decision: ApprovalDecision = {
    decision: o.body.decision,
    approver: o.approver,
    reason: o.body.reason,
  };
  const decidedAt = now.toISOString();
  const claimed: ApprovalItem = { ...pending, status: 'decided', ...decision, decidedAt };
  try {
    await putConditionally(o.store, claimed, { status: 'pending', token: pending.token });
  } catch (e) {
    if (e instanceof ConditionalCheckFailedException) {
      throw new ApprovalAlreadyDecidedError(`run ${o.runId}: another decision was recorded first`);
    }
    throw e;
  }
  try {
    await o.sfn.send(
      new SendTaskSuccessCommand({ taskToken: pending.token, output: JSON.stringify(decision) }),
    );
  } catch (e) {
    // The token is dead: the wait timed out, or the token is unknown or malformed.
    if (e instanceof TaskTimedOut || e instanceof InvalidToken || e instanceof TaskDoesNotExist) {
      const name = e.name;
      await putConditionally(o.store, { ...claimed, status: 'lapsed' }, { status: 'decided', decidedAt });
      throw new ApprovalAlreadyDecidedError(
        `run ${o.runId} is no longer waiting for approval (Step Functions: ${name}); start a new run`,
      );
    }
    // The pipeline never heard the decision: reopen the approval so the caller can retry.
    await putConditionally(o.store, pending, { status: 'decided', decidedAt });
    throw e;
  }
  return { runId: o.runId, modelVersion: pending.modelVersion, ...decision, decidedAt };
}
