/**
 * The lineage ledger's event model: one zod schema per event type. Every event carries a
 * caller-supplied `eventId` (the idempotency key), `type`, `actor`, `time`, `useCase` and the IDs
 * it links (`datasetHash`, `runId`, `modelVersion`, `endpointName`), which the ledger copies into
 * the sparse index attributes the audit queries use.
 *
 * Schemas are strict so an event hashes exactly what was validated, and numbers must be finite
 * (NaN/Infinity have no canonical JSON form, see `canonical.ts`).
 */
import * as z from 'zod';

/** Identifier: letters, digits and `._:/@+=-`, 1-200 characters (safe in keys, paths and URLs). */
const IdSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._:/@+=-]+$/, 'may contain only letters, digits and ._:/@+=-');

/** A finite JSON number (NaN and Infinity are rejected; they have no canonical JSON form). */
const FiniteSchema = z.number().refine(Number.isFinite, 'must be a finite number');

/** Lower-case hex SHA-256. */
export const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256');

/** ISO-8601 UTC time, for example `2025-03-01T12:00:00.000Z`. */
export const IsoTimeSchema = z.iso.datetime();

/** Named metric values, for example `{ auc: 0.81, logLoss: 0.42 }`. */
export const MetricsSchema = z.record(z.string().min(1), FiniteSchema);
export type Metrics = z.infer<typeof MetricsSchema>;

/** Hyperparameters as the training job received them. */
export const HyperparametersSchema = z.record(
  z.string().min(1),
  z.union([z.string(), FiniteSchema, z.boolean()]),
);
export type Hyperparameters = z.infer<typeof HyperparametersSchema>;

/** One S3 object version a dataset was built from or written to. */
export const S3ObjectVersionSchema = z.strictObject({
  bucket: z.string().min(3).max(63),
  key: z.string().min(1).max(1024),
  versionId: z.string().min(1).max(1024),
});
export type S3ObjectVersion = z.infer<typeof S3ObjectVersionSchema>;

/** The dataset a run trained on: its content hash and the exact S3 object versions. */
export const DatasetRefSchema = z.strictObject({
  hash: Sha256Schema,
  objects: z.array(S3ObjectVersionSchema).min(1),
});
export type DatasetRef = z.infer<typeof DatasetRefSchema>;

/** Everything needed to reproduce a training run; provenance answers from these facts alone. */
export const ReproducibilityManifestSchema = z.strictObject({
  dataset: DatasetRefSchema,
  featureDefinitionsHash: Sha256Schema,
  codeVersion: z.string().min(1).max(200),
  configHash: Sha256Schema,
  containerImage: z.string().min(1).max(500),
  hyperparameters: HyperparametersSchema,
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1),
});
export type ReproducibilityManifest = z.infer<typeof ReproducibilityManifestSchema>;

/** One quality gate as evaluated: the metric, its threshold and whether it passed. */
export const GateResultSchema = z.strictObject({
  name: z.string().min(1),
  metric: z.string().min(1),
  comparison: z.enum(['>=', '<=', 'maxRegression']),
  threshold: FiniteSchema,
  actual: FiniteSchema,
  passed: z.boolean(),
});
export type GateResult = z.infer<typeof GateResultSchema>;

const TimeWindowSchema = z.strictObject({ start: IsoTimeSchema, end: IsoTimeSchema });

const base = {
  eventId: IdSchema,
  /** Who caused the event: an IAM principal ARN, a user, or a pipeline step name. */
  actor: z.string().min(1).max(500),
  time: IsoTimeSchema,
  useCase: IdSchema,
};

export const DatasetBuiltSchema = z.strictObject({
  ...base,
  type: z.literal('DatasetBuilt'),
  datasetHash: Sha256Schema,
  objects: z.array(S3ObjectVersionSchema).min(1),
  featureDefinitionsHash: Sha256Schema,
  rowCount: z.number().int().min(0),
  cutoff: IsoTimeSchema,
  runId: IdSchema.optional(),
});
export type DatasetBuilt = z.infer<typeof DatasetBuiltSchema>;

