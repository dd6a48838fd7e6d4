/**
 * The Record step: the ledger facts that close a run, one handler for the ways a run ends or
 * advances (success, a failed gate, a human decision, a failure) and for the one error that does
 * not end it (ExportEdge's, recorded as EdgeExportFailed). Every event ID derives from
 * the run and the kind, so a retried Record appends nothing new.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { type SageMakerClient, UpdateModelPackageCommand } from '@aws-sdk/client-sagemaker';
import { archiveContentSha256 } from '../archive.ts';
import type { UseCase } from '../config/use-case.ts';
import { type LedgerWriter, recordedEvent } from '../ledger/append.ts';
import type {
  ApprovalRecorded,
  EdgeExportFailed,
  TrainingCompleted,
  TrainingFailed,
} from '../ledger/events.ts';
import { DEFAULT_CHAIN } from '../ledger/items.ts';
import { parseS3Uri } from '../s3.ts';
import { type RecordKind, STEP_ERRORS } from './contracts.ts';
import { type AppendOnceResult, appendOnce, firstOfType, runEventId, runRecords } from './ledger.ts';
import { optionalStatePart, PipelineStateError, statePart } from './state.ts';
import { STEP_NAMES, STEP_PROGRESS } from './steps.ts';

/** Longest reason the ledger accepts. */
const MAX_REASON = 2000;

/** What the Record step reports back (it ends up in the execution's output). */
export interface RecordSummary {
  readonly kind: RecordKind;
  readonly runId: string;
  /** What happened in the ledger: a new event, an earlier identical one, or nothing to record. */
  readonly ledger: AppendOnceResult['outcome'] | 'nothing-to-record';
  readonly modelVersion?: string;
  readonly decision?: 'approved' | 'rejected';
  readonly step?: string;
  readonly reason?: string;
  readonly failedGates?: readonly string[];
  readonly artifact?: { readonly uri: string; readonly sha256: string };
}

