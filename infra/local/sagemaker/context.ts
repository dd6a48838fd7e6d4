/** What every part of the SageMaker emulator shares: placement, S3, the algorithms and a work folder. */

import type { S3Client } from '@aws-sdk/client-s3';
import type { z } from 'zod';
import type { MetricSink } from '../cloudwatch/metrics.ts';
import type { AlgorithmRegistry } from './algorithm.ts';
import { validationError } from './api-error.ts';
import type { FaultInjector } from './faults.ts';

/** Shared state of one emulator instance. */
export interface EmulatorContext {
  readonly region: string;
  readonly account: string;
  readonly s3: S3Client;
  readonly algorithms: AlgorithmRegistry;
  /** Folder under which jobs and endpoints get their scratch folders. */
  readonly workRoot: string;
  /** Injected failures: API calls by operation name, and `TrainingJobRun` for a job that fails while running. */
  readonly faults: FaultInjector;
  /**
   * Receives the endpoints' AWS/SageMaker metrics (Invocations, Invocation5XXErrors, ModelLatency).
   * @default - no metrics
   */
  readonly metrics?: MetricSink;
  /**
   * Which of the named CloudWatch alarms are in ALARM, for AutoRollbackConfiguration.
   * @default - no alarm ever fires
   */
  readonly firingAlarms?: (names: readonly string[]) => string[];
}

/** A SageMaker ARN; SageMaker lower-cases resource names in ARNs. */
export function sageMakerArn(ctx: EmulatorContext, type: string, name: string): string {
  return `arn:aws:sagemaker:${ctx.region}:${ctx.account}:${type}/${name.toLowerCase()}`;
}

/** SageMaker's name rule for jobs, models, configs and endpoints. */
export const RESOURCE_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** Parses a request body with a zod schema, reporting problems as AWS does (ValidationException). */
export function parseRequest<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map(
    (i) => `Value at '${i.path.join('.')}' failed to satisfy constraint: ${i.message}`,
  );
  throw validationError(
    `${problems.length} validation error${problems.length === 1 ? '' : 's'} detected: ${problems.join('; ')}`,
  );
}

/** Pages through a list with SageMaker's MaxResults/NextToken (the token is an offset). */
export function paginate<T>(
  items: readonly T[],
  maxResults?: number,
  nextToken?: string,
): { page: T[]; nextToken?: string } {
  const start = nextToken ? Number.parseInt(nextToken, 10) : 0;
  if (!Number.isInteger(start) || start < 0) throw validationError(`Invalid pagination token ${nextToken}`);
  const size = maxResults ?? 100;
  const page = items.slice(start, start + size);
  const next = start + size < items.length ? String(start + size) : undefined;
  return next === undefined ? { page } : { page, nextToken: next };
}
