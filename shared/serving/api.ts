/**
 * The serving routes' HTTP contract, the predict function's environment and the metric names
 * its alarms read, in one place for the constructs (routes, alarms), the handlers and the
 * OpenAPI document.
 */
import * as z from 'zod';
import { UseCaseSchema } from '../config/use-case.ts';
import { jsonText } from '../validation.ts';

/** Every serving route; `{useCase}` is a literal per use case, each answered by its own function. */
export const SERVING_ROUTES = {
  predict: { method: 'POST', path: '/predict/{useCase}' },
  feedback: { method: 'POST', path: '/feedback/{useCase}' },
} as const;

/** A route's path for one use case. */
export function servingPath(route: keyof typeof SERVING_ROUTES, useCase: string): string {
  return SERVING_ROUTES[route].path.replace('{useCase}', useCase);
}

/**
 * The EMF metrics of the predict function, which the stack's alarms read. The function's 5xx
 * answers are counted by the shared HTTP chain (`ServerErrors`), with the use case as a default
 * dimension next to Powertools' `service`.
 */
export const PREDICT_METRICS = {
  namespace: 'Mlops',
  /** Powertools' service dimension of the predict function (POWERTOOLS_SERVICE_NAME). */
  service: 'predict',
  /** One per request answered 5xx. */
  failures: 'ServerErrors',
  /** One per prediction whose log line or served request was not stored (the alarm reads it). */
  notKept: 'PredictionsNotKept',
  /** One per prediction whose log line Firehose did not accept (the line is logged instead). */
  logFailures: 'PredictionLogFailures',
  /** One per prediction whose served request was not stored (feedback cannot find it). */
  servedFailures: 'ServedRequestFailures',
} as const;

/** The predict function's environment. */
export const PredictEnvSchema = z.object({
  /** JSON of the validated use case (defaults applied). */
  USE_CASE_CONFIG: jsonText(UseCaseSchema, 'a valid use case'),
  ONLINE_TABLE: z.string().min(1),
  ENDPOINT_NAME: z.string().min(1),
  /** The Firehose stream that delivers the prediction log. */
  PREDICTION_STREAM: z.string().min(1),
  /** The served-request table, read by the feedback route. */
  SERVED_TABLE: z.string().min(1),
});

/** The feedback function's environment. */
export const FeedbackEnvSchema = z.object({
  /** JSON of the validated use case (defaults applied). */
  USE_CASE_CONFIG: jsonText(UseCaseSchema, 'a valid use case'),
  SERVED_TABLE: z.string().min(1),
  /** The datasets bucket, where the label path stores label events. */
  DATASETS_BUCKET: z.string().min(1),
});
