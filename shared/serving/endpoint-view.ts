/**
 * What the predict function knows of its endpoint: the variants of the current config, each with
 * the model version it serves and that version's encoding, read from SageMaker and kept for a few
 * seconds. A prediction picks its variant here, by the endpoint's current weights, and names the
 * variant in InvokeEndpoint (TargetVariant), so the version it reports is the one that answered.
 */

import type { S3Client } from '@aws-sdk/client-s3';
import type { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { describeServing, type EndpointServing, type ServingVariant } from '../deployment/serving.ts';
import { ServiceUnavailableError } from '../errors.ts';
import type { FeatureValue } from '../features/records.ts';
import type { Encoding } from '../pipeline/encoding.ts';
import { featureEncoder } from '../pipeline/encoding.ts';
import { parseS3Uri, readText } from '../s3.ts';

/** How long a DescribeEndpoint answer is trusted: a canary's weights change at most every bake round. */
export const ENDPOINT_VIEW_TTL_MS = 5_000;

/** One variant that can answer, with its version's encoder. */
export interface ServableVariant {
  readonly slot: ServingVariant['slot'];
  readonly modelVersion: string;
  readonly weight: number;
  readonly encoding: Encoding;
  readonly encode: (features: Readonly<Record<string, FeatureValue>>) => string;
}

/** The endpoint cannot answer now (none yet, or not in service); safe to retry later. */
export class EndpointNotServingError extends ServiceUnavailableError {
  override readonly name: string = 'EndpointNotServingError';
}

/** Options of {@link EndpointView}. */
export interface EndpointViewOptions {
  readonly sagemaker: SageMakerClient;
  readonly s3: S3Client;
  readonly endpointName: string;
  /** @default ENDPOINT_VIEW_TTL_MS */
  readonly ttlMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default Math.random */
  readonly random?: () => number;
}

/** A cached view of one endpoint's variants. */
export class EndpointView {
  private cached: { at: number; variants: Promise<ServableVariant[]> } | undefined;
  /** Encodings by S3 URI: each run writes its own once, so an entry never goes stale. */
  private readonly encodings = new Map<string, Promise<Encoding>>();

  constructor(private readonly o: EndpointViewOptions) {}

  /** Drops the cached DescribeEndpoint answer (after a variant was not found, for example). */
  invalidate(): void {
    this.cached = undefined;
  }

  /** The variants that can answer now. */
  async variants(): Promise<ServableVariant[]> {
    const now = (this.o.now ?? Date.now)();
    if (!this.cached || now - this.cached.at >= (this.o.ttlMs ?? ENDPOINT_VIEW_TTL_MS)) {
      const variants = this.load();
      this.cached = { at: now, variants };
      // A failed read is not kept: the next prediction asks again.
      variants.catch(() => {
        if (this.cached?.variants === variants) this.cached = undefined;
      });
    }
    return this.cached.variants;
  }

  /** One variant, drawn by the endpoint's current weights. */
  async pick(): Promise<ServableVariant> {
    const variants = (await this.variants()).filter((v) => v.weight > 0);
    const total = variants.reduce((sum, v) => sum + v.weight, 0);
    let roll = (this.o.random ?? Math.random)() * total;
    for (const v of variants) {
      roll -= v.weight;
      if (roll < 0) return v;
    }
    const last = variants.at(-1);
    if (!last)
      throw new EndpointNotServingError(`endpoint ${this.o.endpointName} has no variant with traffic`);
    return last;
  }

  private async load(): Promise<ServableVariant[]> {
    const serving: EndpointServing | undefined = await describeServing(this.o.sagemaker, this.o.endpointName);
    if (!serving)
      throw new EndpointNotServingError(
        `no model is deployed yet (endpoint ${this.o.endpointName} does not exist)`,
      );
    if (serving.variants.length === 0) {
      throw new EndpointNotServingError(
        `endpoint ${this.o.endpointName} is ${serving.status} and serves no variant yet`,
      );
    }
    return Promise.all(
      serving.variants.map(async (v) => {
        if (v.modelVersion === null || v.encodingUri === null) {
          throw new Error(
            `variant ${v.slot} of ${this.o.endpointName} serves model ${v.modelName}, which the deploy machine did not create (no model version or encoding in its environment)`,
          );
        }
        const encoding = await this.encoding(v.encodingUri);
        return {
          slot: v.slot,
          modelVersion: v.modelVersion,
          weight: v.weight,
          encoding,
          encode: featureEncoder(encoding),
        };
      }),
    );
  }

  private encoding(uri: string): Promise<Encoding> {
    let found = this.encodings.get(uri);
    if (!found) {
      found = readText(this.o.s3, parseS3Uri(uri)).then((text) => JSON.parse(text) as Encoding);
      this.encodings.set(uri, found);
      found.catch(() => this.encodings.delete(uri));
    }
    return found;
  }
}
