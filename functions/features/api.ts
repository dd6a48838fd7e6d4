/**
 * `PUT|GET /features/{group}/{entityId}` and `POST /features/{group}/batch`: validated ingestion
 * and online reads. Each route parses its input with the group's schema and makes one call into
 * shared/features.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { NotFoundError } from '../../shared/errors.ts';
import {
  type BatchResponse,
  EntityPathSchema,
  FEATURE_ROUTES,
  FeatureStoreEnvSchema,
  GroupPathSchema,
  groupOrThrow,
  parseBatchEnvelope,
  parseJsonBody,
  parseOrThrow,
  parseSingleBody,
} from '../../shared/features/api.ts';
import { type IngestContext, ingestBatch, writeRecords } from '../../shared/features/ingest.ts';
import { getLatest, isPresent } from '../../shared/features/online-store.ts';
import { toFeatureRecord } from '../../shared/features/records.ts';
import { documentClient, s3Client } from '../shared/clients.ts';
import { httpHandler } from '../shared/http.ts';
import { loadEnv } from '../shared/observability.ts';

const env = loadEnv(FeatureStoreEnvSchema);

const groups = new Map(env.FEATURE_GROUPS.map((g) => [g.name, g]));
const ctx: IngestContext = {
  online: {
    client: documentClient(),
    tableName: env.ONLINE_TABLE,
  },
  offline: { client: s3Client(), bucket: env.OFFLINE_BUCKET },
};

/** A read found no servable value (never written, or past its TTL). */
class FeatureValueMissingError extends NotFoundError {
  override readonly name = 'FeatureValueMissingError';
}

async function putOne(event: APIGatewayProxyEvent) {
  const path = parseOrThrow(EntityPathSchema, event.pathParameters, 'path');
  const group = groupOrThrow(groups, path.group);
  const body = parseSingleBody(group, parseJsonBody(event.body));
  const record = toFeatureRecord(group.name, { entityId: path.entityId, ...body });
  const [result] = await writeRecords(ctx, group, [record]);
  return { group: group.name, ...result };
}

async function getOne(event: APIGatewayProxyEvent) {
  const path = parseOrThrow(EntityPathSchema, event.pathParameters, 'path');
  const group = groupOrThrow(groups, path.group);
  const found = await getLatest(ctx.online, group.name, path.entityId, group.ttlSeconds);
  if (!isPresent(found)) {
    const detail =
      found.reason === 'expired'
        ? `expired (eventTime ${found.eventTime}, ttl ${group.ttlSeconds}s)`
        : 'absent';
    throw new FeatureValueMissingError(
      `entityId: no servable value for '${path.entityId}' in '${group.name}': ${detail}`,
    );
  }
  return found;
}

async function putBatch(event: APIGatewayProxyEvent): Promise<BatchResponse> {
  const path = parseOrThrow(GroupPathSchema, event.pathParameters, 'path');
  const group = groupOrThrow(groups, path.group);
  return ingestBatch(ctx, group, parseBatchEnvelope(parseJsonBody(event.body)).records);
}

const routes: Record<string, (event: APIGatewayProxyEvent) => Promise<unknown>> = {
  [`${FEATURE_ROUTES.put.method} ${FEATURE_ROUTES.put.path}`]: putOne,
  [`${FEATURE_ROUTES.get.method} ${FEATURE_ROUTES.get.path}`]: getOne,
  [`${FEATURE_ROUTES.batch.method} ${FEATURE_ROUTES.batch.path}`]: putBatch,
};

/** Dispatches on method and API Gateway resource path. */
export const handler = httpHandler(async (event) => {
  const route = routes[`${event.httpMethod} ${event.resource}`];
  if (!route) throw new NotFoundError(`no route ${event.httpMethod} ${event.resource}`);
  return route(event);
});
