/**
 * The use-case contract: what a team declares about one ML use case. Validated at synth time
 * (infra) and parsed again at cold start by the functions that receive it.
 */
import * as z from 'zod';

const NAME_PATTERN = /^[a-z][a-z0-9-]{1,38}[a-z0-9]$/;
const FIELD_PATTERN = /^[a-zA-Z][a-zA-Z0-9_]{0,62}$/;

/** A kebab-case resource-safe name (it ends up in table keys, S3 prefixes and alarm names). */
export const ResourceNameSchema = z
  .string()
  .regex(NAME_PATTERN, 'must be 3-40 lowercase letters, digits or hyphens, starting with a letter');

/** A feature or label column name (it ends up in CSV headers and JSON keys). */
export const FieldNameSchema = z
  .string()
  .regex(FIELD_PATTERN, 'must start with a letter and hold only letters, digits or underscores');

const NumericFeatureSchema = z
  .strictObject({
    name: FieldNameSchema,
    type: z.enum(['number', 'integer']),
    description: z.string().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
    nullable: z.boolean().default(false),
  })
  .refine((f) => f.min === undefined || f.max === undefined || f.min < f.max, {
    message: 'min must be lower than max',
    path: ['max'],
  });

const CategoricalFeatureSchema = z.strictObject({
  name: FieldNameSchema,
  type: z.literal('categorical'),
  description: z.string().optional(),
  /** Known categories; an unseen value is a data-quality finding, not a rejection. */
  categories: z.array(z.string().min(1)).min(2).optional(),
  nullable: z.boolean().default(false),
});

const BooleanFeatureSchema = z.strictObject({
  name: FieldNameSchema,
  type: z.literal('boolean'),
  description: z.string().optional(),
  nullable: z.boolean().default(false),
});

/** One typed feature with its constraints. */
export const FeatureSchema = z.union([NumericFeatureSchema, CategoricalFeatureSchema, BooleanFeatureSchema]);
export type Feature = z.infer<typeof FeatureSchema>;

/** A feature group: features of one entity, ingested together, with a time to live. */
export const FeatureGroupSchema = z.strictObject({
  name: ResourceNameSchema,
  description: z.string().optional(),
  /** Name of the entity key, for example `airport`. */
  entity: FieldNameSchema,
  /** A value older than this is reported as missing on read and removed by DynamoDB TTL. */
  ttlSeconds: z
    .number()
    .int()
    .min(60)
    .max(400 * 24 * 3600),
  features: z.array(FeatureSchema).min(1),
});
export type FeatureGroup = z.infer<typeof FeatureGroupSchema>;

export const LabelSchema = z.strictObject({
  name: FieldNameSchema,
  type: z.literal('binary'),
  description: z.string().optional(),
});

const BuiltInAlgorithmSchema = z.strictObject({
  kind: z.literal('xgboost'),
  /** Version of SageMaker's built-in XGBoost container. */
  version: z.enum(['1.7-1']).default('1.7-1'),
});
const CustomImageAlgorithmSchema = z.strictObject({
  kind: z.literal('custom-image'),
  imageUri: z
    .string()
    .regex(/^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\/.+$/, 'must be an ECR image URI'),
});

export const ModelSchema = z.strictObject({
  algorithm: z.discriminatedUnion('kind', [BuiltInAlgorithmSchema, CustomImageAlgorithmSchema]),
  /** Passed to the training container as strings, as SageMaker requires. */
  hyperparameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  seed: z.number().int().min(0).default(42),
  instanceType: z
    .string()
    .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type like ml.m5.large'),
  instanceCount: z.number().int().min(1).max(20).default(1),
  maxRuntimeSeconds: z
    .number()
    .int()
    .min(60)
    .max(5 * 24 * 3600),
  volumeSizeGb: z.number().int().min(1).max(16384).default(10),
});

export const DataQualitySchema = z.strictObject({
  minRows: z.number().int().min(10),
  maxMissingRate: z.number().min(0).max(1),
  minPositiveRate: z.number().gt(0).lt(1),
  maxPositiveRate: z.number().gt(0).lt(1),
  /**
   * Largest share of stored label rows the dataset build may refuse (rows that do not fit the use
   * case, such as a file written into the label store by hand). They are left out and listed next
   * to the snapshot; above this share ValidateData fails and names the first few.
   */
  maxQuarantinedLabelRate: z.number().min(0).max(1).default(0.01),
});

export const GatesSchema = z.strictObject({
  /** Absolute floor on the candidate's AUC on the held-out test split. */
  minAuc: z.number().min(0.5).max(1),
  /** Absolute ceiling on log loss. */
  maxLogLoss: z.number().positive().optional(),
  /** Largest AUC drop allowed against the current champion on the same split. */
  maxAucRegression: z.number().min(0).max(0.5),
  /** Decision threshold for precision/recall. */
  threshold: z.number().gt(0).lt(1).default(0.5),
});

