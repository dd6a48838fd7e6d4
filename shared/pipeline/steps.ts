/**
 * The training pipeline's step table: one row per step, in execution order. A row names the state,
 * where its result sits in the state (`$.<result>`, with the result's contract), and, for a Lambda
 * step, its handler file, the environment variables it parses, how the function is sized and what
 * it may touch. Everything keyed by step is derived from here: STEP_NAMES, the state layout
 * (STATE_PARTS), each handler's environment schema (STEP_ENV) and, in
 * infra/constructs/training-pipeline/, the functions, their environment check at synth, their
 * grants and the acknowledgements of those grants. Adding a Lambda step is one row, its handler in
 * functions/pipeline/ and its function in shared/.
 *
 * The table is plain data (no aws-cdk-lib), so the handlers' bundles can import it.
 */
import * as z from 'zod';
import type { UseCase } from '../config/use-case.ts';
import { DeploymentResultSchema } from '../deployment/contracts.ts';
import {
  ApprovalDecisionSchema,
  BuildDatasetOutputSchema,
  EvaluateOutputSchema,
  ExportEdgeOutputSchema,
  FindChampionOutputSchema,
  PipelineInputSchema,
  RegisterOutputSchema,
  TrainedModelSchema,
  ValidateDataOutputSchema,
} from './contracts.ts';
import { PipelineEnvSchema } from './env.ts';

/** Which of PipelineEnvSchema's variables a handler parses. */
export type EnvMask = { readonly [K in keyof typeof PipelineEnvSchema.shape]?: true };

/**
 * Where a chained step sits:
 * - `prepare`: KeepInput → these steps → Gate;
 * - `promote`: Gate (passed) → these steps → Approval (where the stage asks) → ReadyToDeploy;
 * - `deploy`: ReadyToDeploy → these steps → the deployment seam → RecordSuccess.
 * A row without a segment is used by a fixed fragment (the approval wait, the record states).
 */
export type StepSegment = 'prepare' | 'promote' | 'deploy';

/** Object prefixes a grant may name; the construct resolves each for the use case. */
export type ObjectTarget =
  /** Offline bucket, `features/<group>/*` of each feature group the use case reads. */
  | 'featureHistory'
  /** Datasets bucket, `labels/<useCase>/*`. */
  | 'labels'
  /** Datasets bucket, `snapshots/<useCase>/*`. */
  | 'snapshots'
  /** Datasets bucket, `runs/*`: each run's channels and transform output. */
  | 'runData'
  /** Artifacts bucket, `runs/*`: training output and evaluation reports. */
  | 'artifacts'
  /** Artifacts bucket, `edge/<useCase>/*`: the published edge models and their manifests. */
  | 'edgeModels';

/** What a grant may name. `*` is only for actions without resource-level permissions. */
export type GrantTarget =
  | ObjectTarget
  | 'modelPackageGroup'
  /** The versions in the use case's group. */
  | 'modelPackages'
  /** Any SageMaker model: names are made per run. */
  | 'models'
  | 'sagemakerRole'
  | 'runState'
  | 'topic'
  /** The use case's endpoint. */
  | 'endpoint'
  /** The endpoint's configs: `endpoint-config/<endpoint>-*` (one pair per deployment). */
  | 'endpointConfigs'
  /** The alarms that guard the endpoint's deployments: `alarm:<endpoint>-*`. */
  | 'alarms'
  /** The data key (the one the stage encrypts with). */
  | 'dataKey'
  /** The alarms Application Auto Scaling makes for the endpoint's target tracking: `alarm:TargetTracking-endpoint/<endpoint>/*`. */
  | 'scalingAlarms'
  /** The service-linked role of SageMaker endpoint autoscaling. */
  | 'autoscalingRole'
  | '*';

/** An IAM condition block, as in a policy statement. */
export type GrantCondition = Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;

/**
 * What a step's function may do:
 * - `{ledger}`: append to (and sign for) or read the lineage ledger, through LedgerTable's methods;
 * - `{sid, actions, on}`: the actions on the named targets; `why` says why a wildcard in a target
 *   is as narrow as it can be, and becomes the acknowledgement of that finding (required when a
 *   target has one);
 * - `{sid, list}`: `s3:ListBucket` on the targets' bucket, limited to their prefixes.
 */
