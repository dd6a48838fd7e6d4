/**
 * Feature records: the zod schemas derived from a feature group, and the record identity that
 * makes ingestion idempotent.
 */
import * as z from 'zod';
import type { Feature, FeatureGroup } from '../config/use-case.ts';
import { canonicalJson, sha256Hex } from '../ledger/canonical.ts';

/** Largest number of records one batch request may carry. */
export const MAX_BATCH_RECORDS = 500;
/** How far in the future an eventTime may be (clock skew between producers and us). */
export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;

/** A feature value as stored: numbers, strings, booleans, or null for a nullable feature. */
export type FeatureValue = number | string | boolean | null;

/** A validated record of one feature group. */
export interface FeatureRecord {
  readonly group: string;
  readonly entityId: string;
  /** When the value was true in the world, ISO-8601 UTC with milliseconds. */
  readonly eventTime: string;
  readonly values: Readonly<Record<string, FeatureValue>>;
  /** sha256 of group, entity, eventTime and canonical values: equal records share it. */
  readonly recordId: string;
}

/** A record as appended to the offline store. */
export interface StoredFeatureRecord extends FeatureRecord {
  /** When we accepted it, ISO-8601 UTC. Point-in-time joins filter on it. */
  readonly ingestedAt: string;
}

const WELL_FORMED = 'must be well-formed Unicode (no lone surrogates)';
// Canonical JSON refuses lone UTF-16 surrogates, so a record holding one could not get an ID.
function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** Smallest non-zero magnitude a DynamoDB number holds. */
export const DYNAMODB_MIN_MAGNITUDE = 1e-130;
/**
 * Largest magnitude the online store writes and reads back as a plain number: 2^53 - 1. DynamoDB
 * itself goes up to 9.9999999999999999999999999999999999999e125, but the SDK's document client
 * refuses to write a number beyond Number.MAX_SAFE_INTEGER (and would read one back as a BigInt).
 */
export const MAX_STORED_MAGNITUDE = Number.MAX_SAFE_INTEGER;

/**
 * Why the online store (DynamoDB through the document client) cannot hold `n` exactly, or undefined when it can. A
 * double never has more than 17 significant digits, within DynamoDB's 38, so what remains is the
 * magnitude range and -0, which DynamoDB stores as 0.
 */
export function dynamoNumberProblem(n: number): string | undefined {
  if (Object.is(n, -0)) return 'must not be -0 (DynamoDB stores it as 0)';
  const magnitude = Math.abs(n);
  if (magnitude !== 0 && magnitude < DYNAMODB_MIN_MAGNITUDE) {
    return `must be 0 or at least ${DYNAMODB_MIN_MAGNITUDE} in magnitude (the smallest number DynamoDB stores)`;
  }
  if (magnitude > MAX_STORED_MAGNITUDE) {
    return `must be at most ${MAX_STORED_MAGNITUDE} (2^53 - 1) in magnitude (the largest number the online store writes and reads back exactly)`;
  }
  return undefined;
}

/** A number DynamoDB can store exactly, with `dynamoNumberProblem`'s message otherwise. */
function storableNumber(n: z.ZodNumber): z.ZodType<number> {
  return n.superRefine((value, ctx) => {
    const problem = dynamoNumberProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  });
}

function valueSchema(feature: Feature): z.ZodType<FeatureValue> {
  let schema: z.ZodType<FeatureValue>;
  switch (feature.type) {
    case 'number':
    case 'integer': {
      let n = feature.type === 'integer' ? z.number().int() : z.number();
      if (feature.min !== undefined) n = n.min(feature.min);
      if (feature.max !== undefined) n = n.max(feature.max);
      schema = storableNumber(n);
      break;
    }
    case 'categorical':
      schema = z.string().min(1).max(256).refine(isWellFormed, WELL_FORMED);
      break;
    case 'boolean':
      schema = z.boolean();
      break;
  }
  return feature.nullable ? schema.nullable() : schema;
}

/** Schema of a group's `values` object: every feature present, typed and within its constraints. */
export function featureValuesSchema(features: readonly Feature[]) {
  return z.strictObject(Object.fromEntries(features.map((f) => [f.name, valueSchema(f)])));
}

/**
 * An entity ID: 1 to 256 characters of well-formed Unicode, with no `#` or `/` (our key
 * separators), no white space, and no control or invisible format characters (Unicode Cc and Cf:
 * NUL, U+200B zero-width space, U+202E right-to-left override...), which would make two IDs that
 * look the same differ, or an ID display as another.
 */
export const EntityIdSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^#/\s]+$/, 'must not contain #, / or whitespace')
  .regex(/^[^\p{Cc}\p{Cf}]+$/u, 'must not contain control or invisible format characters (Unicode Cc, Cf)')
  .refine(isWellFormed, WELL_FORMED);

/** The earliest eventTime accepted: the Unix epoch, since DynamoDB TTL counts epoch seconds. */
export const MIN_EVENT_TIME = '1970-01-01T00:00:00.000Z';

/** What an unreadable time is told. */
export const ISO_TIME_PROBLEM =
  'must be an ISO-8601 date and time with a zone (Z or ±hh:mm), like 2001-01-09T10:00:00Z';

/** ISO-8601 time with a zone, normalised to UTC milliseconds; from MIN_EVENT_TIME to now + skew. */
export function eventTimeSchema(now: () => number = Date.now) {
  return z.iso
    .datetime({ offset: true, error: ISO_TIME_PROBLEM })
    .transform((s) => new Date(s).toISOString())
    .refine((s) => s >= MIN_EVENT_TIME, { message: `must not be before ${MIN_EVENT_TIME}` })
    .refine((s) => Date.parse(s) <= now() + MAX_FUTURE_SKEW_MS, {
      message: `must not be more than ${MAX_FUTURE_SKEW_MS / 60000} minutes in the future`,
    });
}

/** Body of `PUT /features/{group}/{entityId}`. */
export function singleRecordBodySchema(group: FeatureGroup, now?: () => number) {
  return z.strictObject({ eventTime: eventTimeSchema(now), values: featureValuesSchema(group.features) });
}

/** One record of a batch or bulk file: the entity ID travels with it. */
export function recordInputSchema(group: FeatureGroup, now?: () => number) {
  return z.strictObject({
    entityId: EntityIdSchema,
    eventTime: eventTimeSchema(now),
    values: featureValuesSchema(group.features),
  });
}

/** Body of `POST /features/{group}/batch`: the envelope only; records are validated one by one. */
export const BatchBodySchema = z.strictObject({
  records: z.array(z.unknown()).min(1).max(MAX_BATCH_RECORDS),
});

/** Builds a record and its content-derived ID. */
export function toFeatureRecord(
  group: string,
  input: { entityId: string; eventTime: string; values: Record<string, FeatureValue> },
): FeatureRecord {
  // Validation refuses -0 (dynamoNumberProblem); a caller that built values by hand still gets
  // 0, what JSON and DynamoDB would store, since canonical JSON refuses -0.
  const values = Object.fromEntries(
    Object.entries(input.values).map(([name, v]) => [name, Object.is(v, -0) ? 0 : v]),
  );
  const recordId = sha256Hex(
    canonicalJson({ group, entityId: input.entityId, eventTime: input.eventTime, values }),
  );
  return { group, entityId: input.entityId, eventTime: input.eventTime, values, recordId };
}