const CanarySchema = z.strictObject({
  percent: z.number().int().min(1).max(50),
  bakeMinutes: z.number().int().min(1).max(1440),
});

/** What makes the stack's alarms fire during a deployment's bake (and so roll it back). */
const GuardrailsSchema = z
  .strictObject({
    /** More 5xx answers than this from the new version in one minute fires its alarm. */
    max5xxPerMinute: z.number().int().min(0).default(0),
    /** A model latency p99 above this over one minute fires the latency alarm. */
    maxLatencyP99Ms: z.number().positive().max(60_000).default(1000),
    /** More predict-function failures (5xx answers) than this in one minute fires its alarm. */
    maxPredictErrorsPerMinute: z.number().int().min(0).default(0),
  })
  .prefault({});

const InstanceDeploymentSchema = z.strictObject({
  mode: z.literal('instance'),
  instanceType: z
    .string()
    .regex(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a SageMaker instance type like ml.m5.large'),
  initialInstanceCount: z.number().int().min(1).max(10),
  autoscaling: z
    .strictObject({
      minCapacity: z.number().int().min(1),
      maxCapacity: z.number().int().min(1).max(100),
      targetInvocationsPerInstance: z.number().int().min(1),
    })
    .optional(),
  canary: CanarySchema,
  guardrails: GuardrailsSchema,
  /**
   * Share of requests SageMaker data capture records (input and output) to the prediction-log
   * bucket under `capture/<useCase>/`, for tools that read Model Monitor's capture location; 0
   * turns it off. The prediction log keeps every prediction whatever this is. Serverless
   * endpoints have no data capture.
   */
  dataCapturePercent: z.number().int().min(0).max(100).default(100),
});

const ServerlessDeploymentSchema = z.strictObject({
  mode: z.literal('serverless'),
  memorySizeMb: z.union([
    z.literal(1024),
    z.literal(2048),
    z.literal(3072),
    z.literal(4096),
    z.literal(5120),
    z.literal(6144),
  ]),
  maxConcurrency: z.number().int().min(1).max(200),
  canary: CanarySchema,
  guardrails: GuardrailsSchema,
});

export const DeploymentSchema = z.discriminatedUnion('mode', [
  InstanceDeploymentSchema,
  ServerlessDeploymentSchema,
]);

/** The drift tests the monitor knows; each reproduces Evidently's test of the same name. */
export const DriftTestSchema = z.enum(['ks', 'chi-square', 'wasserstein', 'psi', 'jensen-shannon']);
export type DriftTest = z.infer<typeof DriftTestSchema>;

/** Tests that decide on a p-value (drift when p < threshold); the others on a distance (drift when >= threshold). */
export const P_VALUE_TESTS: ReadonlySet<DriftTest> = new Set(['ks', 'chi-square']);
/** Tests that compare distributions of numbers, so a categorical feature cannot take them. */
export const NUMERIC_ONLY_TESTS: ReadonlySet<DriftTest> = new Set(['ks', 'wasserstein', 'psi']);

/** How one feature (or the model's score) is checked for drift, overriding the choice by sample size. */
const DriftCheckSchema = z.strictObject({
  /** @default - chosen as Evidently does, by the number of reference rows and the feature's type */
  test: DriftTestSchema.optional(),
  /** @default - `monitoring.thresholds` of the test */
  threshold: z.number().positive().optional(),
  /** false leaves the feature out of drift and of the drifted share (data quality still covers it). */
  enabled: z.boolean().default(true),
});

export const MonitoringSchema = z.strictObject({
  /** An EventBridge schedule expression, `rate(...)` or `cron(...)`. */
  schedule: z.string().regex(/^(rate|cron)\(.+\)$/, 'must be an EventBridge expression like rate(1 hour)'),
  /**
   * Each check compares the predictions of the last this many hours (ending on the hour) with
   * the serving model's training baseline.
   */
  windowHours: z
    .number()
    .int()
    .min(1)
    .max(24 * 31)
    .default(24),
  /** Below this many predictions in a window, no drift decision is taken. */
  minSample: z.number().int().min(50),
  /** Share of drifted features at or above which the dataset is considered drifted. */
  driftShare: z.number().gt(0).max(1),
  /** Per-test thresholds; the test itself is chosen by sample size and feature type. */
  thresholds: z
    .strictObject({
      pValue: z.number().gt(0).lt(1).default(0.05),
      psi: z.number().positive().default(0.2),
      wasserstein: z.number().positive().default(0.1),
      jensenShannon: z.number().positive().max(1).default(0.1),
    })
    .prefault({}),
  /** Per-feature overrides of the test, its threshold, or whether the feature is checked at all. */
  features: z.record(FieldNameSchema, DriftCheckSchema).default({}),
  /** The same for the model's score (prediction drift). */
  prediction: DriftCheckSchema.prefault({}),
  /**
   * Values kept per feature and model version in one window: above this, the window is compared
   * on a uniform sample of this size, so a check's memory does not grow with traffic.
   */
  sampleLimit: z.number().int().min(1000).max(1_000_000).default(100_000),
  /** Realized quality (AUC, log loss, calibration) is reported once this many predictions have feedback. */
  minLabels: z.number().int().min(10).default(100),
  /** Floors the quality alarms compare with. */
  qualityFloor: z
    .strictObject({
      /** @default - gates.minAuc */
      auc: z.number().min(0.5).max(1).optional(),
      /** @default - gates.minAuc */
      estimatedAuc: z.number().min(0.5).max(1).optional(),
    })
    .prefault({}),
  retrain: z.strictObject({
    enabled: z.boolean(),
    cooldownHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 90),
  }),
});

