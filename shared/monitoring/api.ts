/**
 * The monitor function's contract: its environment (checked at synth and at cold start), the
 * event that starts a check (the schedule's, or `mlops monitor`'s with a window), and the metrics
 * it publishes, which the alarms and the dashboard read by these names.
 */
import * as z from 'zod';
import { UseCaseSchema } from '../config/use-case.ts';
import { jsonText } from '../validation.ts';

const name = z.string().min(1);

/** The monitor function's name, which `mlops monitor` invokes (at most 64 characters). */
export function monitorFunctionName(stage: string, useCase: string): string {
  return `mlops-${stage}-${useCase}-monitor`;
}

/** The monitor function's environment. */
export const MonitorEnvSchema = z.object({
  /** JSON of the validated use case (defaults applied). */
  USE_CASE_CONFIG: jsonText(UseCaseSchema, 'a valid use case'),
  LEDGER_TABLE: name,
  LEDGER_CHAIN: name.default('main'),
  LEDGER_SIGNING_KEY: z.string().regex(/^arn:aws[a-z-]*:kms:/, 'must be a KMS key ARN'),
  /** The prediction log (read) and the full monitoring reports (written). */
  PREDICTION_LOG_BUCKET: name,
  /** Feedback labels, dataset manifests and each run's monitoring reference. */
  DATASETS_BUCKET: name,
  ENDPOINT_NAME: name,
  /** The training pipeline a drift starts. */
  TRAINING_STATE_MACHINE_ARN: z.string().regex(/^arn:aws[a-z-]*:states:/, 'must be a state machine ARN'),
});
export type MonitorEnv = z.infer<typeof MonitorEnvSchema>;

/**
 * What starts a check: the schedule sends its Scheduled Event (the window of
 * `monitoring.windowHours` ending on the hour at or before its time less the log's arrival
 * slack); `mlops monitor` may name the window and who asks.
 */
export const MonitorRequestSchema = z
  .looseObject({
    from: z.iso.datetime().optional(),
    to: z.iso.datetime().optional(),
    /** Who asked, as the caller claims it (recorded as such, not as the event's actor). */
    requestedBy: z.string().min(1).max(200).optional(),
    /** A Scheduled Event's time: the window ends from it, so a retried event checks the same window. */
    time: z.iso.datetime().optional(),
  })
  .refine((r) => (r.from === undefined) === (r.to === undefined), {
    message: 'from and to go together',
    path: ['to'],
  })
  .refine((r) => r.from === undefined || r.to === undefined || r.from < r.to, {
    message: 'must be after from',
    path: ['to'],
  });
export type MonitorRequest = z.infer<typeof MonitorRequestSchema>;

/** The monitor's EMF metrics: namespace, service dimension and names, shared with the alarms. */
export const MONITOR_METRICS = {
  namespace: 'Mlops',
  service: 'monitor',
  /** Share of drifted features of the version serving most traffic (dimension useCase). */
  driftedShare: 'DriftedShare',
  /** Per feature (dimensions useCase, feature): 1 when drifted, 0 when not. */
  featureDrift: 'FeatureDrift',
  /** Per feature: the test's statistic (distance tests) or 1 - p (p-value tests). */
  featureDriftScore: 'FeatureDriftScore',
  realizedAuc: 'RealizedAuc',
  estimatedAuc: 'EstimatedAuc',
  predictions: 'MonitoredPredictions',
  labeled: 'LabeledPredictions',
  retrainings: 'RetrainingsTriggered',
} as const;
