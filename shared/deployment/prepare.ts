/**
 * PrepareDeployment: decides a deployment once, before anything changes on the endpoint. It
 * refuses a package that is not approved, reads what serves now, creates the serving model (with
 * the version and its encoding in the environment) and the endpoint configs, and records
 * DeploymentStarted. Every name derives from the execution, so a retried step creates nothing twice.
 */
import {
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DescribeModelPackageCommand,
  type ProductionVariant,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import type { UseCase } from '../config/use-case.ts';
import type { LedgerWriter } from '../ledger/append.ts';
import type { DeploymentStarted } from '../ledger/events.ts';
import { S3UriSchema } from '../pipeline/contracts.ts';
import { modelVersionOf } from '../pipeline/find-champion.ts';
import { appendOnce } from '../pipeline/ledger.ts';
import type { DeployInput, DeploymentPlan } from './contracts.ts';
import {
  alarmsWatchedFor,
  allAlarms,
  type DeploymentAlarmNames,
  deploymentIdOf,
  endpointConfigNameOf,
  otherSlot,
  SERVING_MODEL_ENV,
  type Slot,
  servingModelName,
} from './names.ts';
import { describeServing, primaryVariant } from './serving.ts';

/** The deployment cannot start: the package may not serve, or the endpoint is busy. */
export class DeploymentRefusedError extends Error {
  override readonly name: string = 'DeploymentRefusedError';
}

/** What PrepareDeployment needs. */
export interface PrepareDeploymentOptions {
  readonly sagemaker: SageMakerClient;
  readonly ledger: LedgerWriter;
  readonly useCase: UseCase;
  readonly endpointName: string;
  readonly modelPackageGroup: string;
  /** Role the serving model runs as. */
  readonly roleArn: string;
  /** Encrypts the instances' storage volumes (instance mode). */
  readonly dataKeyArn: string;
  /** Where data capture writes, when the mode has it and the use case samples. */
  readonly dataCaptureUri: string;
  readonly alarms: DeploymentAlarmNames;
  readonly executionName: string;
  readonly input: DeployInput;
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** Whether SageMaker refused a create because the resource exists (a retried step). */
function alreadyExists(e: unknown): boolean {
  return e instanceof Error && e.name === 'ValidationException' && /already exist/i.test(e.message);
}

async function createOnce(send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (e) {
    if (!alreadyExists(e)) throw e;
  }
}

/** The package's version, container and encoding, refusing anything that may not serve. */
async function approvedPackage(o: PrepareDeploymentOptions) {
  const arn = o.input.modelPackageArn;
  const pkg = await o.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: arn }));
  if (pkg.ModelPackageGroupName !== undefined && pkg.ModelPackageGroupName !== o.modelPackageGroup) {
    throw new DeploymentRefusedError(
      `model package ${arn} belongs to group ${pkg.ModelPackageGroupName}, not to ${o.modelPackageGroup}`,
    );
  }
  if (pkg.ModelApprovalStatus !== 'Approved') {
    throw new DeploymentRefusedError(
      `model package ${arn} is ${pkg.ModelApprovalStatus ?? 'without a status'}; only an approved version may serve`,
    );
  }
  const container = pkg.InferenceSpecification?.Containers?.[0];
  const encodingUri = S3UriSchema.safeParse(pkg.CustomerMetadataProperties?.encodingUri);
  if (pkg.ModelPackageVersion === undefined || !container?.Image || !container.ModelDataUrl) {
    throw new DeploymentRefusedError(`model package ${arn} has no version, image or model data to serve`);
  }
  if (!encodingUri.success) {
    throw new DeploymentRefusedError(
      `model package ${arn} has no encodingUri in its metadata: requests could not be encoded as its training set was`,
    );
  }
  return {
    version: pkg.ModelPackageVersion,
    image: container.Image,
    modelDataUrl: container.ModelDataUrl,
    encodingUri: encodingUri.data,
  };
}

/** The variant fields of the use case's deployment mode. */
function variantOf(useCase: UseCase, slot: Slot, modelName: string, weight: number): ProductionVariant {
  const d = useCase.deployment;
  return d.mode === 'instance'
    ? {
        VariantName: slot,
        ModelName: modelName,
        InitialVariantWeight: weight,
        InstanceType: d.instanceType as ProductionVariant['InstanceType'],
        InitialInstanceCount: d.initialInstanceCount,
      }
    : {
        VariantName: slot,
        ModelName: modelName,
        InitialVariantWeight: weight,
        ServerlessConfig: { MemorySizeInMB: d.memorySizeMb, MaxConcurrency: d.maxConcurrency },
      };
}

