/**
 * Register: the evaluation report next to the run's artifacts, a versioned model package in the
 * use case's group (approved outright, or pending a human decision), and ModelRegistered.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  DescribeModelPackageCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { UseCase } from '../config/use-case.ts';
import type { LedgerWriter } from '../ledger/append.ts';
import { sha256Hex } from '../ledger/canonical.ts';
import type { ModelRegistered } from '../ledger/events.ts';
import { putObject, s3Uri } from '../s3.ts';
import {
  type BuildDatasetOutput,
  type EvaluateOutput,
  type FindChampionOutput,
  type RegisterOutput,
  RegisterOutputSchema,
  type TrainedModel,
} from './contracts.ts';
import { modelVersionOf } from './find-champion.ts';
import { appendOnce, firstOfType, runEventId, runRecords } from './ledger.ts';
import { STEP_NAMES } from './steps.ts';

/** SageMaker did not return what registration needs. */
export class RegistrationError extends Error {
  override readonly name: string = 'RegistrationError';
}

/** What Register needs. */
export interface RegisterStepOptions {
  readonly runId: string;
  readonly useCase: UseCase;
  readonly s3: S3Client;
  readonly sagemaker: SageMakerClient;
  readonly ledger: LedgerWriter;
  readonly artifactsBucket: string;
  readonly modelPackageGroup: string;
  readonly imageUri: string;
  /** Whether the stage needs a human decision before the model may serve. */
  readonly requireApproval: boolean;
  readonly dataset: BuildDatasetOutput;
  readonly trained: TrainedModel;
  readonly evaluation: EvaluateOutput;
  readonly champion?: FindChampionOutput;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

async function statusOf(
  sagemaker: SageMakerClient,
  arn: string,
): Promise<{ version: number; status: string }> {
  const d = await sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  if (d.ModelPackageVersion === undefined) throw new RegistrationError(`model package ${arn} has no version`);
  return { version: d.ModelPackageVersion, status: d.ModelApprovalStatus ?? 'PendingManualApproval' };
}

/** Runs the Register step. A retry after ModelRegistered was recorded returns that registration. */
export async function registerStep(o: RegisterStepOptions): Promise<RegisterOutput> {
  const earlier = firstOfType(await runRecords(o.ledger, o.runId), 'ModelRegistered');
  if (earlier?.modelPackageArn) {
    const { status } = await statusOf(o.sagemaker, earlier.modelPackageArn);
    return RegisterOutputSchema.parse({
      modelVersion: earlier.modelVersion,
      modelPackageArn: earlier.modelPackageArn,
      approvalStatus: status,
    });
  }
  const evaluationKey = `runs/${o.runId}/evaluation.json`;
  const report = {
    runId: o.runId,
    useCase: o.useCase.name,
    datasetHash: o.dataset.datasetHash,
    trainingJob: o.trained.jobName,
    modelArtifacts: o.trained.modelArtifacts,
    championVersion: o.champion?.exists ? (o.champion.modelVersion ?? null) : null,
    ...o.evaluation,
  };
  await putObject(
    o.s3,
    { bucket: o.artifactsBucket, key: evaluationKey },
    JSON.stringify(report, null, 2),
    'application/json',
  );
  const approvalStatus = o.requireApproval ? 'PendingManualApproval' : 'Approved';
  const created = await o.sagemaker.send(
    new CreateModelPackageCommand({
      ModelPackageGroupName: o.modelPackageGroup,
      ModelPackageDescription: `run ${o.runId}, dataset ${o.dataset.datasetHash.slice(0, 12)}, test AUC ${o.evaluation.candidate.auc.toFixed(4)}`,
      // SageMaker's own idempotency: a retried call with the same token returns the same package.
      ClientToken: sha256Hex(`${o.modelPackageGroup}/${o.runId}`).slice(0, 36),
      InferenceSpecification: {
        Containers: [{ Image: o.imageUri, ModelDataUrl: o.trained.modelArtifacts }],
        SupportedContentTypes: ['text/csv'],
        SupportedResponseMIMETypes: ['text/csv'],
      },
      ModelMetrics: {
        ModelQuality: {
          Statistics: { ContentType: 'application/json', S3Uri: s3Uri(o.artifactsBucket, evaluationKey) },
        },
      },
      ModelApprovalStatus: approvalStatus,
      // The deploy machine gives the serving model this encoding, so requests are encoded as the training set was.
      CustomerMetadataProperties: {
        runId: o.runId,
        datasetHash: o.dataset.datasetHash,
        encodingUri: o.dataset.encodingUri,
      },
    }),
  );
  const arn = created.ModelPackageArn;
  if (!arn) throw new RegistrationError('CreateModelPackage returned no ModelPackageArn');
  const { version } = await statusOf(o.sagemaker, arn);
  const modelVersion = modelVersionOf(o.useCase.name, version);
  const event: ModelRegistered = {
    type: 'ModelRegistered',
    eventId: runEventId(o.runId, 'registered'),
    actor: `pipeline/${STEP_NAMES.register}`,
    time: (o.now ?? (() => new Date()))().toISOString(),
    useCase: o.useCase.name,
    modelVersion,
    runId: o.runId,
    datasetHash: o.dataset.datasetHash,
    modelPackageArn: arn,
    artifactUri: o.trained.modelArtifacts,
  };
  await appendOnce(o.ledger, event);
  return { modelVersion, modelPackageArn: arn, approvalStatus };
}
