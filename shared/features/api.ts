/**
 * The feature store's HTTP contract: one place for the routes and request parsing, so the
 * construct that creates the routes, the handler that answers them and the docs cannot disagree.
 */
import * as z from 'zod';
import { type FeatureGroup, FeatureGroupSchema } from '../config/use-case.ts';
import { InvalidInputError } from '../errors.ts';
import { jsonText, toFieldProblems } from '../validation.ts';
import { type RecordResult, type Rejection, UnknownFeatureGroupError } from './ingest.ts';
import { BatchBodySchema, EntityIdSchema, MAX_BATCH_RECORDS, singleRecordBodySchema } from './records.ts';

/** Every feature-store route. `batch` is a fixed segment, so an entity cannot be named "batch". */
export const FEATURE_ROUTES = {
  put: { method: 'PUT', path: '/features/{group}/{entityId}' },
  get: { method: 'GET', path: '/features/{group}/{entityId}' },
  batch: { method: 'POST', path: '/features/{group}/batch' },
} as const;

/** Path parameters of the single-entity routes. */
export const EntityPathSchema = z.strictObject({ group: z.string().min(1), entityId: EntityIdSchema });
/** Path parameters of the batch route. */
export const GroupPathSchema = z.strictObject({ group: z.string().min(1) });

/** Parses a JSON request body, naming `body` when it is absent or not JSON. */
export function parseJsonBody(body: string | null | undefined): unknown {
  if (body === null || body === undefined || body.trim() === '') {
    throw new InvalidInputError('request body is required', [
      { field: 'body', problem: 'is required (JSON object)' },
    ]);
  }
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new InvalidInputError('request body is not valid JSON', [
      { field: 'body', problem: 'is not valid JSON' },
    ]);
  }
}

/** Validates `input` with `schema`, throwing InvalidInputError that names every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(input, { reportInput: true });
  if (!parsed.success) throw new InvalidInputError(`invalid ${what}`, toFieldProblems(parsed.error));
  return parsed.data;
}

/** Finds the group or fails with a 404 that names the field and the known groups. */
export function groupOrThrow(groups: ReadonlyMap<string, FeatureGroup>, name: string): FeatureGroup {
  const group = groups.get(name);
  if (!group) throw new UnknownFeatureGroupError(name, [...groups.keys()]);
  return group;
}

/** Parses a single-record body for `group`. */
export function parseSingleBody(group: FeatureGroup, body: unknown, now?: () => number) {
  return parseOrThrow(singleRecordBodySchema(group, now), body, 'feature record');
}

/** Parses the batch envelope (not the records, which are accepted or rejected one by one). */
export function parseBatchEnvelope(body: unknown): { records: unknown[] } {
  return parseOrThrow(BatchBodySchema, body, `batch (at most ${MAX_BATCH_RECORDS} records)`);
}

/** Response of the batch route. */
export interface BatchResponse {
  readonly accepted: number;
  readonly rejected: readonly Rejection[];
  readonly results: readonly RecordResult[];
}

/** Environment of the feature-store functions; FEATURE_GROUPS is the JSON the construct writes. */
export const FeatureStoreEnvSchema = z.object({
  ONLINE_TABLE: z.string().min(1),
  OFFLINE_BUCKET: z.string().min(1),
  FEATURE_GROUPS: jsonText(z.array(FeatureGroupSchema), 'an array of feature groups'),
});
