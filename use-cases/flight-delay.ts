/**
 * The demo use case: will a US domestic flight leave more than 15 minutes late?
 * Data: vega-datasets' flights-3m (January to June 2001). The origin airport's recent delay rate
 * comes from the feature store; the rest is sent with each request.
 */
import { defineUseCase } from '../shared/config/use-case.ts';

export default defineUseCase({
  name: 'flight-delay',
  description: 'Risk that a flight departs more than 15 minutes late',
  featureGroups: [
    {
      name: 'airport-delays',
      description: 'Point-in-time delay statistics of the origin airport over the last 2 hours',
      entity: 'airport',
      ttlSeconds: 6 * 3600,
      features: [
        { name: 'delayRate2h', type: 'number', min: 0, max: 1, nullable: true },
        { name: 'flights2h', type: 'integer', min: 0 },
      ],
    },
  ],
  requestFeatures: [
    { name: 'hour', type: 'integer', min: 0, max: 23 },
    { name: 'weekday', type: 'integer', min: 1, max: 7 },
    { name: 'distance', type: 'number', min: 0, max: 6000 },
    { name: 'origin', type: 'categorical' },
    { name: 'destination', type: 'categorical' },
  ],
  label: { name: 'delayed', type: 'binary', description: 'departure delay > 15 minutes' },
  model: {
    algorithm: { kind: 'xgboost', version: '1.7-1' },
    hyperparameters: {
      objective: 'binary:logistic',
      num_round: 100,
      max_depth: 5,
      eta: 0.2,
      subsample: 0.8,
      eval_metric: 'auc',
    },
    seed: 42,
    instanceType: 'ml.m5.large',
    maxRuntimeSeconds: 3600,
  },
  dataQuality: { minRows: 1000, maxMissingRate: 0.2, minPositiveRate: 0.02, maxPositiveRate: 0.8 },
  gates: { minAuc: 0.6, maxLogLoss: 0.7, maxAucRegression: 0.02, threshold: 0.5 },
  deployment: {
    mode: 'instance',
    instanceType: 'ml.m5.large',
    initialInstanceCount: 2,
    autoscaling: { minCapacity: 1, maxCapacity: 4, targetInvocationsPerInstance: 1000 },
    canary: { percent: 10, bakeMinutes: 10 },
  },
  monitoring: {
    schedule: 'rate(1 hour)',
    minSample: 200,
    // Three of the seven features moving together (for example the delay regime and the schedule)
    // is drift worth a retraining here.
    driftShare: 0.4,
    retrain: { enabled: true, cooldownHours: 24 },
  },
  // Every registered version also as one ONNX file for devices and browsers, published only when
  // onnxruntime scores the test split within 1e-6 of the batch transform with no label flip.
  edge: { format: 'onnx' },
});