export const TrainingStartedSchema = z.strictObject({
  ...base,
  type: z.literal('TrainingStarted'),
  runId: IdSchema,
  datasetHash: Sha256Schema,
  trigger: z.enum(['manual', 'schedule', 'drift', 'reproduce']),
  reason: z.string().max(2000).optional(),
  manifest: ReproducibilityManifestSchema,
});
export type TrainingStarted = z.infer<typeof TrainingStartedSchema>;

export const TrainingCompletedSchema = z.strictObject({
  ...base,
  type: z.literal('TrainingCompleted'),
  runId: IdSchema,
  datasetHash: Sha256Schema,
  manifest: ReproducibilityManifestSchema,
  metrics: MetricsSchema,
  artifact: z.strictObject({ uri: z.string().min(1), sha256: Sha256Schema }),
});
export type TrainingCompleted = z.infer<typeof TrainingCompletedSchema>;

export const TrainingFailedSchema = z.strictObject({
  ...base,
  type: z.literal('TrainingFailed'),
  runId: IdSchema,
  datasetHash: Sha256Schema.optional(),
  step: z.string().min(1),
  reason: z.string().min(1).max(2000),
});
export type TrainingFailed = z.infer<typeof TrainingFailedSchema>;

export const ModelEvaluatedSchema = z.strictObject({
  ...base,
  type: z.literal('ModelEvaluated'),
  runId: IdSchema,
  datasetHash: Sha256Schema.optional(),
  /** Set when the candidate is already registered (re-evaluation); a fresh candidate has none yet. */
  modelVersion: IdSchema.optional(),
  metrics: MetricsSchema,
  champion: z.strictObject({ modelVersion: IdSchema, metrics: MetricsSchema }).optional(),
  gates: z.array(GateResultSchema),
  passed: z.boolean(),
});
export type ModelEvaluated = z.infer<typeof ModelEvaluatedSchema>;

export const ModelRegisteredSchema = z.strictObject({
  ...base,
  type: z.literal('ModelRegistered'),
  modelVersion: IdSchema,
  runId: IdSchema,
  datasetHash: Sha256Schema,
  modelPackageArn: z.string().min(1).optional(),
  artifactUri: z.string().min(1),
});
export type ModelRegistered = z.infer<typeof ModelRegisteredSchema>;

export const ApprovalRecordedSchema = z.strictObject({
  ...base,
  type: z.literal('ApprovalRecorded'),
  modelVersion: IdSchema,
  runId: IdSchema.optional(),
  /** Identity of the approver, for example the caller's IAM principal ARN. */
  approver: z.string().min(1).max(500),
  decision: z.enum(['approved', 'rejected']),
  reason: z.string().min(1).max(2000),
});
export type ApprovalRecorded = z.infer<typeof ApprovalRecordedSchema>;

export const DeploymentStartedSchema = z.strictObject({
  ...base,
  type: z.literal('DeploymentStarted'),
  deploymentId: IdSchema,
  modelVersion: IdSchema,
  endpointName: IdSchema,
  previousModelVersion: IdSchema.optional(),
  /** The endpoint config the deployment asks for first (the canary's, or the full one). */
  endpointConfigName: z.string().min(1).max(63).optional(),
  /** `pipeline` (a training run) or `rollback` (someone asked for an earlier version). */
  trigger: z.enum(['pipeline', 'rollback']).optional(),
  reason: z.string().min(1).max(2000).optional(),
  strategy: z.strictObject({
    kind: z.enum(['canary', 'all-at-once']),
    canaryPercent: z.number().int().min(1).max(100).optional(),
    bakeMinutes: z.number().int().min(0).optional(),
  }),
});
export type DeploymentStarted = z.infer<typeof DeploymentStartedSchema>;

export const DeploymentCompletedSchema = z.strictObject({
  ...base,
  type: z.literal('DeploymentCompleted'),
  deploymentId: IdSchema,
  modelVersion: IdSchema,
  endpointName: IdSchema,
  endpointConfigName: z.string().min(1).optional(),
  reason: z.string().min(1).max(2000).optional(),
});
export type DeploymentCompleted = z.infer<typeof DeploymentCompletedSchema>;