export type StepGrant =
  | { readonly ledger: 'append' | 'read' }
  | {
      readonly sid: string;
      readonly actions: readonly string[];
      readonly on: readonly GrantTarget[];
      readonly condition?: GrantCondition;
      readonly why?: string;
    }
  | { readonly sid: string; readonly list: readonly ObjectTarget[] };

/** The use case's optional sections: a row may exist only when its use case sets one. */
export type OptionalSection = {
  [K in keyof UseCase]-?: undefined extends UseCase[K] ? K : never;
}[keyof UseCase];

/**
 * What a function's bundle carries besides the esbuild output:
 * - `onnxruntime`: onnxruntime-node (a native addon, left external and copied with its Linux
 *   binaries) and `onnx.proto`, which the ONNX writer parses at first use.
 */
export type BundleExtra = 'onnxruntime';

/** What every row has. */
interface StepRowBase {
  /**
   * The state's name in the definition, the CLI and the emulator's overrides.
   * @default - none: the handler serves fixed states (the record states)
   */
  readonly state?: string;
  /** What the step does, shown in the console. */
  readonly comment: string;
  /**
   * The state part (`$.<result>`) the step writes, with its contract.
   * @default - the result is dropped
   */
  readonly result?: string;
  readonly output?: z.ZodType;
  /** @default - not chained; a fixed fragment uses it */
  readonly segment?: StepSegment;
  /**
   * The use-case section that turns the step on: without it, the pipeline has neither the state
   * nor the function.
   * @default - every pipeline has the step
   */
  readonly enabledBy?: OptionalSection;
}

/** A step run by a Lambda function of ours. */
export interface LambdaStepRow extends StepRowBase {
  /** Handler file in the functions folder; its PascalCase name is the function's construct ID. */
  readonly handler: string;
  /** The variables the handler parses, and so the ones the function is given. */
  readonly env: EnvMask;
  readonly fn: {
    /** One line, after the use case's name. */
    readonly description: string;
    readonly timeoutSeconds: number;
    /**
     * Memory floor in MB.
     * @default - the stage's lambdaMemoryMb
     */
    readonly minMemoryMb?: number;
    /**
     * What the bundle carries besides the esbuild output.
     * @default - nothing: the bundle alone (the AWS SDK comes from the runtime)
     */
    readonly bundle?: BundleExtra;
  };
  readonly grants: readonly StepGrant[];
}

/** A step that is a service integration; its fragment lives in pipelines/training/. */
export interface TaskStepRow extends StepRowBase {
  readonly task: 'sagemaker';
}

export type StepRow = LambdaStepRow | TaskStepRow;

const SNAPSHOTS =
  "Limited to this use case's snapshots/ prefix, whose keys are content hashes of each dataset, unknown in advance.";
const RUN_DATA =
  'Limited to the runs/ prefix of the datasets bucket, where each run keeps its channels under its own run ID.';
const ARTIFACTS =
  'Limited to the runs/ prefix of the artifacts bucket, where each run and job writes under its own name.';
const PACKAGES = "Limited to this use case's model package group; version numbers are assigned by SageMaker.";
const EDGE_MODELS =
  "Write-only, limited to this use case's edge/<useCase>/ prefix of the artifacts bucket, one folder per model version.";

/** Passing the SageMaker role, to SageMaker only: what a step that creates a model needs. */
export const PASS_SAGEMAKER_ROLE = {
  sid: 'PassSageMakerRole',
  actions: ['iam:PassRole'],
  on: ['sagemakerRole'],
  condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
} as const satisfies StepGrant;