/** Ground truth sent for served predictions (`POST /feedback/{useCase}`). */
export const FeedbackSchema = z.strictObject({
  /**
   * How long after a prediction its feedback is accepted: the served request (entities, request
   * features, time, model version) is kept this long for the feedback route to find it by requestId.
   */
  windowDays: z.number().int().min(1).max(365).default(30),
});

/**
 * Edge export (issue 17): each registered model version of the use case is also written as one
 * self-contained ONNX file (raw named features in, score out), published only when onnxruntime
 * scores the run's test split like the batch transform did. Needs the built-in XGBoost algorithm.
 */
export const EdgeSchema = z.strictObject({
  /** The edge file format; ONNX (opsets ai.onnx 17 and ai.onnx.ml 3) is the only one. */
  format: z.literal('onnx'),
  /**
   * Largest allowed |ONNX score - batch transform score| on any test row.
   * @default 1e-6
   */
  maxAbsDelta: z.number().min(0).max(0.1).default(1e-6),
  /**
   * Largest allowed share of test rows whose label (score >= gates.threshold) differs.
   * @default 0
   */
  maxFlipShare: z.number().min(0).max(1).default(0),
});
export type EdgeConfig = z.output<typeof EdgeSchema>;

/** The use case's fields, before the checks across them. */
const UseCaseObjectSchema = z.strictObject({
  name: ResourceNameSchema,
  description: z.string().min(1),
  /**
   * Feature groups whose values are read from the online store at prediction time. A group's
   * name must be unique across ALL use cases of the app, not only this one: it names the
   * group's online-store keys, its S3 prefixes and its API path.
   */
  featureGroups: z.array(FeatureGroupSchema).min(1),
  /** Features the caller sends with each prediction request. */
  requestFeatures: z.array(FeatureSchema).default([]),
  label: LabelSchema,
  model: ModelSchema,
  dataQuality: DataQualitySchema,
  gates: GatesSchema,
  deployment: DeploymentSchema,
  monitoring: MonitoringSchema,
  feedback: FeedbackSchema.prefault({}),
  /**
   * Export every registered model version for scoring outside SageMaker, behind a parity gate.
   * @default - no edge export
   */
  edge: EdgeSchema.optional(),
  /** An optional EventBridge schedule for periodic retraining. */
  trainingSchedule: z
    .string()
    .regex(/^(rate|cron)\(.+\)$/, 'must be an EventBridge expression like rate(7 days)')
    .optional(),
});

/** The whole use case. */
export const UseCaseSchema = UseCaseObjectSchema.superRefine((uc, ctx) => {
  const seen = new Map<string, string>();
  const note = (name: string, where: string, path: (string | number)[]) => {
    const first = seen.get(name);
    if (first) {
      ctx.addIssue({
        code: 'custom',
        path,
        input: name,
        message: `duplicates feature name '${name}' already used in ${first}; feature names must be unique across the use case`,
      });
    } else {
      seen.set(name, where);
    }
  };
  uc.featureGroups.forEach((g, gi) => {
    g.features.forEach((f, fi) => {
      note(f.name, `featureGroups[${gi}]`, ['featureGroups', gi, 'features', fi, 'name']);
    });
  });
  uc.requestFeatures.forEach((f, fi) => {
    note(f.name, 'requestFeatures', ['requestFeatures', fi, 'name']);
  });
  if (seen.has(uc.label.name)) {
    ctx.addIssue({
      code: 'custom',
      path: ['label', 'name'],
      input: uc.label.name,
      message: 'must differ from every feature name (the label would leak into the inputs)',
    });
  }
  const groupNames = new Set<string>();
  uc.featureGroups.forEach((g, gi) => {
    if (groupNames.has(g.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['featureGroups', gi, 'name'],
        input: g.name,
        message: 'must be unique among the feature groups',
      });
    }
    groupNames.add(g.name);
  });
  if (uc.dataQuality.minPositiveRate >= uc.dataQuality.maxPositiveRate) {
    ctx.addIssue({
      code: 'custom',
      path: ['dataQuality', 'minPositiveRate'],
      input: uc.dataQuality.minPositiveRate,
      message: `must be lower than dataQuality.maxPositiveRate (${uc.dataQuality.maxPositiveRate})`,
    });
  }
  const scaling = uc.deployment.mode === 'instance' ? uc.deployment.autoscaling : undefined;
  if (scaling && scaling.minCapacity > scaling.maxCapacity) {
    ctx.addIssue({
      code: 'custom',
      path: ['deployment', 'autoscaling', 'minCapacity'],
      input: scaling.minCapacity,
      message: `must be <= deployment.autoscaling.maxCapacity (${scaling.maxCapacity})`,
    });
  }
  checkDriftOverrides(uc, ctx);
  if (uc.edge && uc.model.algorithm.kind !== 'xgboost') {
    ctx.addIssue({
      code: 'custom',
      path: ['edge'],
      input: uc.edge,
      message: `needs model.algorithm.kind 'xgboost' (the exporter reads XGBoost models), got '${uc.model.algorithm.kind}'; remove edge or use the built-in XGBoost`,
    });
  }
});

