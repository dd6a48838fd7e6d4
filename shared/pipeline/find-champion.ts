/**
 * FindChampion: the model the candidate must beat — the version serving on the use case's
 * endpoint, or, before anything serves, the latest approved package of the group — and a
 * SageMaker model for it so batch transform can score the same test split as the candidate.
 */
import {
  CreateModelCommand,
  DescribeModelCommand,
  DescribeModelPackageCommand,
  ListModelPackagesCommand,
  ResourceNotFound,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { describeServing, primaryVariant } from '../deployment/serving.ts';
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
  /**
   * The use case's endpoint: what it serves is the champion.
   * @default - none: the latest approved package
   */
  readonly endpointName?: string;
}

/** The package version of a model version (`<useCase>:v<N>`), or undefined for another form. */
export function packageVersionOf(modelVersion: string): number | undefined {
  const m = /:v(\d+)$/.exec(modelVersion);
  return m ? Number(m[1]) : undefined;
}

/** One version of a model package group. */
export interface PackageVersion {
  readonly version: number;
  readonly arn: string;
  /** `Approved`, `Rejected`, `PendingManualApproval`, or '' when SageMaker gave none. */
  readonly status: string;
}

/** Every version of the group, newest first. */
export async function packageVersions(sagemaker: SageMakerClient, group: string): Promise<PackageVersion[]> {
  const out: PackageVersion[] = [];
  let token: string | undefined;
  do {
    const page = await sagemaker.send(
      new ListModelPackagesCommand({ ModelPackageGroupName: group, MaxResults: 100, NextToken: token }),
    );
    for (const p of page.ModelPackageSummaryList ?? []) {
      if (p.ModelPackageVersion !== undefined && p.ModelPackageArn) {
        out.push({
          version: p.ModelPackageVersion,
          arn: p.ModelPackageArn,
          status: p.ModelApprovalStatus ?? '',
        });
      }
    }
    token = page.NextToken;
  } while (token);
  return out.sort((a, b) => b.version - a.version);
}

/** The ARN of version `version` of the group, or undefined when there is none. */
async function packageArnOf(o: FindChampionOptions, version: number): Promise<string | undefined> {
  return (await packageVersions(o.sagemaker, o.modelPackageGroup)).find((p) => p.version === version)?.arn;
}

/** The package serving on the endpoint, if one of this group's versions serves there. */
async function servingPackage(o: FindChampionOptions): Promise<{ arn: string; version: number } | undefined> {
  if (o.endpointName === undefined) return undefined;
  const version = packageVersionOf(
    primaryVariant(await describeServing(o.sagemaker, o.endpointName))?.modelVersion ?? '',
  );
  if (version === undefined) return undefined;
  const arn = await packageArnOf(o, version);
  return arn ? { arn, version } : undefined;
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
  latest = (await servingPackage(o)) ?? latest;
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