/** The steps, in execution order. */
export const PIPELINE_STEPS = {
  buildDataset: {
    state: 'BuildDataset',
    segment: 'prepare',
    comment: 'Point-in-time join, immutable snapshot, manifest and the XGBoost channels.',
    result: 'dataset',
    output: BuildDatasetOutputSchema,
    handler: 'build-dataset.ts',
    env: {
      USE_CASE_CONFIG: true,
      LEDGER_TABLE: true,
      LEDGER_CHAIN: true,
      LEDGER_SIGNING_KEY: true,
      DATASETS_BUCKET: true,
      OFFLINE_BUCKET: true,
      ARTIFACTS_BUCKET: true,
      IMAGE_URI: true,
      CODE_VERSION: true,
      CONFIG_HASH: true,
    },
    // The channels are encoded from a local copy of the snapshot.
    fn: {
      description: 'point-in-time dataset, snapshot, manifest and channels',
      timeoutSeconds: 900,
      minMemoryMb: 2048,
    },
    grants: [
      { ledger: 'append' },
      { ledger: 'read' },
      {
        sid: 'ReadFeatureHistory',
        actions: ['s3:GetObject'],
        on: ['featureHistory'],
        why: "Read-only, limited to the offline history of one of this use case's feature groups.",
      },
      { sid: 'ListFeatureHistory', list: ['featureHistory'] },
      {
        sid: 'ReadLabels',
        actions: ['s3:GetObject'],
        on: ['labels'],
        why: "Read-only, limited to this use case's labels/ prefix, partitioned by day.",
      },
      {
        sid: 'ReadWriteSnapshots',
        actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:AbortMultipartUpload'],
        on: ['snapshots'],
        why: `Read and write. ${SNAPSHOTS}`,
      },
      {
        sid: 'WriteRunChannels',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        on: ['runData'],
        why: `Write-only (the run's channels). ${RUN_DATA}`,
      },
      { sid: 'ListDatasets', list: ['labels', 'snapshots'] },
    ],
  },
  validateData: {
    state: 'ValidateData',
    segment: 'prepare',
    comment:
      'Schema, missing rate, minimum rows and label balance; throws DataValidationError with the reason.',
    result: 'validation',
    output: ValidateDataOutputSchema,
    handler: 'validate-data.ts',
    env: { USE_CASE_CONFIG: true },
    fn: { description: 'data quality gate on the snapshot', timeoutSeconds: 300 },
    grants: [
      {
        sid: 'ReadManifest',
        actions: ['s3:GetObject'],
        on: ['snapshots'],
        why: `Read-only (manifests). ${SNAPSHOTS}`,
      },
    ],
  },
  train: {
    state: 'Train',
    segment: 'prepare',
    comment: "Train the candidate on the run's CSV channels (label first, no header) and wait for the job.",
    result: 'trained',
    output: TrainedModelSchema,
    task: 'sagemaker',
  },
  createCandidateModel: {
    state: 'CreateCandidateModel',
    segment: 'prepare',
    comment: 'Register the trained artifacts as a SageMaker model, for batch transform and deployment.',
    result: 'candidate',
    output: z.object({ modelName: z.string().min(1) }),
    task: 'sagemaker',
  },
  findChampion: {
    state: 'FindChampion',
    segment: 'prepare',
    comment:
      'The model serving on the endpoint (else the latest approved one), as a SageMaker model for batch transform.',
    result: 'champion',
    output: FindChampionOutputSchema,
    handler: 'find-champion.ts',
    env: {
      USE_CASE_CONFIG: true,
      MODEL_PACKAGE_GROUP: true,
      IMAGE_URI: true,
      SAGEMAKER_ROLE_ARN: true,
      ENDPOINT_NAME: true,
    },
    fn: { description: 'finds the approved champion model', timeoutSeconds: 60 },
    grants: [
      {
        sid: 'ListVersions',
        actions: ['sagemaker:ListModelPackages'],
        on: ['*'],
        why: 'X-Ray PutTraceSegments/PutTelemetryRecords and sagemaker:ListModelPackages support no resource-level permissions; every other grant is scoped.',
      },
      {
        sid: 'DescribeChampion',
        actions: ['sagemaker:DescribeModelPackage'],
        on: ['modelPackages'],
        why: PACKAGES,
      },
      {
        sid: 'CreateChampionModel',
        actions: ['sagemaker:CreateModel', 'sagemaker:DescribeModel'],
        on: ['models'],
        why: 'The champion model is created under a name derived from its package version at run time; CreateModel can only pass the SageMaker role.',
      },
      PASS_SAGEMAKER_ROLE,
      { sid: 'ReadServingEndpoint', actions: ['sagemaker:DescribeEndpoint'], on: ['endpoint'] },
      {
        sid: 'ReadServingConfig',
        actions: ['sagemaker:DescribeEndpointConfig'],
        on: ['endpointConfigs'],
        why: "Limited to this endpoint's configs (<endpoint>-*); each deployment names its own, known only at run time.",
      },
    ],
  },
  transform: {
    state: 'BatchTransform',
    segment: 'prepare',
    comment: 'Score the held-out test split with the candidate and the champion.',
    task: 'sagemaker',
  },
  evaluate: {
    state: 'Evaluate',
    segment: 'prepare',
    comment: 'Metrics of candidate and champion on the same test rows.',
    result: 'evaluation',
    output: EvaluateOutputSchema,
    handler: 'evaluate.ts',
    env: { USE_CASE_CONFIG: true, LEDGER_TABLE: true, LEDGER_CHAIN: true, LEDGER_SIGNING_KEY: true },
    fn: {
      description: 'scores candidate and champion on the test split',
      timeoutSeconds: 300,
      minMemoryMb: 1024,
    },
    grants: [
      { ledger: 'append' },
      {
        sid: 'ReadLabelsAndPredictions',
        actions: ['s3:GetObject'],
        on: ['runData'],
        why: `Read-only (test labels and batch transform output). ${RUN_DATA}`,
      },
      {
        sid: 'WriteMonitoringReference',
        actions: ['s3:PutObject'],
        on: ['runData'],
        why: `The run's monitoring reference (test-split scores and calibration). ${RUN_DATA}`,
      },
      { sid: 'ListPredictions', list: ['runData'] },
    ],
  },
  register: {
    state: 'Register',
    segment: 'promote',
    comment: 'A model package version plus the registered ledger event.',
    result: 'registered',
    output: RegisterOutputSchema,
    handler: 'register.ts',
    env: {
      USE_CASE_CONFIG: true,
      STAGE_REQUIRE_APPROVAL: true,
      LEDGER_TABLE: true,
      LEDGER_CHAIN: true,
      LEDGER_SIGNING_KEY: true,
      ARTIFACTS_BUCKET: true,
      MODEL_PACKAGE_GROUP: true,
      IMAGE_URI: true,
    },
    fn: { description: 'registers the model package version', timeoutSeconds: 60 },
    grants: [
      { ledger: 'append' },
      { ledger: 'read' },
      {
        sid: 'RegisterVersion',
        actions: ['sagemaker:CreateModelPackage'],
        on: ['modelPackageGroup', 'modelPackages'],
        why: PACKAGES,
      },
      {
        sid: 'DescribeVersion',
        actions: ['sagemaker:DescribeModelPackage'],
        on: ['modelPackages'],
        why: PACKAGES,
      },
      {
        sid: 'WriteEvaluationReport',
        actions: ['s3:PutObject', 's3:GetObject'],
        on: ['artifacts'],
        why: `Writes the evaluation report next to the model. ${ARTIFACTS}`,
      },
    ],
  },
  approval: {
    state: 'Approval',
    comment: 'Wait for an approver; the decision ({decision, approver, reason}) arrives via SendTaskSuccess.',
    result: 'approval',
    output: ApprovalDecisionSchema,
    handler: 'request-approval.ts',
    env: { USE_CASE_CONFIG: true, RUN_STATE_TABLE: true, TOPIC_ARN: true },
    fn: { description: 'stores the approval task token', timeoutSeconds: 30 },
    grants: [
      { sid: 'StoreTaskToken', actions: ['dynamodb:PutItem'], on: ['runState'] },
      { sid: 'NotifyApprovers', actions: ['sns:Publish'], on: ['topic'] },
    ],
  },
  exportEdge: {
    state: 'ExportEdge',
    enabledBy: 'edge',
    comment:
      "ONNX file of the registered version, scored on the run's test split against the batch transform; published only when the parity gate holds, and the run deploys either way.",
    result: 'edge',
    output: ExportEdgeOutputSchema,
    handler: 'export-edge.ts',
    env: {
      USE_CASE_CONFIG: true,
      LEDGER_TABLE: true,
      LEDGER_CHAIN: true,
      LEDGER_SIGNING_KEY: true,
      ARTIFACTS_BUCKET: true,
    },
    // onnxruntime's arena and the test rows' tensors; well under 1 GB for 100k test rows.
    fn: {
      description: 'exports the registered model as ONNX behind a parity gate',
      timeoutSeconds: 300,
      minMemoryMb: 1024,
      bundle: 'onnxruntime',
    },
    grants: [
      { ledger: 'append' },
      {
        sid: 'ReadModelArchive',
        actions: ['s3:GetObject'],
        on: ['artifacts'],
        why: `Read-only (the candidate's model archive). ${ARTIFACTS}`,
      },
      {
        sid: 'ReadEncodingAndScores',
        actions: ['s3:GetObject'],
        on: ['runData'],
        why: `Read-only (encoding.json and the batch transform scores of the test split). ${RUN_DATA}`,
      },
      {
        sid: 'ReadSnapshot',
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        on: ['snapshots'],
        why: `Read-only (the raw test rows of the run's snapshot, by version). ${SNAPSHOTS}`,
      },
      { sid: 'PublishEdgeModel', actions: ['s3:PutObject'], on: ['edgeModels'], why: EDGE_MODELS },
    ],
  },
  record: {
    comment:
      'Appends run outcomes (success, gate failure, approval, failure, an unrecorded edge export error) to the ledger.',
    handler: 'record.ts',
    env: { USE_CASE_CONFIG: true, LEDGER_TABLE: true, LEDGER_CHAIN: true, LEDGER_SIGNING_KEY: true },
    fn: { description: 'appends run outcomes to the ledger', timeoutSeconds: 120 },
    grants: [
      { ledger: 'append' },
      { ledger: 'read' },
      {
        sid: 'SetApprovalStatus',
        actions: ['sagemaker:UpdateModelPackage'],
        on: ['modelPackages'],
        why: PACKAGES,
      },
      {
        sid: 'HashModelArtifacts',
        actions: ['s3:GetObject'],
        on: ['artifacts'],
        why: `Read-only (hashes the model archive). ${ARTIFACTS}`,
      },
    ],
  },
} as const satisfies Readonly<Record<string, StepRow>>;

