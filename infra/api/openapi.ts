/**
 * The OpenAPI 3.0 document of the product's API, generated from the zod schemas the handlers
 * parse with (and the route tables the constructs build from), so the document cannot drift from
 * what is deployed. `npm run mlops -- openapi` prints it.
 */
import * as z from 'zod';
import type { UseCase } from '../../shared/config/use-case.ts';
import { DEPLOYMENT_ROUTES } from '../../shared/deployment/contracts.ts';
import { RollbackBodySchema } from '../../shared/deployment/rollback.ts';
import { FEATURE_ROUTES } from '../../shared/features/api.ts';
import {
  MAX_BATCH_RECORDS,
  recordInputSchema,
  singleRecordBodySchema,
} from '../../shared/features/records.ts';
import { LABEL_ROUTES } from '../../shared/labels/api.ts';
import { labelContract, labelInputSchema, MAX_LABEL_BATCH } from '../../shared/labels/schema.ts';
import { AUDIT_ROUTES } from '../../shared/ledger/audit-api.ts';
import { ApprovalBodySchema, StartRunBodySchema, TRAINING_ROUTES } from '../../shared/pipeline/contracts.ts';
import { SERVING_ROUTES, servingPath } from '../../shared/serving/api.ts';
import { feedbackInputSchema } from '../../shared/serving/feedback.ts';
import { predictInputSchema } from '../../shared/serving/predict.ts';
import { openApiSchema } from './json-schema.ts';

/** The body of every 4xx/5xx answer (see functions/shared/http.ts). */
export const ErrorBodySchema = z.object({
  message: z.string(),
  problems: z
    .array(z.object({ field: z.string(), problem: z.string(), got: z.string().optional() }))
    .optional()
    .describe('one entry per bad field (400)'),
  requestId: z.string().optional(),
});

const errors = {
  '400': { description: 'invalid input; `problems` names each field', content: json(ErrorBodySchema) },
  '403': {
    description: 'missing or invalid SigV4 signature (or no IAM identity)',
    content: json(ErrorBodySchema),
  },
  '404': { description: 'unknown resource; the message names the field', content: json(ErrorBodySchema) },
  '500': {
    description: 'internal error; the body carries only the request ID',
    content: json(ErrorBodySchema),
  },
};

function json(schema: z.ZodType) {
  return { 'application/json': { schema: openApiSchema(schema) } };
}

function pathParameters(path: string) {
  return [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({
    name: m[1],
    in: 'path',
    required: true,
    schema: { type: 'string' },
  }));
}

/** One body schema per feature group, each titled with its group (the `group` path parameter picks it). */
function perGroup(
  useCases: readonly UseCase[],
  schemaOf: (g: UseCase['featureGroups'][number]) => z.ZodType,
) {
  const groups = useCases.flatMap((uc) => uc.featureGroups);
  return { oneOf: groups.map((g) => ({ title: g.name, ...openApiSchema(schemaOf(g)) })) };
}

/** A batch body `{<list>: [item, …]}` of 1 to `max` items. */
function batchBody(list: string, max: number, items: Record<string, unknown>) {
  return {
    'application/json': {
      schema: {
        type: 'object',
        additionalProperties: false,
        required: [list],
        properties: { [list]: { type: 'array', minItems: 1, maxItems: max, items } },
      },
    },
  };
}

