/**
 * Powertools instances shared by every handler of a bundle, the middy chain every handler starts
 * from, and the environment parser. Built once per cold start; the service name and metrics namespace come from the environment that
 * MlopsFunction sets.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { formatProblems, toFieldProblems } from '../../shared/validation.ts';

/** Structured JSON logger. */
export const logger = new Logger();
/**
 * X-Ray tracer; wrap SDK clients with `tracer.captureAWSv3Client`. Every call the functions make
 * goes through an SDK client, so Node's http and https modules are not patched as well: that would
 * trace each AWS call twice and cost every request the second subsegment.
 */
export const tracer = new Tracer({ captureHTTPsRequests: false });
/**
 * CloudWatch EMF metrics, flushed after each invocation. An invocation that records none (a
 * feature read, an audit query) writes nothing: Powertools would otherwise log a warning line
 * every time; its other warnings and errors go through the structured logger.
 */
export const metrics = new Metrics({
  logger: {
    debug: () => {},
    info: (...args: unknown[]) => logger.info(String(args[0] ?? '')),
    warn: (...args: unknown[]) => {
      const message = String(args[0] ?? '');
      if (!message.startsWith('No application metrics to publish')) logger.warn(message);
    },
    error: (...args: unknown[]) => logger.error(String(args[0] ?? '')),
  },
});

/** Parses the environment at cold start, so a missing variable fails the first init, naming it. */
export function loadEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env, { reportInput: true });
  if (!parsed.success) {
    throw new Error(`Invalid function environment:\n${formatProblems(toFieldProblems(parsed.error), '  ')}`);
  }
  return parsed.data;
}

/**
 * The chain every handler starts from: the Lambda context in each log line (`resetKeys` drops
 * keys appended by the previous invocation), the handler traced, and metrics flushed after each
 * invocation. Handlers add their own middlewares (error mapping, parsing) after it.
 */
export function baseChain<E, R>(options: { readonly resetKeys?: boolean } = {}) {
  return middy<E, R, Error, Context>()
    .use(injectLambdaContext(logger, options.resetKeys ? { resetKeys: true } : {}))
    .use(captureLambdaHandler(tracer))
    .use(logMetrics(metrics));
}