type Steps = typeof PIPELINE_STEPS;
/** A row's key. */
export type StepKey = keyof Steps;
/** Keys of the Lambda rows. */
export type LambdaStepKey = { [K in StepKey]: Steps[K] extends { handler: string } ? K : never }[StepKey];
/** Keys of the service-integration rows. */
export type TaskStepKey = Exclude<StepKey, LambdaStepKey>;

/** The rows in execution order, with their keys. */
export const STEP_ROWS = Object.entries(PIPELINE_STEPS) as [StepKey, StepRow][];

/** Whether a row is run by a Lambda function of ours. */
export function isLambdaStep(row: StepRow): row is LambdaStepRow {
  return 'handler' in row;
}

/** Whether a row is part of the use case's pipeline (its `enabledBy` section, if any, is set). */
export function stepEnabled(row: StepRow, useCase: UseCase): boolean {
  return row.enabledBy === undefined || useCase[row.enabledBy] !== undefined;
}

/** Keys of the Lambda rows a use case may leave out (they name an `enabledBy` section). */
export type OptionalLambdaStepKey = {
  [K in LambdaStepKey]: Steps[K] extends { enabledBy: string } ? K : never;
}[LambdaStepKey];

/** Keys of the Lambda rows every pipeline has. */
export type RequiredLambdaStepKey = Exclude<LambdaStepKey, OptionalLambdaStepKey>;

