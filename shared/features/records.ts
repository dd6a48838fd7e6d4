/**
 * Feature records: the zod schemas derived from a feature group, and the record identity that
 * makes ingestion idempotent.
 */
import { z } from 'zod';
import type { Feature, FeatureGroup } from '../config/use-case.ts';
import { canonicalJson, sha256Hex } from '../ledger/canonical.ts';

/** Canonical JSON (RFC 8785), shared with the ledger so both hash the same bytes. */
export { canonicalJson };

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

function valueSchema(feature: Feature): z.ZodType<FeatureValue> {
  let schema: z.ZodType<FeatureValue>;
  switch (feature.type) {
    case 'number':
    case 'integer': {
      let n = feature.type === 'integer' ? z.number().int() : z.number();
      if (feature.min !== undefined) n = n.min(feature.min);
      if (feature.max !== undefined) n = n.max(feature.max);
      schema = n;
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

/** An entity ID: non-empty, no separator characters that our keys use. */
export const EntityIdSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^#/\s]+$/, 'must not contain #, / or whitespace')
  .refine(isWellFormed, WELL_FORMED);

/** ISO-8601 time with a zone, normalised to UTC milliseconds; not later than now + skew. */
export function eventTimeSchema(now: () => number = Date.now) {
  return z.iso
    .datetime({ offset: true })
    .transform((s) => new Date(s).toISOString())
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
  // JSON has no -0 and writes it as 0, so 0 is the value stored; the strict canonical form refuses -0.
  const values = Object.fromEntries(
    Object.entries(input.values).map(([name, v]) => [name, Object.is(v, -0) ? 0 : v]),
  );
  const recordId = sha256Hex(
    canonicalJson({ group, entityId: input.entityId, eventTime: input.eventTime, values }),
  );
  return { group, entityId: input.entityId, eventTime: input.eventTime, values, recordId };
}

/** sha256 of a UTF-8 text, hex. */
export const contentHash: (text: string) => string = sha256Hex;
