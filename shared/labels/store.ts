/**
 * The label store: validated label events appended to the datasets bucket by event date,
 * `labels/<useCase>/date=<day>/<hash of the label IDs>.jsonl`, where the point-in-time join reads
 * them. Objects are never rewritten and their names derive from their content, so a replayed
 * request or file writes nothing; a label sent twice in different requests is stored twice and
 * read once (the reader keeps the first ingested copy of each label ID).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  appendPartitioned,
  dateOf,
  readDailyPartitions,
  type StoredLine,
} from '../features/offline-store.ts';
import {
  type FieldProblem,
  type Rejection,
  someAcceptedOrThrow,
  toFieldProblems,
  validateEach,
} from '../validation.ts';
import {
  type LabelContract,
  type LabelEvent,
  labelInputSchema,
  labelPrefix,
  type StoredLabelEvent,
  storedLabelSchema,
  toLabelEvent,
} from './schema.ts';

/** Where labels are stored, and the clock that stamps `ingestedAt`. */
export interface LabelStoreContext {
  readonly client: S3Client;
  /** The datasets bucket. */
  readonly bucket: string;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Validates raw label events; never throws on a bad one. */
export function validateLabels(
  contract: LabelContract,
  raw: readonly unknown[],
  now: () => number = Date.now,
  indexOffset = 0,
): { accepted: LabelEvent[]; acceptedIndexes: number[]; rejected: Rejection[] } {
  return validateEach(labelInputSchema(contract, now), raw, (l) => toLabelEvent(contract, l), indexOffset);
}

/** What happened to one accepted label event. */
export interface LabelResult {
  readonly labelId: string;
  readonly eventTime: string;
  /** `written`, or `duplicate` when the same request was accepted before (nothing new was written). */
  readonly outcome: 'written' | 'duplicate';
}

/** Appends validated label events, one object per event date. */
export async function writeLabels(
  ctx: LabelStoreContext,
  contract: LabelContract,
  events: readonly LabelEvent[],
): Promise<LabelResult[]> {
  if (events.length === 0) return [];
  const ingestedAt = new Date((ctx.now ?? Date.now)()).toISOString();
  const prefix = labelPrefix(contract.useCase);
  const { replayed } = await appendPartitioned(
    ctx.client,
    ctx.bucket,
    events.map((e) => ({
      prefix: `${prefix}date=${dateOf(e.eventTime)}/`,
      id: e.labelId,
      row: { ...e, ingestedAt } satisfies StoredLabelEvent,
    })),
  );
  return events.map((e) => ({
    labelId: e.labelId,
    eventTime: e.eventTime,
    outcome: replayed.has(e.labelId) ? 'duplicate' : 'written',
  }));
}

/**
 * A batch request's label events: each validated, the valid ones written, every rejection
 * returned; InvalidInputError (nothing written) when none is valid.
 */
export async function ingestLabelBatch(
  ctx: LabelStoreContext,
  contract: LabelContract,
  raw: readonly unknown[],
): Promise<{ useCase: string; accepted: number; rejected: Rejection[]; results: LabelResult[] }> {
  const { accepted, rejected } = someAcceptedOrThrow(
    'labels',
    'label',
    validateLabels(contract, raw, ctx.now),
  );
  return {
    useCase: contract.useCase,
    accepted: accepted.length,
    rejected,
    results: await writeLabels(ctx, contract, accepted),
  };
}

/** A stored row the reader refused: where it is, its label ID when it has one, and why. */
export interface RejectedStoredLabel extends StoredLine {
  readonly labelId: string | null;
  readonly problems: readonly FieldProblem[];
}

function labelIdOf(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const id = (raw as { labelId?: unknown }).labelId;
  return typeof id === 'string' ? id : null;
}

/**
 * Reads label events in event-time order from their daily partitions, each row checked against
 * the use case: a row that does not parse or does not fit (a file written by hand, or a schema
 * changed since) is handed to `onReject` and skipped, never failing the read.
 */
export function readLabels(options: {
  readonly client: S3Client;
  readonly bucket: string;
  readonly contract: LabelContract;
  readonly from: string;
  readonly to: string;
  /** Only labels ingested at or before this time are read. */
  readonly cutoff: string;
  readonly onReject: (rejected: RejectedStoredLabel) => void;
}): AsyncGenerator<StoredLabelEvent> {
  const schema = storedLabelSchema(options.contract);
  return readDailyPartitions<StoredLabelEvent>(
    options.client,
    options.bucket,
    labelPrefix(options.contract.useCase),
    options.from,
    options.to,
    {
      decode: (text, where) => {
        let raw: unknown;
        try {
          raw = JSON.parse(text);
        } catch {
          options.onReject({
            ...where,
            labelId: null,
            problems: [{ field: '(line)', problem: 'is not valid JSON' }],
          });
          return undefined;
        }
        const parsed = schema.safeParse(raw, { reportInput: true });
        if (parsed.success && dateOf(parsed.data.eventTime) !== where.date) {
          options.onReject({
            ...where,
            labelId: parsed.data.labelId,
            problems: [
              {
                field: 'eventTime',
                problem: `must fall on the day of its partition (date=${where.date})`,
                got: JSON.stringify(parsed.data.eventTime),
              },
            ],
          });
          return undefined;
        }
        if (parsed.success) return parsed.data as StoredLabelEvent;
        options.onReject({ ...where, labelId: labelIdOf(raw), problems: toFieldProblems(parsed.error) });
        return undefined;
      },
      keep: (l) => l.ingestedAt <= options.cutoff,
      idOf: (l) => l.labelId,
      compare: (a, b) =>
        a.eventTime.localeCompare(b.eventTime) ||
        a.labelId.localeCompare(b.labelId) ||
        a.ingestedAt.localeCompare(b.ingestedAt),
    },
  );
}