/** The document for a set of use cases. */
export function buildOpenApiDocument(useCases: readonly UseCase[]): Record<string, unknown> {
  const groupNames = useCases.flatMap((uc) => uc.featureGroups.map((g) => g.name));
  const groupParameter = {
    name: 'group',
    in: 'path',
    required: true,
    schema: { type: 'string', enum: groupNames },
  };
  const paths: Record<string, Record<string, unknown>> = {};
  const add = (path: string, method: string, operation: Record<string, unknown>) => {
    paths[path] = { ...paths[path], [method.toLowerCase()]: { security: [{ sigv4: [] }], ...operation } };
  };

  add(FEATURE_ROUTES.put.path, FEATURE_ROUTES.put.method, {
    summary: 'Ingest one feature record; an older eventTime never overwrites a newer value',
    parameters: [
      groupParameter,
      ...pathParameters(FEATURE_ROUTES.put.path).filter((p) => p.name !== 'group'),
    ],
    requestBody: {
      required: true,
      content: { 'application/json': { schema: perGroup(useCases, (g) => singleRecordBodySchema(g)) } },
    },
    responses: {
      '200': { description: '`{group, entityId, eventTime, recordId, outcome: updated|stale|duplicate}`' },
      ...errors,
    },
  });
  add(FEATURE_ROUTES.get.path, FEATURE_ROUTES.get.method, {
    summary: 'Read the latest value of an entity; 404 when absent or past the group TTL',
    parameters: [
      groupParameter,
      ...pathParameters(FEATURE_ROUTES.get.path).filter((p) => p.name !== 'group'),
    ],
    responses: { '200': { description: '`{group, entityId, eventTime, values}`' }, ...errors },
  });
  add(FEATURE_ROUTES.batch.path, FEATURE_ROUTES.batch.method, {
    summary: `Ingest up to ${MAX_BATCH_RECORDS} records; valid ones are accepted, every rejection is listed`,
    parameters: [groupParameter],
    requestBody: {
      required: true,
      content: batchBody(
        'records',
        MAX_BATCH_RECORDS,
        perGroup(useCases, (g) => recordInputSchema(g)),
      ),
    },
    responses: { '200': { description: '`{accepted, rejected: [{index, problems}], results}`' }, ...errors },
  });

  add(LABEL_ROUTES.batch.path, LABEL_ROUTES.batch.method, {
    summary: `Ingest up to ${MAX_LABEL_BATCH} label events of a use case; valid ones are stored, every rejection is listed`,
    parameters: [
      {
        name: 'useCase',
        in: 'path',
        required: true,
        schema: { type: 'string', enum: useCases.map((u) => u.name) },
      },
    ],
    requestBody: {
      required: true,
      content: batchBody('labels', MAX_LABEL_BATCH, {
        oneOf: useCases.map((uc) => ({
          title: uc.name,
          ...openApiSchema(labelInputSchema(labelContract(uc))),
        })),
      }),
    },
    responses: {
      '200': {
        description:
          '`{useCase, accepted, rejected: [{index, problems}], results: [{labelId, eventTime, outcome: written|duplicate}]}`',
      },
      ...errors,
    },
  });

  for (const route of Object.values(AUDIT_ROUTES)) {
    add(route.path, route.method, {
      summary: `Audit: ${route.path.slice('/audit/'.length)}`,
      parameters: route.query.map((q) => ({
        name: q.replace('?', ''),
        in: 'query',
        required: !q.endsWith('?'),
        schema: { type: 'string' },
      })),
      responses: { '200': { description: 'the query result (see README "For auditors")' }, ...errors },
    });
  }

  for (const uc of useCases) {
    add(TRAINING_ROUTES.startRun.path.replace('{useCase}', uc.name), TRAINING_ROUTES.startRun.method, {
      summary: `Start a training run of ${uc.name}`,
      requestBody: { required: false, content: json(StartRunBodySchema) },
      responses: {
        '202': { description: '`{runId, executionArn}`' },
        '409': { description: 'a run with this ID exists' },
        ...errors,
      },
    });
  }
  for (const uc of useCases) {
    add(servingPath('predict', uc.name), SERVING_ROUTES.predict.method, {
      summary: `Score one ${uc.name} request with the model version the endpoint serves`,
      requestBody: { required: true, content: json(predictInputSchema(uc)) },
      responses: {
        '200': {
          description:
            '`{requestId, score, label, threshold, modelVersion}`: `modelVersion` is the version that answered; quote `requestId` in feedback',
        },
        '503': {
          description: 'no model is deployed yet, or the endpoint is not in service',
          content: json(ErrorBodySchema),
        },
        ...errors,
      },
    });
  }
  for (const uc of useCases) {
    add(servingPath('feedback', uc.name), SERVING_ROUTES.feedback.method, {
      summary: `Send the ground truth of one ${uc.name} prediction (by its requestId); stored as the label event of the request as it was served`,
      requestBody: { required: true, content: json(feedbackInputSchema()) },
      responses: {
        '200': {
          description:
            '`{useCase, requestId, label, modelVersion, labelId, eventTime, outcome}`: `outcome` is `duplicate` when this label was accepted before',
        },
        ...errors,
        '404': {
          description: `no prediction with this requestId in the feedback window (${uc.feedback.windowDays} days)`,
          content: json(ErrorBodySchema),
        },
        '409': {
          description: 'the prediction already has a different feedback label',
          content: json(ErrorBodySchema),
        },
      },
    });
  }
  for (const uc of useCases) {
    add(DEPLOYMENT_ROUTES.rollback.path.replace('{useCase}', uc.name), DEPLOYMENT_ROUTES.rollback.method, {
      summary: `Roll ${uc.name} back to an earlier approved version (default: the newest older than what serves); the caller is recorded`,
      requestBody: { required: true, content: json(RollbackBodySchema) },
      responses: {
        '200': {
          description:
            '`{executionArn, endpointName, fromModelVersion, toModelVersion}`: the deploy execution started; follow it for the verified outcome',
        },
        '409': {
          description: 'nothing to roll back to, or the version named cannot serve',
          content: json(ErrorBodySchema),
        },
        ...errors,
      },
    });
  }
  add(TRAINING_ROUTES.approval.path, TRAINING_ROUTES.approval.method, {
    summary: 'Approve or reject a run waiting for approval; the approver is the caller',
    parameters: pathParameters(TRAINING_ROUTES.approval.path),
    requestBody: { required: true, content: json(ApprovalBodySchema) },
    responses: {
      '200': { description: 'the decision, as sent to the pipeline' },
      '409': { description: 'already decided', content: json(ErrorBodySchema) },
      ...errors,
    },
  });

  return {
    openapi: '3.0.3',
    info: {
      title: 'serverless-mlops API',
      version: '1',
      description: 'Every route needs an AWS SigV4 signature (service execute-api). Stage: v1.',
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com/v1',
        variables: { apiId: { default: 'api-id' }, region: { default: 'us-east-1' } },
      },
    ],
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
    },
    paths,
  };
}