export const DeploymentRolledBackSchema = z.strictObject({
  ...base,
  type: z.literal('DeploymentRolledBack'),
  deploymentId: IdSchema.optional(),
  /** The version taken out of service. */
  modelVersion: IdSchema,
  endpointName: IdSchema,
  /** The version serving after the rollback; absent when the endpoint was left with none. */
  restoredModelVersion: IdSchema.optional(),
  reason: z.string().min(1).max(2000),
  /** The endpoint config serving after the rollback (verified on the endpoint). */
  endpointConfigName: z.string().min(1).optional(),
  /** The alarms that fired, when an alarm caused the rollback. */
  alarms: z.array(z.string().min(1).max(255)).optional(),
});
export type DeploymentRolledBack = z.infer<typeof DeploymentRolledBackSchema>;

const DriftTestNameSchema = z.enum(['ks', 'chi-square', 'wasserstein', 'psi', 'jensen-shannon']);

/** One feature's (or the score's) drift check, as the monitor decided it. */
export const DriftCheckRecordSchema = z.strictObject({
  name: z.string().min(1),
  test: DriftTestNameSchema,
  /** Null when no decision was taken, or chi-square met a category the reference never had (infinite). */
  statistic: FiniteSchema.nullable(),
  pValue: FiniteSchema.nullable().optional(),
  /** p-value tests drift below it, distance tests at or above it. */
  threshold: FiniteSchema.optional(),
  /** `reference-size` (Evidently's default choice) or `config` (the use case named the test). */
  chosenBy: z.enum(['reference-size', 'config']).optional(),
  referenceSize: z.number().int().min(0).optional(),
  currentSize: z.number().int().min(0).optional(),
  verdict: z.enum(['drift', 'no-drift', 'insufficient-data']).optional(),
  drifted: z.boolean(),
  detail: z.string().max(500).optional(),
});
export type DriftCheckRecord = z.infer<typeof DriftCheckRecordSchema>;

export const MonitoringReportSchema = z.strictObject({
  ...base,
  type: z.literal('MonitoringReport'),
  modelVersion: IdSchema,
  endpointName: IdSchema,
  window: TimeWindowSchema,
  sampleSize: z.number().int().min(0),
  driftedShare: FiniteSchema.pipe(z.number().min(0).max(1)),
  /** `monitoring.driftShare`: the dataset drifts when driftedShare reaches it. */
  threshold: FiniteSchema.pipe(z.number().min(0).max(1)).optional(),
  decision: z.enum(['drift', 'no-drift', 'insufficient-data']),
  features: z.array(DriftCheckRecordSchema),
  /** Drift of the model's score against its test-split scores. */
  prediction: DriftCheckRecordSchema.optional(),
  /** Data quality per feature: missing, invalid, out of range, unseen categories (counts). */
  dataQuality: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        missingRate: FiniteSchema,
        referenceMissingRate: FiniteSchema,
        invalid: z.number().int().min(0),
        outOfRange: z.number().int().min(0).optional(),
        outsideTrainingRange: z.number().int().min(0).optional(),
        unseen: z.number().int().min(0).optional(),
      }),
    )
    .optional(),
  /** Realized quality from feedback (AUC, log loss, calibration error), once enough labels exist. */
  quality: MetricsSchema.optional(),
  /** Quality estimated from the scores alone (CBPE), before the labels arrive. */
  estimated: MetricsSchema.optional(),
  /** Predictions of the window that have feedback. */
  labeled: z.number().int().min(0).optional(),
  /** The full report (distributions, examples) in S3. */
  reportUri: z.string().min(1).max(1024).optional(),
  /** Who asked for the check, as the caller claimed it (unverified; `actor` is the monitor). */
  requestedBy: z.string().min(1).max(200).optional(),
});
export type MonitoringReport = z.infer<typeof MonitoringReportSchema>;