/** Runs PrepareDeployment. */
export async function prepareDeployment(o: PrepareDeploymentOptions): Promise<DeploymentPlan> {
  const pkg = await approvedPackage(o);
  const modelVersion = modelVersionOf(o.useCase.name, pkg.version);
  const serving = await describeServing(o.sagemaker, o.endpointName);
  if (serving && serving.status !== 'InService') {
    throw new DeploymentRefusedError(
      `endpoint ${o.endpointName} is ${serving.status}; wait for the deployment in progress to end`,
    );
  }
  const current = primaryVariant(serving);
  const previous =
    serving && current?.modelVersion
      ? { modelVersion: current.modelVersion, slot: current.slot, configName: serving.configName }
      : null;
  const deploymentId = deploymentIdOf(o.endpointName, o.executionName);
  const slot = otherSlot(previous?.slot);
  const modelName = servingModelName(o.modelPackageGroup, pkg.version);
  const d = o.useCase.deployment;
  // Serverless variants cannot split traffic by weight: the new version takes it all and is watched.
  // A rollback returns to a version that served before, in one step: it is watched, not canaried.
  const canary = previous !== null && d.mode === 'instance' && o.input.trigger !== 'rollback';
  const fullConfig = endpointConfigNameOf(o.endpointName, deploymentId, 'full');
  const firstConfig = canary ? endpointConfigNameOf(o.endpointName, deploymentId, 'canary') : fullConfig;
  const alreadyServing = previous?.modelVersion === modelVersion && (serving?.variants.length ?? 0) === 1;
  const plan: DeploymentPlan = {
    deploymentId,
    endpointName: o.endpointName,
    endpointExists: serving !== undefined,
    modelVersion,
    modelPackageArn: o.input.modelPackageArn,
    modelName,
    slot,
    previous,
    strategy: {
      kind: canary ? 'canary' : 'all-at-once',
      canaryPercent: canary ? d.canary.percent : 100,
      // A first deployment has nothing to return to: it is verified, not baked.
      bakeSeconds: previous === null ? 0 : d.canary.bakeMinutes * 60,
    },
    firstConfig,
    fullConfig,
    alarms: alarmsWatchedFor(o.alarms, slot),
    autoRollbackAlarms: allAlarms(o.alarms).map((AlarmName) => ({ AlarmName })),
    alreadyServing,
    encodingUri: pkg.encodingUri,
  };
  if (alreadyServing) return plan;

  await createOnce(() =>
    o.sagemaker.send(
      new CreateModelCommand({
        ModelName: modelName,
        PrimaryContainer: {
          Image: pkg.image,
          ModelDataUrl: pkg.modelDataUrl,
          Environment: {
            [SERVING_MODEL_ENV.modelVersion]: modelVersion,
            [SERVING_MODEL_ENV.encodingUri]: pkg.encodingUri,
          },
        },
        ExecutionRoleArn: o.roleArn,
      }),
    ),
  );
  // Storage-volume encryption and data capture exist only for instances.
  const kms =
    d.mode === 'instance'
      ? {
          KmsKeyId: o.dataKeyArn,
          ...(d.dataCapturePercent > 0
            ? {
                DataCaptureConfig: {
                  EnableCapture: true,
                  InitialSamplingPercentage: d.dataCapturePercent,
                  DestinationS3Uri: o.dataCaptureUri,
                  KmsKeyId: o.dataKeyArn,
                  CaptureOptions: [{ CaptureMode: 'Input' as const }, { CaptureMode: 'Output' as const }],
                  CaptureContentTypeHeader: { CsvContentTypes: ['text/csv'] },
                },
              }
            : {}),
        }
      : {};
  const full = [variantOf(o.useCase, slot, modelName, 1)];
  await createOnce(() =>
    o.sagemaker.send(
      new CreateEndpointConfigCommand({ EndpointConfigName: fullConfig, ProductionVariants: full, ...kms }),
    ),
  );
  if (canary && current) {
    const p = d.canary.percent;
    await createOnce(() =>
      o.sagemaker.send(
        new CreateEndpointConfigCommand({
          EndpointConfigName: firstConfig,
          ProductionVariants: [
            variantOf(o.useCase, current.slot, current.modelName, 100 - p),
            variantOf(o.useCase, slot, modelName, p),
          ],
          ...kms,
        }),
      ),
    );
  }

  const event: DeploymentStarted = {
    type: 'DeploymentStarted',
    eventId: `${deploymentId}-started`,
    actor: o.input.actor,
    time: (o.now ?? (() => new Date()))().toISOString(),
    useCase: o.useCase.name,
    deploymentId,
    modelVersion,
    endpointName: o.endpointName,
    ...(previous ? { previousModelVersion: previous.modelVersion } : {}),
    endpointConfigName: firstConfig,
    trigger: o.input.trigger,
    reason: o.input.reason,
    strategy: {
      kind: plan.strategy.kind,
      ...(canary ? { canaryPercent: plan.strategy.canaryPercent } : {}),
      bakeMinutes: plan.strategy.bakeSeconds / 60,
    },
  };
  await appendOnce(o.ledger, event);
  return plan;
}
