/**
 * The training pipeline's data contract: what each step of the state machine receives and
 * returns, at which JSONPath. The state machine (pipelines/) and the step handlers
 * (functions/pipeline/) both code against these schemas, so they cannot drift apart.
 *
 * Which step writes which part of the state (`$.<part>`) is declared once, in the step table
 * (steps.ts); the execution input sits at `$.input` and a caught error at `$.error`.
 * `runId` is always `$$.Execution.Name`.
 */
import * as z from 'zod';

/** Why a run started. */
export const TriggerSchema = z.enum(['manual', 'schedule', 'drift', 'reproduce']);

/** The execution input: `{useCase, trigger, reason?, cutoff?, reproduceOf?}`. */
export const PipelineInputSchema = z.strictObject({
  useCase: z.string().min(1),
  trigger: TriggerSchema,
  reason: z.string().max(2000).optional(),
  /** Only data ingested at or before this time is used. @default - the start of the run */
  cutoff: z.iso.datetime().optional(),
  /** Run ID whose dataset snapshot and configuration a `reproduce` run pins. */
  reproduceOf: z.string().min(1).optional(),
});
export type PipelineInput = z.infer<typeof PipelineInputSchema>;

/** The training routes: one place for their paths, for the constructs and the OpenAPI document. */
export const TRAINING_ROUTES = {
  startRun: { method: 'POST', path: '/training/{useCase}/runs' },
  approval: { method: 'POST', path: '/training/runs/{runId}/approval' },
} as const;

/** Body of `POST /training/{useCase}/runs`: the execution input without what the route decides. */
export const StartRunBodySchema = PipelineInputSchema.pick({ reason: true, cutoff: true, reproduceOf: true });
export type StartRunBody = z.infer<typeof StartRunBodySchema>;

/** An S3 location as `s3://bucket/key-or-prefix`. */
export const S3UriSchema = z.string().regex(/^s3:\/\/[^/]+\/.+$/, 'must be an s3://bucket/key URI');

/** Payload of every Lambda step: the run ID plus the whole state (steps read what they need). */
export const StepPayloadSchema = z.object({
  runId: z.string().min(1),
  state: z.record(z.string(), z.unknown()),
});

/** BuildDataset result: the snapshot, its XGBoost channels and the manifest facts. */
export const BuildDatasetOutputSchema = z.strictObject({
  datasetHash: z.string().regex(/^[0-9a-f]{64}$/),
  cutoff: z.iso.datetime(),
  manifestUri: S3UriSchema,
  rowCount: z.number().int().min(0),
  /** CSV channels in SageMaker's built-in XGBoost format: label first, no header. */
  channels: z.strictObject({
    train: S3UriSchema,
    validation: S3UriSchema,
    /** Test features only (no label), one row per line, for batch transform. */
    testFeatures: S3UriSchema,
    /** Test labels, one per line, in the same order as testFeatures. */
    testLabels: S3UriSchema,
  }),
  /** The run's encoding (encoding.json: column order and train-split vocabularies), which serving encodes requests with. */
  encodingUri: S3UriSchema,
  /** Column order of the feature CSVs (after the label in train/validation). */
  featureNames: z.array(z.string()),
  /** Where batch transform writes its predictions for this run: `<prefix>/candidate/`, `<prefix>/champion/`. */
  transformOutputPrefix: S3UriSchema,
  /** SageMaker resource names for this run (unique, at most 63 characters). */
  names: z.strictObject({
    trainingJob: z.string().max(63),
    candidateModel: z.string().max(63),
    candidateTransform: z.string().max(63),
    championTransform: z.string().max(63),
  }),
  /**
   * HyperParameters for CreateTrainingJob, as strings (seed included): the use case's, or, for a
   * reproduce run, the original run's.
   */
  hyperparameters: z.record(z.string(), z.string()),
  /** S3OutputPath for CreateTrainingJob: `s3://<artifacts>/runs/<runId>/training`. */
  trainingOutputPath: S3UriSchema,
});
export type BuildDatasetOutput = z.infer<typeof BuildDatasetOutputSchema>;

/** ValidateData result when every check passes (a failing check throws DataValidationError). */
export const ValidateDataOutputSchema = z.strictObject({
  passed: z.literal(true),
  checks: z.array(
    z.strictObject({ name: z.string(), value: z.number(), threshold: z.number(), passed: z.boolean() }),
  ),
});
export type ValidateDataOutput = z.infer<typeof ValidateDataOutputSchema>;

/** What the Train step keeps of DescribeTrainingJob. */
export const TrainedModelSchema = z.strictObject({
  jobName: z.string(),
  modelArtifacts: S3UriSchema,
});
export type TrainedModel = z.infer<typeof TrainedModelSchema>;

