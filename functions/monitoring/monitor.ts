/** Monitor: one check of the use case's prediction log over a window (schedule or `mlops monitor`). */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { MONITOR_METRICS, MonitorEnvSchema, MonitorRequestSchema } from '../../shared/monitoring/api.ts';
import { windowEndingAt } from '../../shared/monitoring/log-reader.ts';
import { runMonitor } from '../../shared/monitoring/monitor.ts';
import { formatProblems, toFieldProblems } from '../../shared/validation.ts';
import { ledgerLocation } from '../pipeline/step-handler.ts';
import { s3Client, sfnClient } from '../shared/clients.ts';
import { baseChain, loadEnv, logger, metrics } from '../shared/observability.ts';

const env = loadEnv(MonitorEnvSchema);
const useCase = env.USE_CASE_CONFIG;
const s3 = s3Client();
const sfn = sfnClient();
const ledger = ledgerLocation(env);
metrics.setDefaultDimensions({ useCase: useCase.name });

export const handler = baseChain<unknown, unknown>().handler(async (event) => {
  const parsed = MonitorRequestSchema.safeParse(event ?? {}, { reportInput: true });
  if (!parsed.success) {
    throw new Error(`Invalid monitor request:\n${formatProblems(toFieldProblems(parsed.error), '  ')}`);
  }
  const request = parsed.data;
  const window =
    request.from && request.to
      ? { start: new Date(request.from).toISOString(), end: new Date(request.to).toISOString() }
      : windowEndingAt(request.time ? new Date(request.time) : new Date(), useCase.monitoring.windowHours);
  const result = await runMonitor({
    useCase,
    s3,
    ledger,
    predictionLogBucket: env.PREDICTION_LOG_BUCKET,
    datasetsBucket: env.DATASETS_BUCKET,
    endpointName: env.ENDPOINT_NAME,
    window,
    // The function is the actor; a caller's claimed name is recorded apart, as a claim.
    actor: request.time ? 'monitor/schedule' : 'monitor/invoke',
    ...(request.requestedBy ? { requestedBy: request.requestedBy } : {}),
    training: { sfn, stateMachineArn: env.TRAINING_STATE_MACHINE_ARN },
  });
  const primary = result.reports.find((r) => r.modelVersion === result.primaryVersion);
  metrics.addMetric(MONITOR_METRICS.predictions, MetricUnit.Count, primary?.rows ?? 0);
  if (primary) {
    metrics.addMetric(MONITOR_METRICS.labeled, MetricUnit.Count, primary.labeled);
    if (primary.event.decision !== 'insufficient-data')
      metrics.addMetric(MONITOR_METRICS.driftedShare, MetricUnit.NoUnit, primary.event.driftedShare);
    if (primary.realized?.auc !== undefined)
      metrics.addMetric(MONITOR_METRICS.realizedAuc, MetricUnit.NoUnit, primary.realized.auc);
    if (primary.estimated?.auc !== undefined)
      metrics.addMetric(MONITOR_METRICS.estimatedAuc, MetricUnit.NoUnit, primary.estimated.auc);
    for (const f of primary.features) {
      if (f.verdict === 'insufficient-data') continue;
      // One EMF document per feature and metric: a feature dimension must not split the use case's totals.
      const published: [string, (typeof MetricUnit)[keyof typeof MetricUnit], number][] = [
        [MONITOR_METRICS.featureDrift, MetricUnit.Count, f.verdict === 'drift' ? 1 : 0],
        // 1 - p for p-value tests (an infinite chi-square has p = 0: score 1), else the distance.
        [
          MONITOR_METRICS.featureDriftScore,
          MetricUnit.NoUnit,
          f.pValue !== null ? 1 - f.pValue : (f.statistic ?? 1),
        ],
      ];
      for (const [metric, unit, value] of published) {
        const single = metrics.singleMetric();
        single.addDimensions({ useCase: useCase.name, feature: f.feature });
        single.addMetric(metric, unit, value);
      }
    }
  }
  metrics.addMetric(
    MONITOR_METRICS.retrainings,
    MetricUnit.Count,
    result.retraining?.outcome === 'started' ? 1 : 0,
  );
  logger.info('monitoring check', {
    window: result.window,
    log: result.log,
    versions: result.reports.map((r) => ({
      modelVersion: r.modelVersion,
      rows: r.rows,
      decision: r.event.decision,
      driftedShare: r.event.driftedShare,
    })),
    skipped: result.skipped,
    retraining: result.retraining,
  });
  return result;
});
