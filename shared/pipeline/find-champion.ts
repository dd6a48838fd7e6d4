/**
 * FindChampion: the latest approved model package of the use case's group, and a SageMaker model
 * for it so batch transform can score the same test split as the candidate.
 */
import {
  CreateModelCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  ResourceNotFound,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { type FindChampionOutput, S3UriSchema } from './contracts.ts';
import { packageModelName } from './names.ts';

/** A model version as the ledger and the API name it: `<useCase>:v<ModelPackageVersion>`. */
export function modelVersionOf(useCase: string, packageVersion: number): string {
  return `${useCase}:v${packageVersion}`;
}

/** An approved package that cannot serve as champion (no version or no model data). */
export class ChampionPackageError extends Error {
  override readonly name: string = 'ChampionPackageError';
}

/** Whether SageMaker said the group does not exist (ValidationException on AWS and locally). */
function isMissingGroup(e: unknown): boolean {
  if (e instanceof ResourceNotFound) return true;
  // SageMaker's ValidationException has no class of its own in the SDK: name and message it is.
  return (
    e instanceof Error && e.name === 'ValidationException' && /does not exist|not found/i.test(e.message)
  );
}

/** What FindChampion needs. */
export interface FindChampionOptions {
  readonly sagemaker: SageMakerClient;
  readonly useCase: string;
  readonly modelPackageGroup: string;
  /** Serving image of the model created for transform. */
  readonly imageUri: string;
  readonly roleArn: string;
}

/** Creates the model unless it exists; an existing one must serve the same model data. */
async function ensureModel(o: FindChampionOptions, modelName: string, modelDataUrl: string): Promise<void> {
  try {
    await o.sagemaker.send(
      new CreateModelCommand({
        ModelName: modelName,
        PrimaryContainer: { Image: o.imageUri, ModelDataUrl: modelDataUrl },
        ExecutionRoleArn: o.roleArn,
      }),
    );
  } catch (e) {
    if (!(e instanceof Error && e.name === 'ValidationException' && /already exist/i.test(e.message)))
      throw e;
    const existing = await o.sagemaker.send(new DescribeModelCommand({ ModelName: modelName }));
    const url = existing.PrimaryContainer?.ModelDataUrl ?? existing.Containers?.[0]?.ModelDataUrl;
    if (url !== modelDataUrl) {
      throw new ChampionPackageError(
        `model ${modelName} already exists with model data ${url ?? '(none)'}, not ${modelDataUrl}`,
      );
    }
  }
}

/** Runs the FindChampion step. */
export async function findChampionStep(o: FindChampionOptions): Promise<FindChampionOutput> {
  let latest: { arn: string; version: number } | undefined;
  try {
    const out = await o.sagemaker.send(
      new ListModelPackagesCommand({
        ModelPackageGroupName: o.modelPackageGroup,
        ModelApprovalStatus: 'Approved',
        SortBy: 'CreationTime',
        SortOrder: 'Descending',
        MaxResults: 1,
      }),
    );
    const first = out.ModelPackageSummaryList?.[0];
    if (first?.ModelPackageArn) {
      if (first.ModelPackageVersion === undefined) {
        throw new ChampionPackageError(`approved package ${first.ModelPackageArn} has no version`);
      }
      latest = { arn: first.ModelPackageArn, version: first.ModelPackageVersion };
    }
  } catch (e) {
    if (isMissingGroup(e)) return { exists: false };
    throw e;
  }
  if (!latest) return { exists: false };
  const described = await o.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: latest.arn }));
  const modelDataUrl = described.InferenceSpecification?.Containers?.[0]?.ModelDataUrl;
  const url = S3UriSchema.safeParse(modelDataUrl);
  if (!url.success) {
    throw new ChampionPackageError(
      `approved package ${latest.arn} has no S3 model data (${String(modelDataUrl)})`,
    );
  }
  const modelName = packageModelName(o.modelPackageGroup, latest.version);
  await ensureModel(o, modelName, url.data);
  return {
    exists: true,
    modelVersion: modelVersionOf(o.useCase, latest.version),
    modelPackageArn: latest.arn,
    modelDataUrl: url.data,
    modelName,
  };
}