/** Per Lambda row key: a value for every row every pipeline has, and for the enabled optional ones. */
export type ByLambdaStep<T> = Readonly<
  Record<RequiredLambdaStepKey, T> & Partial<Record<OptionalLambdaStepKey, T>>
>;

/** The Lambda rows, in execution order. */
export const LAMBDA_STEPS = STEP_ROWS.filter((e): e is [LambdaStepKey, LambdaStepRow] => isLambdaStep(e[1]));

/** States that are not rows: the gate and the record, notify and failure states around the steps. */
const FIXED_STATES = {
  gate: 'Gate',
  /** The nested run of the deploy state machine, after ReadyToDeploy. */
  deploy: 'Deploy',
  /** Where a run ends when its deployment was rolled back. */
  deploymentRolledBack: 'DeploymentRolledBack',
  recordGateFailure: 'RecordGateFailure',
  recordSuccess: 'RecordSuccess',
  recordApproval: 'RecordApproval',
  recordFailure: 'RecordFailure',
  /** Records an error ExportEdge could not record itself (then the run deploys without a file). */
  recordEdgeFailure: 'RecordEdgeFailure',
  notifyFailure: 'NotifyFailure',
  failed: 'Failed',
} as const;

type RowStates = {
  [K in StepKey as Steps[K] extends { state: string } ? K : never]: Steps[K] extends {
    state: infer S;
  }
    ? S
    : never;
};

