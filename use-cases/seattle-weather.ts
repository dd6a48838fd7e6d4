/**
 * A second use case: will it rain in Seattle tomorrow (more than 0 mm of precipitation)?
 * Data: vega-datasets' seattle-weather (daily observations at Seattle, 2012-01-01 to 2015-12-31).
 * The station's weather of the day, known at its end, comes from the feature store; the calendar
 * of the day predicted is sent with each request. Written only from the README and the use-case
 * schema (shared/config/use-case.ts): nothing in the product knows this use case by name.
 */
import { defineUseCase } from '../shared/config/use-case.ts';

export default defineUseCase({
  name: 'seattle-weather',
  description: 'Chance that it rains in Seattle tomorrow (precipitation > 0 mm)',
  featureGroups: [
    {
      name: 'seattle-daily-weather',
      description: 'Weather observed at the station on the last complete day, known at its end',
      entity: 'station',
      ttlSeconds: 2 * 24 * 3600,
      features: [
        { name: 'precipitation', type: 'number', description: 'mm on the day', min: 0 },
        { name: 'precipitation3d', type: 'number', description: 'mm over the day and the 2 before', min: 0 },
        { name: 'tempMax', type: 'number', description: 'degrees C', min: -30, max: 50 },
        { name: 'tempMin', type: 'number', description: 'degrees C', min: -30, max: 50 },
        { name: 'wind', type: 'number', description: 'm/s', min: 0 },
        {
          name: 'weather',
          type: 'categorical',
          description: 'observed weather of the day',
          categories: ['drizzle', 'fog', 'rain', 'snow', 'sun'],
        },
      ],
    },
  ],
  requestFeatures: [
    { name: 'month', type: 'integer', description: 'month of the day predicted (UTC)', min: 1, max: 12 },
    {
      name: 'dayOfYear',
      type: 'integer',
      description: 'day of the year of the day predicted (UTC)',
      min: 1,
      max: 366,
    },
  ],
  label: { name: 'rainTomorrow', type: 'binary', description: 'precipitation > 0 mm on the next day' },
  // The container version (1.7-1), the seed (42) and the decision threshold (0.5) are the defaults.
  // Boosting starts from Seattle's base rate of rainy days (about 43% in 2012-2015), not 0.5.
  model: {
    algorithm: { kind: 'xgboost' },
    hyperparameters: {
      objective: 'binary:logistic',
      base_score: 0.43,
      num_round: 60,
      max_depth: 3,
      eta: 0.2,
      eval_metric: 'auc',
    },
    instanceType: 'ml.m5.large',
    maxRuntimeSeconds: 3600,
  },
  dataQuality: { minRows: 1000, maxMissingRate: 0.2, minPositiveRate: 0.2, maxPositiveRate: 0.8 },
  gates: { minAuc: 0.6, maxLogLoss: 0.7, maxAucRegression: 0.02 },
  deployment: {
    mode: 'serverless',
    memorySizeMb: 2048,
    maxConcurrency: 5,
    canary: { percent: 10, bakeMinutes: 10 },
  },
  // Every registered model is also published as model.onnx, behind the default parity gate.
  edge: { format: 'onnx' },
  monitoring: {
    schedule: 'rate(1 day)',
    minSample: 50,
    driftShare: 0.5,
    retrain: { enabled: false, cooldownHours: 24 },
  },
});
