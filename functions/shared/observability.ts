/**
 * Powertools instances shared by every handler of a bundle, and the environment parser. Built
 * once per cold start; the service name and metrics namespace come from the environment that
 * MlopsFunction sets.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { z } from 'zod';
import { formatProblems, toFieldProblems } from '../../shared/validation.ts';

/** Structured JSON logger. */
export const logger = new Logger();
/** X-Ray tracer; wrap SDK clients with `tracer.captureAWSv3Client`. */
export const tracer = new Tracer();
/** CloudWatch EMF metrics, flushed after each invocation. */
export const metrics = new Metrics();

/** Parses the environment at cold start, so a missing variable fails the first init, naming it. */
export function loadEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const parsed = schema.safeParse(env, { reportInput: true });
  if (!parsed.success) {
    throw new Error(`Invalid function environment:\n${formatProblems(toFieldProblems(parsed.error), '  ')}`);
  }
  return parsed.data;
}