/** Largest Jensen-Shannon distance with the natural logarithm: sqrt(ln 2). */
const MAX_JENSEN_SHANNON = Math.sqrt(Math.LN2);

function checkDriftCheck(
  check: z.output<typeof DriftCheckSchema>,
  feature: Feature | undefined,
  path: (string | number)[],
  ctx: z.RefinementCtx,
): void {
  if (check.test && feature?.type !== undefined && feature.type !== 'number' && feature.type !== 'integer') {
    if (NUMERIC_ONLY_TESTS.has(check.test)) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'test'],
        input: check.test,
        message: `compares numbers; ${feature.name} is ${feature.type}: use chi-square or jensen-shannon`,
      });
    }
  }
  if (check.threshold !== undefined && !check.test) {
    // A bare threshold would be a p-value under one test and a distance under another, and which
    // test applies changes with the size of the training set.
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'threshold'],
      input: check.threshold,
      message:
        'needs the test it is a threshold of: set test as well (ks, chi-square, wasserstein, psi or jensen-shannon)',
    });
    return;
  }
  if (check.threshold === undefined || !check.test) return;
  if (P_VALUE_TESTS.has(check.test) && check.threshold >= 1) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'threshold'],
      input: check.threshold,
      message: `is a p-value for ${check.test}: it must be < 1`,
    });
  }
  if (check.test === 'jensen-shannon' && check.threshold > MAX_JENSEN_SHANNON) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'threshold'],
      input: check.threshold,
      message: `must be <= ${MAX_JENSEN_SHANNON.toFixed(4)} (the largest Jensen-Shannon distance, sqrt(ln 2)); it would never fire`,
    });
  }
}

function checkDriftOverrides(uc: z.output<typeof UseCaseObjectSchema>, ctx: z.RefinementCtx): void {
  const features = new Map(
    [...uc.featureGroups.flatMap((g) => g.features), ...uc.requestFeatures].map((f) => [f.name, f]),
  );
  for (const [name, check] of Object.entries(uc.monitoring.features)) {
    const feature = features.get(name);
    const path = ['monitoring', 'features', name];
    if (!feature) {
      ctx.addIssue({
        code: 'custom',
        path,
        input: name,
        message: `is not a feature of the use case; features: ${[...features.keys()].join(', ')}`,
      });
      continue;
    }
    checkDriftCheck(check, feature, path, ctx);
  }
  const prediction = uc.monitoring.prediction;
  checkDriftCheck(prediction, undefined, ['monitoring', 'prediction'], ctx);
  if (prediction.test && !NUMERIC_ONLY_TESTS.has(prediction.test)) {
    ctx.addIssue({
      code: 'custom',
      path: ['monitoring', 'prediction', 'test'],
      input: prediction.test,
      message: 'the score is a number: use ks, wasserstein or psi',
    });
  }
}

/** A use case as written by a team (defaults not yet applied). */
export type UseCaseInput = z.input<typeof UseCaseSchema>;
/** A validated use case with defaults applied. */
export type UseCase = z.output<typeof UseCaseSchema>;

/** Identity helper that gives a use-case file full type checking and editor completion. */
export function defineUseCase(useCase: UseCaseInput): UseCaseInput {
  return useCase;
}

/** Every feature the model sees, in a stable order: feature-group features, then request features. */
export function modelFeatures(useCase: UseCase): Feature[] {
  return [...useCase.featureGroups.flatMap((g) => g.features), ...useCase.requestFeatures];
}