/** Names of the state machine's states, shared by the definition, the CLI and the tests. */
export const STEP_NAMES = {
  ...(Object.fromEntries(
    STEP_ROWS.flatMap(([key, row]) => (row.state === undefined ? [] : [[key, row.state]])),
  ) as RowStates),
  ...FIXED_STATES,
};

type RowParts = {
  [K in StepKey as Steps[K] extends { result: infer R extends string } ? R : never]: Steps[K] extends {
    output: infer S extends z.ZodType;
  }
    ? S
    : never;
};

/** The error a Catch stores at `$.error`. */
const CaughtErrorSchema = z.object({ Error: z.string().optional(), Cause: z.string().optional() });

/** Where each part of the state sits (`$.<key>`), with its schema: the input, each row's result, the caught error. */
export const STATE_PARTS = {
  input: PipelineInputSchema,
  ...(Object.fromEntries(
    STEP_ROWS.flatMap(([, row]) =>
      row.result === undefined || row.output === undefined ? [] : [[row.result, row.output]],
    ),
  ) as RowParts),
  /** The deploy machine's result (shared/deployment/contracts.ts), when the pipeline deploys. */
  deployment: DeploymentResultSchema,
  error: CaughtErrorSchema,
  /** The error ExportEdge's Catch stored (its path is the fragment's EDGE_ERROR_PATH). */
  edgeError: CaughtErrorSchema,
};

/** A part of the state. */
export type StatePart = keyof typeof STATE_PARTS;

/** The JSONPath of a state part, or of a field inside it: `statePath('dataset', 'names', 'trainingJob')`. */
export function statePath(part: StatePart, ...fields: readonly string[]): string {
  return ['$', part, ...fields].join('.');
}

/** Step outputs in execution order, with the state that produces each (what RecordFailure walks). */
export const STEP_PROGRESS: readonly (readonly [StatePart, string])[] = STEP_ROWS.flatMap(([, row]) =>
  row.result === undefined || row.state === undefined ? [] : [[row.result as StatePart, row.state] as const],
);

type Shape = typeof PipelineEnvSchema.shape;
type EnvOf<M extends EnvMask> = z.ZodObject<{ [K in keyof M & keyof Shape]: Shape[K] }>;

/** The environment schema of each Lambda row of a step table: the variables the row names. */
export function envSchemasOf<T extends Readonly<Record<string, StepRow>>>(
  table: T,
): {
  [K in keyof T as T[K] extends { env: EnvMask } ? K : never]: T[K] extends { env: infer M extends EnvMask }
    ? EnvOf<M>
    : never;
} {
  return Object.fromEntries(
    Object.entries(table).flatMap(([key, row]) =>
      isLambdaStep(row) ? [[key, PipelineEnvSchema.pick(row.env as { [K in keyof Shape]?: true })]] : [],
    ),
  ) as never;
}

/** The environment schema of each Lambda step's handler: the variables its row names. */
export const STEP_ENV = envSchemasOf(PIPELINE_STEPS);