export const DriftDetectedSchema = z.strictObject({
  ...base,
  type: z.literal('DriftDetected'),
  modelVersion: IdSchema,
  endpointName: IdSchema,
  window: TimeWindowSchema,
  driftedFeatures: z.array(z.string().min(1)),
  driftedShare: FiniteSchema.pipe(z.number().min(0).max(1)),
  threshold: FiniteSchema.pipe(z.number().min(0).max(1)),
});
export type DriftDetected = z.infer<typeof DriftDetectedSchema>;

export const RetrainingTriggeredSchema = z.strictObject({
  ...base,
  type: z.literal('RetrainingTriggered'),
  modelVersion: IdSchema,
  /** The endpoint whose traffic drifted (the cooldown is kept per endpoint). */
  endpointName: IdSchema.optional(),
  window: TimeWindowSchema.optional(),
  trigger: z.enum(['drift', 'schedule', 'manual']),
  reason: z.string().min(1).max(2000),
  /** The new training run, when the pipeline has already given it an ID. */
  runId: IdSchema.optional(),
});
export type RetrainingTriggered = z.infer<typeof RetrainingTriggeredSchema>;

export const IncidentOpenedSchema = z.strictObject({
  ...base,
  type: z.literal('IncidentOpened'),
  incidentId: IdSchema,
  modelVersion: IdSchema,
  endpointName: IdSchema.optional(),
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  summary: z.string().min(1).max(2000),
  relatedEventIds: z.array(IdSchema).optional(),
});
export type IncidentOpened = z.infer<typeof IncidentOpenedSchema>;

/**
 * The parity gate of an edge export as decided: the ONNX file's scores of the run's test split
 * against the batch transform's (shared/models/onnx-parity.ts computes it; the ledger keeps its
 * own copy of the shape, so an exporter change cannot silently change what was recorded).
 */
export const EdgeParitySchema = z.strictObject({
  passed: z.boolean(),
  /** The verdict in one sentence, with the figures. */
  reason: z.string().min(1).max(2000),
  rows: z.number().int().min(0),
  /** Largest |ONNX score - batch transform score| over the rows. */
  maxAbsDelta: FiniteSchema.pipe(z.number().min(0)),
  /** Rows where exactly one of the two scores is NaN. */
  nanMismatches: z.number().int().min(0),
  /** Rows where a score is ±Infinity and the other is not that same value (absent before it was counted). */
  infiniteMismatches: z.number().int().min(0).optional(),
  /** Row of the largest |Δ| (-1 when there were no rows). */
  worstRow: z.number().int().min(-1),
  /** Rows whose label (score >= threshold) differs, the expected score more than maxAbsDelta from the threshold. */
  flips: z.number().int().min(0),
  flipShare: FiniteSchema.pipe(z.number().min(0).max(1)),
  /** Rows whose label differs within maxAbsDelta of the threshold, not counted as flips (absent before they were told apart). */
  ties: z.number().int().min(0).optional(),
  /** The use case's decision threshold. */
  threshold: FiniteSchema,
  /** The use case's limits (`edge.maxAbsDelta`, `edge.maxFlipShare`). */
  limits: z.strictObject({
    maxAbsDelta: FiniteSchema.pipe(z.number().min(0)),
    maxFlipShare: FiniteSchema.pipe(z.number().min(0).max(1)),
  }),
});
export type EdgeParity = z.infer<typeof EdgeParitySchema>;

const EdgeTensorSchema = z.strictObject({
  name: z.string().min(1).max(200),
  type: z.enum(['float32', 'string', 'bool', 'int64', 'float64']),
  shape: z.array(z.union([z.number().int().min(0), z.string().min(1).max(64)])),
});

