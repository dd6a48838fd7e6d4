/**
 * ScaleEndpoint: after a deployment ends, target-tracking autoscaling on the variant that serves
 * (invocations per instance, min and max from the use case), and none on the other slot. Slots
 * alternate, so this keeps one registration across updates: the variant that serves is the one
 * scaled. Serverless endpoints scale on their own (MaxConcurrency) and get none.
 */
import {
  type ApplicationAutoScalingClient,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from '@aws-sdk/client-application-auto-scaling';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import type { UseCase } from '../config/use-case.ts';
import type { ScalingResult } from './contracts.ts';
import { otherSlot, type Slot } from './names.ts';
import { describeServing, primaryVariant } from './serving.ts';

/** SageMaker's scalable dimension of a production variant. */
export const VARIANT_DIMENSION = 'sagemaker:variant:DesiredInstanceCount' as const;

/** Application Auto Scaling's resource ID of one variant. */
export function variantResourceId(endpointName: string, slot: Slot): string {
  return `endpoint/${endpointName}/variant/${slot}`;
}

/** What ScaleEndpoint needs. */
export interface ScaleEndpointOptions {
  readonly autoscaling: ApplicationAutoScalingClient;
  readonly sagemaker: SageMakerClient;
  readonly useCase: UseCase;
  readonly endpointName: string;
}

/** Runs ScaleEndpoint. */
export async function scaleEndpoint(o: ScaleEndpointOptions): Promise<ScalingResult> {
  const d = o.useCase.deployment;
  if (d.mode !== 'instance' || !d.autoscaling) {
    return {
      registered: null,
      reason: d.mode === 'instance' ? 'the use case sets no autoscaling' : 'serverless',
    };
  }
  const serving = primaryVariant(await describeServing(o.sagemaker, o.endpointName));
  if (!serving) return { registered: null, reason: `nothing serves on ${o.endpointName}` };
  const resourceId = variantResourceId(o.endpointName, serving.slot);
  const idle = variantResourceId(o.endpointName, otherSlot(serving.slot));
  const target = { ServiceNamespace: 'sagemaker' as const, ScalableDimension: VARIANT_DIMENSION };
  await o.autoscaling.send(
    new RegisterScalableTargetCommand({
      ...target,
      ResourceId: resourceId,
      MinCapacity: d.autoscaling.minCapacity,
      MaxCapacity: d.autoscaling.maxCapacity,
    }),
  );
  await o.autoscaling.send(
    new PutScalingPolicyCommand({
      ...target,
      ResourceId: resourceId,
      PolicyName: `${o.endpointName}-${serving.slot}-invocations`,
      PolicyType: 'TargetTrackingScaling',
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: d.autoscaling.targetInvocationsPerInstance,
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      },
    }),
  );
  // The other slot no longer serves: its registration (and with it its policy) goes.
  const existing = await o.autoscaling.send(
    new DescribeScalableTargetsCommand({ ServiceNamespace: 'sagemaker', ResourceIds: [idle] }),
  );
  let deregistered: string | null = null;
  if ((existing.ScalableTargets ?? []).length > 0) {
    await o.autoscaling.send(new DeregisterScalableTargetCommand({ ...target, ResourceId: idle }));
    deregistered = idle;
  }
  return {
    registered: {
      resourceId,
      minCapacity: d.autoscaling.minCapacity,
      maxCapacity: d.autoscaling.maxCapacity,
      targetInvocationsPerInstance: d.autoscaling.targetInvocationsPerInstance,
    },
    deregistered,
    reason: `target tracking on ${serving.slot} (serving ${serving.modelVersion ?? 'an unknown version'})`,
  };
}
