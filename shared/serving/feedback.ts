/**
 * `POST /feedback/{useCase}`: the ground truth of one served prediction, `{requestId, label,
 * observedAt}`. The requestId finds the request as it was served (entities, request features,
 * time, model version), and the label is stored through the label path as that request's label
 * event, carrying the requestId and the observation time.
 *
 * Idempotent: the first accepted label of a requestId is claimed on the served request (a
 * conditional update), and every later call rebuilds the claimed label event, which the label
 * store recognises and does not write again. A different label for the same requestId is a 409:
 * ground truth that contradicts itself is surfaced, never silently kept twice. A claim whose label
 * write failed is repaired by the next call for that requestId, whatever its label.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import * as z from 'zod';
import { ConflictError, InvalidInputError, NotFoundError } from '../errors.ts';
import { eventTimeSchema } from '../features/records.ts';
import { type LabelContract, type LabelEvent, storedLabelSchema, toLabelEvent } from '../labels/schema.ts';
import { type LabelResult, type LabelStoreContext, writeLabels } from '../labels/store.ts';
import { toFieldProblems } from '../validation.ts';
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
  /** @default Date.now */
  readonly now?: () => number;
}

/** An unknown requestId (HTTP 404). */
export class UnknownRequestError extends NotFoundError {
  override readonly name = 'UnknownRequestError';
}

/** The label event of a served request's feedback, checked against the use case as it is now. */
function feedbackEvent(
  contract: LabelContract,
  served: ServedRequest,
  label: 0 | 1,
  observedAt: string,
): LabelEvent {
  const event = toLabelEvent(contract, {
    entities: served.entities,
    eventTime: served.time,
    label,
    request: served.request,
    requestId: served.requestId,
    observedAt,
  });
  // The dataset build reads every label through this schema: an event it would refuse (the use
  // case changed since the prediction) is refused here, before anything is claimed or written.
  const checked = storedLabelSchema(contract).safeParse(
    { ...event, ingestedAt: observedAt },
    { reportInput: true },
  );
  if (!checked.success) {
    const problems = toFieldProblems(checked.error);
    throw new ConflictError(
      `requestId: '${served.requestId}' was served under an earlier version of use case ${contract.useCase}; its label event would not fit it now (${problems.map((p) => `${p.field} ${p.problem}`).join('; ')})`,
    );
  }
  return event;
}

/** Stores the ground truth of one served prediction as its label event. */
export async function recordFeedback(
  ctx: FeedbackContext,
  contract: LabelContract,
  input: FeedbackInput,
): Promise<FeedbackResult> {
  const key = servedRequestKey(contract.useCase, input.requestId);
  const nowSeconds = (ctx.now ?? Date.now)() / 1000;
  const unknown = () =>
    new UnknownRequestError(
      `requestId: no prediction of ${contract.useCase} has requestId '${input.requestId}' in the last ${ctx.windowDays} day(s) (the feedback window)`,
    );
  const found = await ctx.documents.send(
    new GetCommand({ TableName: ctx.servedTable, Key: key, ConsistentRead: true }),
  );
  const served = found.Item as ServedRequest | undefined;
  // DynamoDB's TTL deletes some time after expiry: an expired item still read is treated as gone.
  if (!served || served.expiresAt <= nowSeconds) throw unknown();
  if (input.observedAt < served.time) {
    throw new InvalidInputError('feedback observed before its prediction', [
      {
        field: 'observedAt',
        problem: `must not be before the prediction (${served.time})`,
        got: JSON.stringify(input.observedAt),
      },
    ]);
  }
  feedbackEvent(contract, served, input.label, input.observedAt);
  let claimed: ServedRequest;
  try {
    const out = await ctx.documents.send(
      new UpdateCommand({
        TableName: ctx.servedTable,
        Key: key,
        UpdateExpression:
          'SET feedbackLabel = if_not_exists(feedbackLabel, :label), feedbackObservedAt = if_not_exists(feedbackObservedAt, :observedAt)',
        ConditionExpression:
          'attribute_exists(requestKey) AND expiresAt > :now AND (attribute_not_exists(feedbackLabel) OR feedbackLabel = :label)',
        ExpressionAttributeValues: {
          ':label': input.label,
          ':observedAt': input.observedAt,
          ':now': nowSeconds,
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    claimed = out.Attributes as ServedRequest;
  } catch (e) {
    if (!(e instanceof ConditionalCheckFailedException)) throw e;
    // What failed the condition, as it is now (not as the read above saw it: another call may have
    // claimed since); read again where the engine does not return it.
    const current = e.Item
      ? (unmarshall(e.Item) as ServedRequest)
      : ((
          await ctx.documents.send(
            new GetCommand({ TableName: ctx.servedTable, Key: key, ConsistentRead: true }),
          )
        ).Item as ServedRequest | undefined);
    if (!current || current.expiresAt <= nowSeconds || current.feedbackLabel === undefined) throw unknown();
    // The first label stands. Its event may be missing (its write failed after the claim): store it.
    await writeLabels(ctx.labels, contract, [
      feedbackEvent(contract, current, current.feedbackLabel, current.feedbackObservedAt ?? current.time),
    ]);
    throw new ConflictError(
      `requestId: '${input.requestId}' already has feedback label ${current.feedbackLabel} (observed at ${String(current.feedbackObservedAt)}); a different label for the same prediction is refused`,
    );
  }
  // The claimed observation, not this call's: a repeated call rebuilds the first accepted event.
  const event = feedbackEvent(contract, claimed, input.label, claimed.feedbackObservedAt ?? input.observedAt);
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
