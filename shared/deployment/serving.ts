/**
 * What an endpoint serves, read from SageMaker (the source of truth): its status, its current
 * endpoint config, and for each variant the model version its model was created for. Every
 * serving model carries its version in its environment (SERVING_MODEL_ENV), so the answer never
 * depends on a record kept beside SageMaker.
 */
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  type SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { isSlot, SERVING_MODEL_ENV, type Slot } from './names.ts';

/** One variant of the current config. */
export interface ServingVariant {
  readonly slot: Slot;
  readonly modelName: string;
  /** `null` for a model we did not create (no version in its environment). */
  readonly modelVersion: string | null;
  readonly encodingUri: string | null;
  /** DescribeEndpoint's CurrentWeight (the config's initial weight until the endpoint reports one). */
  readonly weight: number;
}

/** An endpoint as it is now. */
export interface EndpointServing {
  readonly endpointName: string;
  readonly status: string;
  readonly configName: string;
  readonly failureReason?: string;
  readonly variants: readonly ServingVariant[];
}

/** Whether SageMaker said the endpoint does not exist. */
export function isMissingEndpoint(e: unknown): boolean {
  // SageMaker answers an unknown endpoint with a ValidationException, which has no SDK class.
  return e instanceof Error && e.name === 'ValidationException' && /could not find endpoint/i.test(e.message);
}

/** What `endpointName` serves, or undefined when there is no such endpoint. */
export async function describeServing(
  sagemaker: SageMakerClient,
  endpointName: string,
): Promise<EndpointServing | undefined> {
  let endpoint: Awaited<ReturnType<typeof describe>>;
  try {
    endpoint = await describe(sagemaker, endpointName);
  } catch (e) {
    if (isMissingEndpoint(e)) return undefined;
    throw e;
  }
  const configName = endpoint.EndpointConfigName ?? '';
  const config = await sagemaker.send(new DescribeEndpointConfigCommand({ EndpointConfigName: configName }));
  const weights = new Map((endpoint.ProductionVariants ?? []).map((v) => [v.VariantName, v.CurrentWeight]));
  const variants: ServingVariant[] = [];
  for (const v of config.ProductionVariants ?? []) {
    if (!isSlot(v.VariantName) || v.ModelName === undefined) continue;
    const model = await sagemaker.send(new DescribeModelCommand({ ModelName: v.ModelName }));
    const env = model.PrimaryContainer?.Environment ?? model.Containers?.[0]?.Environment ?? {};
    variants.push({
      slot: v.VariantName,
      modelName: v.ModelName,
      modelVersion: env[SERVING_MODEL_ENV.modelVersion] ?? null,
      encodingUri: env[SERVING_MODEL_ENV.encodingUri] ?? null,
      weight: weights.get(v.VariantName) ?? v.InitialVariantWeight ?? 1,
    });
  }
  return {
    endpointName,
    status: endpoint.EndpointStatus ?? 'Unknown',
    configName,
    ...(endpoint.FailureReason === undefined ? {} : { failureReason: endpoint.FailureReason }),
    variants,
  };
}

function describe(sagemaker: SageMakerClient, endpointName: string) {
  return sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpointName }));
}

/** The variant that carries most of the traffic: what "the serving version" means during a canary too. */
export function primaryVariant(serving: EndpointServing | undefined): ServingVariant | undefined {
  let best: ServingVariant | undefined;
  for (const v of serving?.variants ?? []) if (!best || v.weight > best.weight) best = v;
  return best;
}
