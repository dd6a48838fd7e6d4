/**
 * The middy chain every API Gateway (REST, proxy) handler uses: the base chain, then domain
 * errors mapped to HTTP with `instanceof`. 4xx bodies explain the problem; 5xx bodies say nothing
 * internal, only the request ID to quote.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type middy from '@middy/core';
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { z } from 'zod';
import {
  ConflictError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  ServiceUnavailableError,
} from '../../shared/errors.ts';
import { toFieldProblems } from '../../shared/validation.ts';
import { baseChain, logger, metrics } from './observability.ts';

/** A JSON response with no-store caching (audit answers must never be served stale). */
export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: JSON.stringify(body),
  };
}

/** Parses path or query parameters with `schema`, throwing InvalidInputError naming each bad field. */
export function parseParams<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input ?? {}, { reportInput: true });
  if (!parsed.success)
    throw new InvalidInputError('invalid request parameters', toFieldProblems(parsed.error));
  return parsed.data;
}

/** The HTTP status of a domain error, or 500 for anything unexpected. */
export function statusOf(error: unknown): number {
  if (error instanceof InvalidInputError) return 400;
  if (error instanceof NotFoundError) return 404;
  if (error instanceof ForbiddenError) return 403;
  if (error instanceof ConflictError) return 409;
  if (error instanceof ServiceUnavailableError) return 503;
  return 500;
}

/** Middleware that turns a thrown error into a JSON response. */
export function httpErrors(): MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context> {
  return {
    onError: async (request) => {
      const status = statusOf(request.error);
      const requestId = request.context.awsRequestId;
      if (status < 500 && request.error) {
        logger.info('request refused', { status, error: request.error.message });
        const problems = request.error instanceof InvalidInputError ? request.error.problems : undefined;
        request.response = jsonResponse(status, {
          message: request.error.message,
          ...(problems && problems.length > 0 ? { problems } : {}),
          requestId,
        });
        return;
      }
      logger.error('request failed', { error: request.error });
      metrics.addMetric('ServerErrors', MetricUnit.Count, 1);
      const message = status === 503 ? 'Service busy, retry later' : 'Internal server error';
      request.response = jsonResponse(status, { message, requestId });
    },
  };
}

/** Wraps a route body (returning the JSON payload) in the shared middy chain. */
export function httpHandler(
  body: (event: APIGatewayProxyEvent, context: Context) => Promise<unknown>,
): middy.MiddyfiedHandler<APIGatewayProxyEvent, APIGatewayProxyResult, Error, Context> {
  return baseChain<APIGatewayProxyEvent, APIGatewayProxyResult>()
    .use(httpErrors())
    .handler(async (event, context) => jsonResponse(200, await body(event, context)));
}