/** What the Record step needs. */
export interface RecordStepOptions {
  readonly runId: string;
  readonly kind: RecordKind;
  /** For `failure`: the failed state. @default - inferred, see {@link failedStep} */
  readonly step?: string;
  readonly state: Readonly<Record<string, unknown>>;
  readonly useCase: UseCase;
  readonly ledger: LedgerWriter;
  readonly s3: S3Client;
  readonly sagemaker: SageMakerClient;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** The error a Catch stored at `$.error`. */
export interface CaughtError {
  readonly Error?: string;
  readonly Cause?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The readable reason of a caught error: a SageMaker job's FailureReason from the Cause JSON, a
 * Lambda error's message, else the Cause text, else the error name.
 */
export function failureReason(error: CaughtError | undefined): string {
  const cause = error?.Cause?.trim();
  let reason = cause && cause !== '' ? cause : (error?.Error ?? 'unknown error (no $.error in the state)');
  if (cause?.startsWith('{')) {
    try {
      const parsed: unknown = JSON.parse(cause);
      if (isRecord(parsed)) {
        if (typeof parsed.FailureReason === 'string') reason = parsed.FailureReason;
        else if (typeof parsed.errorMessage === 'string') {
          reason =
            typeof parsed.errorType === 'string'
              ? `${parsed.errorType}: ${parsed.errorMessage}`
              : parsed.errorMessage;
        }
      }
    } catch {
      // Not JSON after all: the Cause text is the reason.
    }
  }
  return reason.length > MAX_REASON ? `${reason.slice(0, MAX_REASON - 1)}…` : reason;
}

/** Errors only the Evaluate Lambda throws, which tell it apart from the transform before it. */
const EVALUATE_ERRORS = new Set(['EvaluationInputError', 'MetricInputError', 'PipelineStateError']);

/**
 * The state that failed: the first step whose output is missing from the state. Between
 * FindChampion and Evaluate sits BatchTransform, told apart from Evaluate by the error (a Lambda
 * error has an `errorType` in its Cause).
 */
export function failedStep(state: Readonly<Record<string, unknown>>, error: CaughtError | undefined): string {
  if (error?.Error === STEP_ERRORS.dataValidation) return STEP_NAMES.validateData;
  for (const [part, step] of STEP_PROGRESS) {
    if (state[part] !== undefined && state[part] !== null) continue;
    if (part !== 'evaluation') return step;
    const lambdaError =
      (error?.Error !== undefined &&
        (EVALUATE_ERRORS.has(error.Error) || error.Error.startsWith('Lambda.'))) ||
      /"errorType"\s*:/.test(error?.Cause ?? '');
    return lambdaError ? STEP_NAMES.evaluate : STEP_NAMES.transform;
  }
  return STEP_NAMES.recordSuccess;
}

async function recordSuccess(o: RecordStepOptions, time: string): Promise<RecordSummary> {
  const dataset = statePart(o.state, 'dataset');
  const trained = statePart(o.state, 'trained');
  const evaluation = statePart(o.state, 'evaluation');
  const registered = optionalStatePart(o.state, 'registered');
  const started = firstOfType(await runRecords(o.ledger, o.runId), 'TrainingStarted');
  if (!started) {
    throw new PipelineStateError(
      `run ${o.runId} has no TrainingStarted in the ledger; BuildDataset records it`,
    );
  }
  // The content hash of the archive's files: tar metadata (timestamps) differs between identical trainings.
  const artifact = {
    uri: trained.modelArtifacts,
    sha256: await archiveContentSha256(o.s3, parseS3Uri(trained.modelArtifacts)),
  };
  const event: TrainingCompleted = {
    type: 'TrainingCompleted',
    eventId: runEventId(o.runId, 'training-completed'),
    actor: `pipeline/${STEP_NAMES.recordSuccess}`,
    time,
    useCase: o.useCase.name,
    runId: o.runId,
    datasetHash: dataset.datasetHash,
    manifest: started.manifest,
    metrics: { ...evaluation.candidate },
    artifact,
  };
  const { outcome } = await appendOnce(o.ledger, event);
  return {
    kind: 'success',
    runId: o.runId,
    ledger: outcome,
    artifact,
    ...(registered ? { modelVersion: registered.modelVersion } : {}),
  };
}

async function recordApproval(o: RecordStepOptions, time: string): Promise<RecordSummary> {
  const approval = statePart(o.state, 'approval');
  const registered = statePart(o.state, 'registered');
  const event: ApprovalRecorded = {
    type: 'ApprovalRecorded',
    eventId: runEventId(o.runId, 'approval'),
    actor: approval.approver,
    time,
    useCase: o.useCase.name,
    modelVersion: registered.modelVersion,
    runId: o.runId,
    approver: approval.approver,
    decision: approval.decision,
    reason: approval.reason,
  };
  const { outcome } = await appendOnce(o.ledger, event);
  await o.sagemaker.send(
    new UpdateModelPackageCommand({
      ModelPackageArn: registered.modelPackageArn,
      ModelApprovalStatus: approval.decision === 'approved' ? 'Approved' : 'Rejected',
      ApprovalDescription: `${approval.decision} by ${approval.approver}: ${approval.reason}`.slice(0, 1024),
    }),
  );
  return {
    kind: 'approval',
    runId: o.runId,
    ledger: outcome,
    modelVersion: registered.modelVersion,
    decision: approval.decision,
  };
}

async function recordFailure(o: RecordStepOptions, time: string): Promise<RecordSummary> {
  const error = optionalStatePart(o.state, 'error');
  const dataset = optionalStatePart(o.state, 'dataset');
  const step = o.step ?? failedStep(o.state, error);
  const reason = failureReason(error);
  const event: TrainingFailed = {
    type: 'TrainingFailed',
    eventId: runEventId(o.runId, 'training-failed'),
    actor: `pipeline/${STEP_NAMES.recordFailure}`,
    time,
    useCase: o.useCase.name,
    runId: o.runId,
    ...(dataset ? { datasetHash: dataset.datasetHash } : {}),
    step,
    reason,
  };
  const { outcome } = await appendOnce(o.ledger, event);
  const registered = optionalStatePart(o.state, 'registered');
  // A failed run's package must never serve or become the champion, whether it was approved
  // at registration (no approval stage), by a human, or is still waiting for a decision.
  if (registered) {
    await o.sagemaker.send(
      new UpdateModelPackageCommand({
        ModelPackageArn: registered.modelPackageArn,
        ModelApprovalStatus: 'Rejected',
        ApprovalDescription: `run ${o.runId} failed at ${step}: ${reason}`.slice(0, 1024),
      }),
    );
  }
  return {
    kind: 'failure',
    runId: o.runId,
    ledger: outcome,
    step,
    reason,
    ...(registered ? { modelVersion: registered.modelVersion } : {}),
  };
}

/**
 * An error ExportEdge could not record (its Catch kept it at `$.edgeError`), as the run's
 * EdgeExportFailed with the error's cause as the reason. Nothing is appended when ExportEdge did
 * record an outcome under the run's edge-export ID before failing (a timeout after the append).
 */
async function recordEdgeFailure(o: RecordStepOptions, time: string): Promise<RecordSummary> {
  const registered = statePart(o.state, 'registered');
  const dataset = optionalStatePart(o.state, 'dataset');
  const trained = optionalStatePart(o.state, 'trained');
  const eventId = runEventId(o.runId, 'edge-export');
  const reason = failureReason(optionalStatePart(o.state, 'edgeError'));
  const summary = { kind: 'edge-failure', runId: o.runId, modelVersion: registered.modelVersion } as const;
  if (await recordedEvent(o.ledger, o.ledger.chain ?? DEFAULT_CHAIN, eventId)) {
    return { ...summary, ledger: 'recorded-earlier', reason };
  }
  const event: EdgeExportFailed = {
    type: 'EdgeExportFailed',
    eventId,
    actor: `pipeline/${STEP_NAMES.recordEdgeFailure}`,
    time,
    useCase: o.useCase.name,
    modelVersion: registered.modelVersion,
    runId: o.runId,
    ...(dataset ? { datasetHash: dataset.datasetHash } : {}),
    ...(trained ? { sourceModelUri: trained.modelArtifacts } : {}),
    reason,
  };
  const { outcome } = await appendOnce(o.ledger, event);
  return { ...summary, ledger: outcome, reason };
}

function gateFailure(o: RecordStepOptions): RecordSummary {
  const evaluation = statePart(o.state, 'evaluation');
  const failed = evaluation.gates
    .filter((g) => !g.passed)
    .map((g) => `${g.metric} = ${g.value.toFixed(4)} (threshold ${g.threshold})`);
  return {
    kind: 'gate-failure',
    runId: o.runId,
    // ModelEvaluated, appended by Evaluate, already records the gates and the verdict.
    ledger: 'nothing-to-record',
    failedGates: failed,
    reason: `the candidate failed ${failed.length} gate(s): ${failed.join('; ')}`,
  };
}

/** Runs the Record step for one kind. */
export async function recordStep(o: RecordStepOptions): Promise<RecordSummary> {
  const time = (o.now ?? (() => new Date()))().toISOString();
  switch (o.kind) {
    case 'success':
      return recordSuccess(o, time);
    case 'gate-failure':
      return gateFailure(o);
    case 'approval':
      return recordApproval(o, time);
    case 'failure':
      return recordFailure(o, time);
    case 'edge-failure':
      return recordEdgeFailure(o, time);
  }
}
