/**
 * `GET /audit/...`: the five audit queries and chain verification, read-only. Each route parses
 * its parameters with zod and makes one call into shared/ledger.
 */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import * as z from 'zod';
import { NotFoundError } from '../../shared/errors.ts';
import { AUDIT_ROUTES, VerifyParamsSchema } from '../../shared/ledger/audit-api.ts';
import {
  DatasetParamsSchema,
  EventsInRangeSchema,
  eventsInRange,
  getProvenance,
  incidentsForModel,
  ModelVersionParamsSchema,
  modelsFromDataset,
  ServedAtParamsSchema,
  servedAt,
} from '../../shared/ledger/queries.ts';
import { lazySignatureChecker } from '../../shared/ledger/signing.ts';
import { verifyLedger } from '../../shared/ledger/verify.ts';
import { documentClient, kmsClient, s3Client } from '../shared/clients.ts';
import { httpHandler, parseParams } from '../shared/http.ts';
import { loadEnv } from '../shared/observability.ts';

const EnvSchema = z.object({
  LEDGER_TABLE: z.string().min(1),
  LEDGER_CHAIN: z.string().min(1).default('main'),
  AUDIT_ARCHIVE_BUCKET: z.string().min(1),
  /** The ledger's signing key: verify checks every event's signature with its public key. */
  LEDGER_SIGNING_KEY: z.string().regex(/^arn:aws[a-z-]*:kms:/, 'must be a KMS key ARN'),
});
const env = loadEnv(EnvSchema);

const ledger = {
  client: documentClient(),
  tableName: env.LEDGER_TABLE,
  chain: env.LEDGER_CHAIN,
};
const archive = { s3: s3Client(), bucket: env.AUDIT_ARCHIVE_BUCKET };
const signatures = lazySignatureChecker(kmsClient(), env.LEDGER_SIGNING_KEY);

type Route = (event: APIGatewayProxyEvent) => Promise<unknown>;

const routes: Record<string, Route> = {
  [AUDIT_ROUTES.provenance.path]: (e) =>
    getProvenance(ledger, parseParams(ModelVersionParamsSchema, e.queryStringParameters).modelVersion),
  [AUDIT_ROUTES.incidents.path]: (e) =>
    incidentsForModel(ledger, parseParams(ModelVersionParamsSchema, e.queryStringParameters).modelVersion),
  [AUDIT_ROUTES.modelsFromDataset.path]: (e) =>
    modelsFromDataset(ledger, parseParams(DatasetParamsSchema, e.queryStringParameters).datasetHash),
  [AUDIT_ROUTES.servedAt.path]: (e) => {
    const p = parseParams(ServedAtParamsSchema, e.queryStringParameters);
    return servedAt(ledger, p.endpointName, p.at);
  },
  [AUDIT_ROUTES.events.path]: (e) =>
    eventsInRange(ledger, parseParams(EventsInRangeSchema, e.queryStringParameters)),
  [AUDIT_ROUTES.verify.path]: async (e) => {
    const p = parseParams(VerifyParamsSchema, e.queryStringParameters);
    return verifyLedger(
      { ...ledger, signatures: await signatures() },
      p.archive === 'true' ? archive : undefined,
    );
  },
};

/** Dispatches on the API Gateway resource path. */
export const handler = httpHandler(async (event) => {
  const route = event.httpMethod === 'GET' ? routes[event.resource] : undefined;
  if (!route) throw new NotFoundError(`no route ${event.httpMethod} ${event.resource}`);
  return route(event);
});
