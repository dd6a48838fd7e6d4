/**
 * Label events: the observed outcomes a model learns from. Their schema is derived from the use
 * case (the label's type, each request feature's type and bounds, one entity ID per feature group
 * the use case reads, nothing unknown), and their ID is the hash of their content, so a replay is
 * recognised and writes nothing. `ingestedAt` is set by the service, never taken from the caller.
 */
import * as z from 'zod';
import {
  type Feature,
  FeatureSchema,
  LabelSchema,
  ResourceNameSchema,
  type UseCase,
} from '../config/use-case.ts';
import {
  EntityIdSchema,
  eventTimeSchema,
  type FeatureValue,
  featureValuesSchema,
  ISO_TIME_PROBLEM,
  MIN_EVENT_TIME,
} from '../features/records.ts';
import { canonicalJson, sha256Hex } from '../ledger/canonical.ts';

/** Largest number of label events one `POST /labels/{useCase}` may carry. */
export const MAX_LABEL_BATCH = 500;

/** What the label paths need to know of a use case (small enough for a Lambda environment). */
export interface LabelContract {
  readonly useCase: string;
  /** The label's name and type, as the use case declares it. */
  readonly label: UseCase['label'];
  /** Names of the feature groups the use case reads: a label event names one entity ID per group. */
  readonly groups: readonly string[];
  readonly requestFeatures: readonly Feature[];
}

/** A label contract as the label functions read it from their environment. */
export const LabelContractSchema = z.strictObject({
  useCase: ResourceNameSchema,
  label: LabelSchema,
  groups: z.array(ResourceNameSchema).min(1),
  requestFeatures: z.array(FeatureSchema),
});

/** The label contract of a use case. */
export function labelContract(useCase: UseCase): LabelContract {
  return {
    useCase: useCase.name,
    label: useCase.label,
    groups: useCase.featureGroups.map((g) => g.name),
    requestFeatures: useCase.requestFeatures,
  };
}

/** A label event as a caller sends it, validated. */
export interface LabelInput {
  /** Entity ID per feature group, for example `{ 'airport-delays': 'ATL' }`. */
  readonly entities: Readonly<Record<string, string>>;
  /** When the prediction would have been made, ISO-8601 UTC with milliseconds. */
  readonly eventTime: string;
  /** The outcome: 1 (positive) or 0, for a binary label. */
  readonly label: 0 | 1;
  /** Features the caller would have sent with the prediction request. */
  readonly request: Readonly<Record<string, FeatureValue>>;
}

/**
 * Ground truth for one served prediction (`POST /feedback/{useCase}`): the label event of the
 * request as it was served (its entities, request features and time), with the prediction's
 * requestId, which pairs the label with the features logged for it, and when the outcome was seen.
 */
export interface FeedbackLabelInput extends LabelInput {
  readonly requestId: string;
  /** When the outcome was observed, ISO-8601 UTC; never before the prediction. */
  readonly observedAt: string;
}

/** A validated label event with its content-derived ID. */
export interface LabelEvent extends LabelInput {
  /** Set on feedback: the served prediction this label is the ground truth of. */
  readonly requestId?: string;
  /** Set on feedback: when the outcome was observed. */
  readonly observedAt?: string;
  /** sha256 of the use case and the canonical event: equal events share it. */
  readonly labelId: string;
}

/** A label event as stored (`labels/<useCase>/date=<day>/<hash>.jsonl`). */
export interface StoredLabelEvent extends LabelEvent {
  /** When the service accepted it, ISO-8601 UTC. Datasets only see labels ingested by their cutoff. */
  readonly ingestedAt: string;
}

const BinaryLabelSchema = z.literal([0, 1]);

function entitiesSchema(contract: LabelContract) {
  return z.strictObject(Object.fromEntries(contract.groups.map((g) => [g, EntityIdSchema])));
}

function requestSchema(contract: LabelContract) {
  const schema = featureValuesSchema(contract.requestFeatures);
  return contract.requestFeatures.length === 0 ? schema.default({}) : schema;
}

/** One label event as a caller sends it (through the API, a bulk file or the CLI). */
export function labelInputSchema(contract: LabelContract, now?: () => number) {
  return z.strictObject({
    entities: entitiesSchema(contract),
    eventTime: eventTimeSchema(now),
    label: BinaryLabelSchema,
    request: requestSchema(contract),
  });
}

/**
 * A label event as read back from the store. The store is written only through the validated
 * paths, but a file put there by hand must not fail a training run: BuildDataset reads every row
 * through this schema and quarantines the ones it refuses. The time may be any past instant the
 * input schema once accepted (the clock has moved on since).
 */
export function storedLabelSchema(contract: LabelContract) {
  return z.strictObject({
    labelId: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest'),
    entities: entitiesSchema(contract),
    eventTime: z.iso
      .datetime({ offset: true, error: ISO_TIME_PROBLEM })
      .transform((s) => new Date(s).toISOString())
      .refine((s) => s >= MIN_EVENT_TIME, { message: `must not be before ${MIN_EVENT_TIME}` }),
    label: BinaryLabelSchema,
    request: requestSchema(contract),
    requestId: z.string().min(1).optional(),
    observedAt: z.iso
      .datetime({ offset: true, error: ISO_TIME_PROBLEM })
      .transform((s) => new Date(s).toISOString())
      .optional(),
    ingestedAt: z.iso
      .datetime({ offset: true, error: ISO_TIME_PROBLEM })
      .transform((s) => new Date(s).toISOString()),
  });
}

/** Body of `POST /labels/{useCase}`: the envelope only; events are accepted or rejected one by one. */
export const LabelBatchBodySchema = z.strictObject({
  labels: z.array(z.unknown()).min(1).max(MAX_LABEL_BATCH),
});

/** The label event of a validated input, with its content-derived ID. */
export function toLabelEvent(contract: LabelContract, input: LabelInput | FeedbackLabelInput): LabelEvent {
  const labelId = sha256Hex(canonicalJson({ useCase: contract.useCase, ...input }));
  return { ...input, labelId };
}

/** Where a use case's label events are stored in the datasets bucket. */
export function labelPrefix(useCase: string): string {
  return `labels/${useCase}/`;
}

/** Drop zone of bulk label files: `ingest-labels/<useCase>/<name>.csv|jsonl`. */
export const LABEL_DROP_PREFIX = 'ingest-labels/';
/** Where the bulk label function writes each file's rejects and summary. */
export const LABEL_QUARANTINE_PREFIX = 'quarantine-labels/';
