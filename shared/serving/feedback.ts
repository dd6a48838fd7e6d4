/**
 * `POST /feedback/{useCase}`: the ground truth of one served prediction, `{requestId, label,
 * observedAt}`. The requestId finds the request as it was served (entities, request features,
 * time, model version), and the label is stored through the label path as that request's label
 * event, carrying the requestId, so training sets and the monitor pair it with exactly the
 * features that were served.
 *
 * Idempotent: the first accepted label of a requestId is claimed on the served request (a
 * conditional update), and every later call with the same label rebuilds the same label event,
 * which the label store recognises and does not write again. A different label for the same
 * requestId is a 409: ground truth that contradicts itself is surfaced, never silently kept twice.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.ts';
import { eventTimeSchema } from '../features/records.ts';
import type { LabelContract } from '../labels/schema.ts';
import { toLabelEvent } from '../labels/schema.ts';
import { type LabelResult, type LabelStoreContext, writeLabels } from '../labels/store.ts';
import { type ServedRequest, servedRequestKey } from './prediction-log.ts';

/** The body of `POST /feedback/{useCase}`. */
export function feedbackInputSchema(now?: () => number) {
  return z.strictObject({
    /** The requestId the predict route answered with. */
    requestId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[A-Za-z0-9-]+$/, 'must be a requestId as POST /predict answers it (letters, digits and -)'),
    label: z.literal([0, 1]),
    /** When the outcome was observed. */
    observedAt: eventTimeSchema(now),
  });
}

/** A validated feedback request. */
export type FeedbackInput = z.infer<ReturnType<typeof feedbackInputSchema>>;

/** The answer of `POST /feedback/{useCase}`. */
export interface FeedbackResult extends LabelResult {
  readonly useCase: string;
  readonly requestId: string;
  readonly label: 0 | 1;
  /** The model version that served the prediction. */
  readonly modelVersion: string;
}

/** What feedback needs: the served-request table and the label store. */
export interface FeedbackContext {
  readonly documents: DynamoDBDocumentClient;
  readonly servedTable: string;
  readonly labels: LabelStoreContext;
  readonly windowDays: number;
}

/** An unknown requestId (HTTP 404). */
export class UnknownRequestError extends NotFoundError {
  override readonly name = 'UnknownRequestError';
}

/** Stores the ground truth of one served prediction as its label event. */
export async function recordFeedback(
  ctx: FeedbackContext,
  contract: LabelContract,
  input: FeedbackInput,
): Promise<FeedbackResult> {
  const key = servedRequestKey(contract.useCase, input.requestId);
  const found = await ctx.documents.send(
    new GetCommand({ TableName: ctx.servedTable, Key: key, ConsistentRead: true }),
  );
  const served = found.Item as ServedRequest | undefined;
  if (!served) {
    throw new UnknownRequestError(
      `requestId: no prediction of ${contract.useCase} has requestId '${input.requestId}' in the last ${ctx.windowDays} day(s) (the feedback window)`,
    );
  }
  if (input.observedAt < served.time) {
    throw new InvalidInputError('feedback observed before its prediction', [
      {
        field: 'observedAt',
        problem: `must not be before the prediction (${served.time})`,
        got: JSON.stringify(input.observedAt),
      },
    ]);
  }
  let claimed: ServedRequest;
  try {
    const out = await ctx.documents.send(
      new UpdateCommand({
        TableName: ctx.servedTable,
        Key: key,
        UpdateExpression:
          'SET feedbackLabel = if_not_exists(feedbackLabel, :label), feedbackObservedAt = if_not_exists(feedbackObservedAt, :observedAt)',
        ConditionExpression:
          'attribute_exists(requestKey) AND (attribute_not_exists(feedbackLabel) OR feedbackLabel = :label)',
        ExpressionAttributeValues: { ':label': input.label, ':observedAt': input.observedAt },
        ReturnValues: 'ALL_NEW',
      }),
    );
    claimed = out.Attributes as ServedRequest;
  } catch (e) {
    if (!(e instanceof ConditionalCheckFailedException)) throw e;
    if (served.feedbackLabel === undefined) {
      throw new UnknownRequestError(
        `requestId: the prediction '${input.requestId}' expired from the feedback window`,
      );
    }
    throw new ConflictError(
      `requestId: '${input.requestId}' already has feedback label ${String(served.feedbackLabel)} (observed at ${String(served.feedbackObservedAt)}); a different label for the same prediction is refused`,
    );
  }
  // The claimed observation, not this call's: a repeated call rebuilds the first accepted event.
  const event = toLabelEvent(contract, {
    entities: claimed.entities,
    eventTime: claimed.time,
    label: input.label,
    request: claimed.request,
    requestId: claimed.requestId,
    observedAt: claimed.feedbackObservedAt ?? input.observedAt,
  });
  const [result] = await writeLabels(ctx.labels, contract, [event]);
  if (!result) throw new Error('the label store answered no result for one label event');
  return {
    ...result,
    useCase: contract.useCase,
    requestId: input.requestId,
    label: input.label,
    modelVersion: claimed.modelVersion,
  };
}
