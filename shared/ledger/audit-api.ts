/**
 * The audit API's routes: one place for the paths, so the construct that creates them and the
 * handler that answers them cannot disagree.
 */
import * as z from 'zod';

/**
 * Every `GET /audit/...` route with its query parameters (`?` marks an optional one). Inputs are
 * query parameters rather than path segments so each route has one exact execute-api ARN, and an
 * IAM policy can grant a route without a wildcard.
 */
export const AUDIT_ROUTES = {
  provenance: { method: 'GET', path: '/audit/provenance', query: ['modelVersion'] },
  incidents: { method: 'GET', path: '/audit/incidents', query: ['modelVersion'] },
  modelsFromDataset: { method: 'GET', path: '/audit/dataset-models', query: ['datasetHash'] },
  servedAt: { method: 'GET', path: '/audit/served-at', query: ['endpointName', 'at'] },
  events: { method: 'GET', path: '/audit/events', query: ['from', 'to', 'limit?', 'cursor?'] },
  verify: { method: 'GET', path: '/audit/verify', query: ['archive?'] },
} as const satisfies Record<string, { method: 'GET'; path: string; query: readonly string[] }>;

/** Query parameters of `GET /audit/verify`. */
export const VerifyParamsSchema = z.strictObject({
  /** Also compare the live chain with the Object Lock archive (default true). */
  archive: z.enum(['true', 'false']).default('true'),
});
