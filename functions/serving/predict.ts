/**
 * `POST /predict/<useCase>`: a thin adapter. It parses the body with the use case's schema, makes
 * one call into shared/serving, keeps the prediction (the prediction log through Firehose, and the
 * served request feedback looks up) without ever failing the answer on it, records its timings,
 * and answers `{requestId, score, label, threshold, modelVersion}`.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parseJsonBody, parseOrThrow } from '../../shared/features/api.ts';
import { PREDICT_METRICS, PredictEnvSchema } from '../../shared/serving/api.ts';
import { EndpointView } from '../../shared/serving/endpoint-view.ts';
import { type Prediction, predict, predictInputSchema } from '../../shared/serving/predict.ts';
import { keepPrediction, predictionLogRecord } from '../../shared/serving/prediction-log.ts';
import {
  documentClient,
  firehoseClient,
  s3Client,
  sageMakerClient,
  sageMakerRuntimeClient,
} from '../shared/clients.ts';
import { httpHandler } from '../shared/http.ts';
import { loadEnv, logger, metrics } from '../shared/observability.ts';

const env = loadEnv(PredictEnvSchema);
const useCase = env.USE_CASE_CONFIG;
const inputSchema = predictInputSchema(useCase);
metrics.setDefaultDimensions({ useCase: useCase.name });
const documents = documentClient();
const ctx = {
  useCase,
  online: { client: documents, tableName: env.ONLINE_TABLE },
  runtime: sageMakerRuntimeClient(),
  endpointName: env.ENDPOINT_NAME,
  endpoint: new EndpointView({
    sagemaker: sageMakerClient(),
    s3: s3Client(),
    endpointName: env.ENDPOINT_NAME,
  }),
};
const sinks = {
  firehose: firehoseClient(),
  streamName: env.PREDICTION_STREAM,
  documents: documentClient({ short: true }),
  servedTable: env.SERVED_TABLE,
};

export const handler = httpHandler(async (event, context): Promise<Prediction> => {
  const started = performance.now();
  const time = new Date().toISOString();
  const input = parseOrThrow(inputSchema, parseJsonBody(event.body), 'prediction request');
  const record = await predict(ctx, input, context.awsRequestId);
  const answeredMs = performance.now() - started;
  const line = predictionLogRecord(useCase, input, record, time);
  const kept = await keepPrediction(sinks, useCase, input, line);
  metrics.addMetric('FeaturesLatency', MetricUnit.Milliseconds, record.timings.featuresMs);
  metrics.addMetric('ModelLatency', MetricUnit.Milliseconds, record.timings.modelMs);
  metrics.addMetric('KeepLatency', MetricUnit.Milliseconds, performance.now() - started - answeredMs);
  metrics.addMetric('PredictLatency', MetricUnit.Milliseconds, performance.now() - started);
  metrics.addMetric(PREDICT_METRICS.notKept, MetricUnit.Count, kept.errors.length > 0 ? 1 : 0);
  metrics.addMetric(PREDICT_METRICS.logFailures, MetricUnit.Count, kept.logged ? 0 : 1);
  metrics.addMetric(PREDICT_METRICS.servedFailures, MetricUnit.Count, kept.indexed ? 0 : 1);
  metrics.addMetadata('modelVersion', record.modelVersion);
  for (const { sink, error } of kept.errors) {
    // The whole line, so a lost log record can be recovered from the function's logs.
    logger.error('prediction not kept', { sink, error: String(error), prediction: line });
  }
  return {
    requestId: record.requestId,
    score: record.score,
    label: record.label,
    threshold: record.threshold,
    modelVersion: record.modelVersion,
  };
});