/** What an edge model file is, from its manifest: hash, size, operator sets, inputs and output. */
export const EdgeModelFileSchema = z.strictObject({
  format: z.literal('onnx'),
  sha256: Sha256Schema,
  bytes: z.number().int().positive(),
  irVersion: z.number().int().positive(),
  opsets: z.array(z.strictObject({ domain: z.string().min(1), version: z.number().int().positive() })).min(1),
  /** One input per feature, by name: float32 for numbers and booleans, string for categoricals. */
  inputs: z.array(EdgeTensorSchema).min(1),
  output: EdgeTensorSchema,
  /** sha256 of the XGBoost model file (inside the model archive) the file was exported from. */
  sourceModelSha256: Sha256Schema,
});
export type EdgeModelFile = z.infer<typeof EdgeModelFileSchema>;

/** A model version exported for the edge: the file passed its parity gate and was published. */
export const EdgeModelExportedSchema = z.strictObject({
  ...base,
  type: z.literal('EdgeModelExported'),
  modelVersion: IdSchema,
  runId: IdSchema,
  datasetHash: Sha256Schema,
  /** The model archive (model.tar.gz) the export read. */
  sourceModelUri: z.string().min(1).max(1024),
  model: EdgeModelFileSchema,
  parity: EdgeParitySchema.refine((p) => p.passed, 'an exported model passed its parity gate'),
  /** The published objects (`edge/<useCase>/<version>/model.onnx` and `manifest.json`). */
  objects: z.strictObject({ model: S3ObjectVersionSchema, manifest: S3ObjectVersionSchema }),
});
export type EdgeModelExported = z.infer<typeof EdgeModelExportedSchema>;

/**
 * An edge export that published nothing: the parity gate failed (its figures in `parity`), or the
 * model could not be exported at all (`reason` says why). The cloud deployment is not affected.
 */
export const EdgeExportFailedSchema = z.strictObject({
  ...base,
  type: z.literal('EdgeExportFailed'),
  modelVersion: IdSchema,
  runId: IdSchema,
  datasetHash: Sha256Schema.optional(),
  sourceModelUri: z.string().min(1).max(1024).optional(),
  reason: z.string().min(1).max(2000),
  /** The refused file's sha256 and size, when one was built. */
  file: z.strictObject({ sha256: Sha256Schema, bytes: z.number().int().positive() }).optional(),
  /** The gate's figures, when it ran. */
  parity: EdgeParitySchema.optional(),
});
export type EdgeExportFailed = z.infer<typeof EdgeExportFailedSchema>;

/** Any ledger event, discriminated by `type`. */
export const LedgerEventSchema = z.discriminatedUnion('type', [
  DatasetBuiltSchema,
  TrainingStartedSchema,
  TrainingCompletedSchema,
  TrainingFailedSchema,
  ModelEvaluatedSchema,
  ModelRegisteredSchema,
  ApprovalRecordedSchema,
  EdgeModelExportedSchema,
  EdgeExportFailedSchema,
  DeploymentStartedSchema,
  DeploymentCompletedSchema,
  DeploymentRolledBackSchema,
  MonitoringReportSchema,
  DriftDetectedSchema,
  RetrainingTriggeredSchema,
  IncidentOpenedSchema,
]);
export type LedgerEvent = z.infer<typeof LedgerEventSchema>;

/** Every event type name. */
export type LedgerEventType = LedgerEvent['type'];

/** Every event type name, in lifecycle order. */
export const LEDGER_EVENT_TYPES = LedgerEventSchema.options.map(
  (o) => o.shape.type.value,
) as readonly LedgerEventType[];

/** The event of type `T`. */
export type LedgerEventOf<T extends LedgerEventType> = Extract<LedgerEvent, { type: T }>;

/** An event as the ledger stores it: its position in the chain and its links. */
export interface LedgerRecord<E extends LedgerEvent = LedgerEvent> {
  /** Chain the event belongs to. */
  readonly chain: string;
  /** Position in the chain, from 1. */
  readonly seq: number;
  /** Hash of the previous event (64 zeros for the first). */
  readonly prevHash: string;
  /** `sha256(prevHash + canonical(event))`, hex. */
  readonly hash: string;
  readonly event: E;
  /** ECDSA P-256 signature of `hash` by the writers' KMS key, DER in base64 (see `signing.ts`). */
  readonly signature?: string;
  /** ARN of the key that made `signature`. */
  readonly signingKey?: string;
}
