/**
 * The local Application Auto Scaling: scalable targets and scaling policies, recorded as the API
 * (AWS JSON 1.1, `X-Amz-Target: AnyScaleFrontendService.<Op>`) records them. Nothing scales
 * locally (the SageMaker emulator ignores instance counts); tests read what was registered.
 */
import { createServer } from 'node:http';
import { AwsApiError, listenLocal, readBody, sendAwsJson, sendAwsJsonError } from './http.ts';
import type { LocalPlacement } from './model.ts';

/** One registered scalable target. */
export interface LocalScalableTarget {
  readonly serviceNamespace: string;
  readonly resourceId: string;
  readonly scalableDimension: string;
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly creationTime: Date;
}

/** One scaling policy on a target. */
export interface LocalScalingPolicy {
  readonly policyName: string;
  readonly serviceNamespace: string;
  readonly resourceId: string;
  readonly scalableDimension: string;
  readonly policyType: string;
  /** The request's configuration, as sent. */
  readonly configuration: Readonly<Record<string, unknown>>;
  readonly arn: string;
}

/** A running Application Auto Scaling emulator. */
export interface AutoScalingEmulator {
  readonly endpoint: string;
  readonly port: number;
  /** Registered targets, in registration order. */
  targets(): LocalScalableTarget[];
  policies(): LocalScalingPolicy[];
  stop(): Promise<void>;
}

const TARGET_PREFIX = 'AnyScaleFrontendService.';

function text(body: Record<string, unknown>, key: string): string {
  const v = body[key];
  if (typeof v !== 'string' || v === '') {
    throw new AwsApiError('ValidationException', `1 validation error detected: ${key} must not be null`);
  }
  return v;
}

/** Starts the emulator on 127.0.0.1. */
export async function startAutoScaling(options: {
  readonly placement: LocalPlacement;
  readonly port?: number;
}): Promise<AutoScalingEmulator> {
  const targets = new Map<string, LocalScalableTarget>();
  const policies = new Map<string, LocalScalingPolicy>();
  const keyOf = (b: Record<string, unknown>) =>
    `${text(b, 'ServiceNamespace')}|${text(b, 'ResourceId')}|${text(b, 'ScalableDimension')}`;
  const operations: Readonly<Record<string, (b: Record<string, unknown>) => unknown>> = {
    RegisterScalableTarget: (b) => {
      const key = keyOf(b);
      const existing = targets.get(key);
      const min = typeof b.MinCapacity === 'number' ? b.MinCapacity : existing?.minCapacity;
      const max = typeof b.MaxCapacity === 'number' ? b.MaxCapacity : existing?.maxCapacity;
      if (min === undefined || max === undefined) {
        throw new AwsApiError(
          'ValidationException',
          'MinCapacity and MaxCapacity are required for a new target',
        );
      }
      if (min > max) throw new AwsApiError('ValidationException', 'MinCapacity must not exceed MaxCapacity');
      targets.set(key, {
        serviceNamespace: text(b, 'ServiceNamespace'),
        resourceId: text(b, 'ResourceId'),
        scalableDimension: text(b, 'ScalableDimension'),
        minCapacity: min,
        maxCapacity: max,
        creationTime: existing?.creationTime ?? new Date(),
      });
      return {};
    },
    DeregisterScalableTarget: (b) => {
      const key = keyOf(b);
      if (!targets.delete(key))
        throw new AwsApiError(
          'ObjectNotFoundException',
          `No scalable target found for ${text(b, 'ResourceId')}`,
        );
      // Deregistering a target deletes its policies, as AWS does.
      for (const [name, p] of policies)
        if (`${p.serviceNamespace}|${p.resourceId}|${p.scalableDimension}` === key) policies.delete(name);
      return {};
    },
    DescribeScalableTargets: (b) => {
      const ns = text(b, 'ServiceNamespace');
      const ids = Array.isArray(b.ResourceIds) ? b.ResourceIds.map(String) : undefined;
      return {
        ScalableTargets: [...targets.values()]
          .filter((t) => t.serviceNamespace === ns && (ids === undefined || ids.includes(t.resourceId)))
          .map((t) => ({
            ServiceNamespace: t.serviceNamespace,
            ResourceId: t.resourceId,
            ScalableDimension: t.scalableDimension,
            MinCapacity: t.minCapacity,
            MaxCapacity: t.maxCapacity,
            CreationTime: t.creationTime.getTime() / 1000,
            RoleARN: `arn:aws:iam::${options.placement.account}:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint`,
          })),
      };
    },
    PutScalingPolicy: (b) => {
      const key = keyOf(b);
      if (!targets.has(key)) {
        throw new AwsApiError(
          'ObjectNotFoundException',
          `No scalable target registered for ${text(b, 'ResourceId')}`,
        );
      }
      const policyName = text(b, 'PolicyName');
      const arn = `arn:aws:autoscaling:${options.placement.region}:${options.placement.account}:scalingPolicy:local:resource/${text(b, 'ServiceNamespace')}/${text(b, 'ResourceId')}:policyName/${policyName}`;
      const configuration = (b.TargetTrackingScalingPolicyConfiguration ??
        b.StepScalingPolicyConfiguration ??
        {}) as Record<string, unknown>;
      policies.set(`${key}|${policyName}`, {
        policyName,
        serviceNamespace: text(b, 'ServiceNamespace'),
        resourceId: text(b, 'ResourceId'),
        scalableDimension: text(b, 'ScalableDimension'),
        policyType: typeof b.PolicyType === 'string' ? b.PolicyType : 'StepScaling',
        configuration,
        arn,
      });
      return { PolicyARN: arn, Alarms: [] };
    },
    DescribeScalingPolicies: (b) => {
      const ns = text(b, 'ServiceNamespace');
      return {
        ScalingPolicies: [...policies.values()]
          .filter(
            (p) =>
              p.serviceNamespace === ns &&
              (typeof b.ResourceId !== 'string' || p.resourceId === b.ResourceId),
          )
          .map((p) => ({
            PolicyARN: p.arn,
            PolicyName: p.policyName,
            ServiceNamespace: p.serviceNamespace,
            ResourceId: p.resourceId,
            ScalableDimension: p.scalableDimension,
            PolicyType: p.policyType,
            ...(p.policyType === 'TargetTrackingScaling'
              ? { TargetTrackingScalingPolicyConfiguration: p.configuration }
              : { StepScalingPolicyConfiguration: p.configuration }),
          })),
      };
    },
  };
  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        const target = String(req.headers['x-amz-target'] ?? '');
        const handler = target.startsWith(TARGET_PREFIX)
          ? operations[target.slice(TARGET_PREFIX.length)]
          : undefined;
        if (!handler)
          throw new AwsApiError(
            'UnknownOperationException',
            `The local Application Auto Scaling does not implement ${target}`,
          );
        let body: Record<string, unknown>;
        try {
          body = raw.length === 0 ? {} : (JSON.parse(raw.toString('utf8')) as Record<string, unknown>);
        } catch {
          throw new AwsApiError('SerializationException', 'The request body is not valid JSON.');
        }
        sendAwsJson(res, 200, handler(body));
      })
      .catch((e: unknown) =>
        sendAwsJsonError(
          res,
          e instanceof AwsApiError ? e : new AwsApiError('InternalServiceException', 'Internal error', 500),
        ),
      );
  });
  const { endpoint, port, close } = await listenLocal(server, options.port);
  return {
    endpoint,
    port,
    targets: () => [...targets.values()],
    policies: () => [...policies.values()],
    stop: close,
  };
}
