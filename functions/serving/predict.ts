/**
 * `POST /predict/<useCase>`: a thin adapter. It parses the body with the use case's schema, makes
 * one call into shared/serving, logs the prediction and its timings, and answers
 * `{requestId, score, label, threshold, modelVersion}`.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parseJsonBody, parseOrThrow } from '../../shared/features/api.ts';
import { PredictEnvSchema } from '../../shared/serving/api.ts';
import { EndpointView } from '../../shared/serving/endpoint-view.ts';
import { type Prediction, predict, predictInputSchema } from '../../shared/serving/predict.ts';
import { documentClient, s3Client, sageMakerClient, sageMakerRuntimeClient } from '../shared/clients.ts';
import { httpHandler } from '../shared/http.ts';
import { loadEnv, logger, metrics } from '../shared/observability.ts';

const env = loadEnv(PredictEnvSchema);
const useCase = env.USE_CASE_CONFIG;
const inputSchema = predictInputSchema(useCase);
metrics.setDefaultDimensions({ useCase: useCase.name });
const ctx = {
  useCase,
  online: { client: documentClient(), tableName: env.ONLINE_TABLE },
  runtime: sageMakerRuntimeClient(),
  endpointName: env.ENDPOINT_NAME,
  endpoint: new EndpointView({
    sagemaker: sageMakerClient(),
    s3: s3Client(),
    endpointName: env.ENDPOINT_NAME,
  }),
};

export const handler = httpHandler(async (event, context): Promise<Prediction> => {
  const started = performance.now();
  const input = parseOrThrow(inputSchema, parseJsonBody(event.body), 'prediction request');
  const record = await predict(ctx, input, context.awsRequestId);
  metrics.addMetric('FeaturesLatency', MetricUnit.Milliseconds, record.timings.featuresMs);
  metrics.addMetric('ModelLatency', MetricUnit.Milliseconds, record.timings.modelMs);
  metrics.addMetric('PredictLatency', MetricUnit.Milliseconds, performance.now() - started);
  metrics.addMetadata('modelVersion', record.modelVersion);
  logger.info('prediction', {
    prediction: {
      requestId: record.requestId,
      time: new Date().toISOString(),
      useCase: useCase.name,
      modelVersion: record.modelVersion,
      variant: record.slot,
      features: record.features,
      score: record.score,
      label: record.label,
    },
  });
  return {
    requestId: record.requestId,
    score: record.score,
    label: record.label,
    threshold: record.threshold,
    modelVersion: record.modelVersion,
  };
});
