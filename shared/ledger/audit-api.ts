/**
 * The audit API's routes: one place for the paths, so the construct that creates them and the
 * handler that answers them cannot disagree.
 */
import { z } from 'zod';

/**
 * Every `GET /audit/...` route with its query parameters (`?` marks an optional one). Inputs are
 * query parameters rather than path segments so each route has one exact execute-api ARN, and an
 * IAM policy can grant a route without a wildcard.
 */
export const AUDIT_ROUTES = {
  provenance: { path: '/audit/provenance', query: ['modelVersion'] },
  incidents: { path: '/audit/incidents', query: ['modelVersion'] },
  modelsFromDataset: { path: '/audit/dataset-models', query: ['datasetHash'] },
  servedAt: { path: '/audit/served-at', query: ['endpointName', 'at'] },
  events: { path: '/audit/events', query: ['from', 'to', 'limit?', 'cursor?'] },
  verify: { path: '/audit/verify', query: ['archive?'] },
} as const satisfies Record<string, { path: string; query: readonly string[] }>;

/** Query parameters of `GET /audit/verify`. */
export const VerifyParamsSchema = z.strictObject({
  /** Also compare the live chain with the Object Lock archive (default true). */
  archive: z.enum(['true', 'false']).default('true'),
});