/** FindChampion result: the latest approved model of the use case, if any. */
export const FindChampionOutputSchema = z.strictObject({
  exists: z.boolean(),
  modelVersion: z.string().optional(),
  modelPackageArn: z.string().optional(),
  modelDataUrl: S3UriSchema.optional(),
  /** A SageMaker model name to run batch transform with (created by the step when needed). */
  modelName: z.string().optional(),
});
export type FindChampionOutput = z.infer<typeof FindChampionOutputSchema>;

/** Metrics of one model on the test split. */
export const ModelMetricsSchema = z.strictObject({
  auc: z.number(),
  logLoss: z.number(),
  precision: z.number(),
  recall: z.number(),
  /** Expected calibration error over 10 equal-width bins. */
  calibrationError: z.number(),
  rows: z.number().int(),
});
export type ModelMetrics = z.infer<typeof ModelMetricsSchema>;

/** Evaluate result; the Gate Choice state reads `candidate.auc`, `candidate.logLoss` and `aucDrop`. */
export const EvaluateOutputSchema = z.strictObject({
  candidate: ModelMetricsSchema,
  champion: ModelMetricsSchema.nullable(),
  /** champion.auc − candidate.auc on the same test split; 0 when there is no champion. */
  aucDrop: z.number(),
  /** The gates as evaluated (the same rule the Choice state applies), for the ledger. */
  gates: z.array(
    z.strictObject({ metric: z.string(), threshold: z.number(), value: z.number(), passed: z.boolean() }),
  ),
  passed: z.boolean(),
  /**
   * The candidate's test-split scores and their calibration, for the monitor's prediction drift
   * and estimated quality (`runs/<runId>/monitoring-reference.json` in the datasets bucket).
   */
  monitoringReference: S3UriSchema,
});
export type EvaluateOutput = z.infer<typeof EvaluateOutputSchema>;

/** Register result. */
export const RegisterOutputSchema = z.strictObject({
  modelVersion: z.string(),
  modelPackageArn: z.string(),
  approvalStatus: z.enum(['Approved', 'PendingManualApproval']),
});
export type RegisterOutput = z.infer<typeof RegisterOutputSchema>;

/**
 * ExportEdge result (`$.edge`): whether the registered version was published for the edge, and
 * the gate's headline figures. A refused export is a result too, not an error: the run deploys.
 */
export const ExportEdgeOutputSchema = z.strictObject({
  exported: z.boolean(),
  modelVersion: z.string().min(1),
  /** The gate's verdict, or why no file could be built. */
  reason: z.string(),
  /** `s3://<artifacts>/edge/<useCase>/<version>/model.onnx`, when exported. */
  modelUri: S3UriSchema.optional(),
  /** Its manifest, next to it, when exported. */
  manifestUri: S3UriSchema.optional(),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** Test rows compared, largest |Δ| and label flips, when the gate ran. */
  rows: z.number().int().min(0).optional(),
  maxAbsDelta: z.number().min(0).optional(),
  flips: z.number().int().min(0).optional(),
});
export type ExportEdgeOutput = z.infer<typeof ExportEdgeOutputSchema>;

/** What `mlops approve|reject` (or the approval route) sends back through SendTaskSuccess. */
export const ApprovalDecisionSchema = z.strictObject({
  decision: z.enum(['approved', 'rejected']),
  approver: z.string().min(1),
  reason: z.string().min(1).max(2000),
});
export type ApprovalDecision = z.infer<typeof ApprovalDecisionSchema>;

/** What the Record step is recording: it is invoked with `{runId, state: $, kind, step?}`. */
export const RecordKindSchema = z.enum(['success', 'gate-failure', 'approval', 'failure', 'edge-failure']);
export type RecordKind = z.infer<typeof RecordKindSchema>;

/** Payload of the Record step. */
export const RecordPayloadSchema = StepPayloadSchema.extend({
  kind: RecordKindSchema,
  /**
   * For `failure`: the state that failed (a STEP_NAMES value, steps.ts).
   * @default - inferred from `$.error` and the last step output present in the state
   */
  step: z.string().min(1).optional(),
});
export type RecordPayload = z.infer<typeof RecordPayloadSchema>;

/** Payload of the Approval step (`lambda:invoke.waitForTaskToken`): the step payload plus `$$.Task.Token`. */
export const ApprovalRequestPayloadSchema = StepPayloadSchema.extend({ token: z.string().min(1) });
export type ApprovalRequestPayload = z.infer<typeof ApprovalRequestPayloadSchema>;

/** Body of `POST /training/runs/{runId}/approval`; the approver is the caller's IAM identity. */
export const ApprovalBodySchema = z.strictObject({
  decision: z.enum(['approved', 'rejected']),
  reason: z.string().trim().min(1).max(2000),
});
export type ApprovalBody = z.infer<typeof ApprovalBodySchema>;

/** Error names the steps throw; Catch and the CLI match on them. */
export const STEP_ERRORS = {
  dataValidation: 'DataValidationError',
  approvalRejected: 'ApprovalRejectedError',
} as const;
