/**
 * One prediction: the caller's entity IDs and request features, the online features read in one
 * BatchGetItem, encoded by the model version's own encoding (the code and vocabularies that
 * encoded its training set, so training/serving skew cannot arise), scored by the variant that
 * serves that version, and labelled with the use case's threshold.
 *
 * The body has the shape of a label event without its time and label, so the label path and the
 * prediction log pair the same features: `{ entities: { <group>: <id> }, request: { ... } }`.
 */
import { InvokeEndpointCommand, type SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import * as z from 'zod';
import type { UseCase } from '../config/use-case.ts';
import { InvalidInputError } from '../errors.ts';
import { getManyLatest, isPresent, type OnlineStoreOptions } from '../features/online-store.ts';
import { EntityIdSchema, type FeatureValue, featureValuesSchema } from '../features/records.ts';
import type { FieldProblem } from '../validation.ts';
import type { EndpointView, ServableVariant } from './endpoint-view.ts';

/** The request body of `POST /predict/{useCase}`, derived from the use case. */
export function predictInputSchema(useCase: UseCase) {
  const request = featureValuesSchema(useCase.requestFeatures);
  return z.strictObject({
    entities: z.strictObject(Object.fromEntries(useCase.featureGroups.map((g) => [g.name, EntityIdSchema]))),
    request: useCase.requestFeatures.length === 0 ? request.default({}) : request,
  });
}

/** A validated prediction request. */
export type PredictInput = z.infer<ReturnType<typeof predictInputSchema>>;

/** The answer of `POST /predict/{useCase}`. */
export interface Prediction {
  /** The request ID: quote it in `POST /feedback/{useCase}`. */
  readonly requestId: string;
  /** The model's probability of the positive class. */
  readonly score: number;
  /** 1 when `score >= threshold`. */
  readonly label: 0 | 1;
  readonly threshold: number;
  /** The model version that answered (the variant named in InvokeEndpoint). */
  readonly modelVersion: string;
}

/** A prediction with what produced it, for the prediction log and the metrics. */
export interface PredictionRecord extends Prediction {
  /** Every feature the model saw, by name (null when missing). */
  readonly features: Readonly<Record<string, FeatureValue>>;
  /** The encoded vector sent to the endpoint (CSV). */
  readonly encoded: string;
  readonly slot: ServableVariant['slot'];
  /** Milliseconds: reading the online features, and the InvokeEndpoint call. */
  readonly timings: { readonly featuresMs: number; readonly modelMs: number };
}

/** What a prediction needs. */
export interface PredictContext {
  readonly useCase: UseCase;
  readonly online: OnlineStoreOptions;
  readonly runtime: SageMakerRuntimeClient;
  readonly endpointName: string;
  readonly endpoint: EndpointView;
  /** @default Date.now */
  readonly now?: () => number;
}

/** The online features of every group, merged with the request features; a non-nullable miss is a 400. */
export async function gatherFeatures(
  ctx: Pick<PredictContext, 'useCase' | 'online' | 'now'>,
  input: PredictInput,
): Promise<Record<string, FeatureValue>> {
  const groups = ctx.useCase.featureGroups;
  const found = await getManyLatest(
    ctx.online,
    groups.map((g) => ({ group: g.name, entityId: input.entities[g.name] ?? '', ttlSeconds: g.ttlSeconds })),
    (ctx.now ?? Date.now)(),
  );
  const features: Record<string, FeatureValue> = {};
  const problems: FieldProblem[] = [];
  groups.forEach((group, i) => {
    const read = found[i];
    const values = read && isPresent(read) ? read.values : undefined;
    const why =
      read && !isPresent(read)
        ? read.reason === 'expired'
          ? `expired (eventTime ${read.eventTime}, ttl ${group.ttlSeconds}s)`
          : 'never written'
        : 'not in the stored record';
    for (const f of group.features) {
      const v = values?.[f.name];
      if (v !== undefined && v !== null) {
        features[f.name] = v;
      } else if (f.nullable) {
        features[f.name] = null;
      } else {
        problems.push({
          field: `entities.${group.name}`,
          problem: `feature group '${group.name}' has no servable value of '${f.name}' for this entity (${why}), and '${f.name}' is not nullable`,
          got: input.entities[group.name] ?? '',
        });
      }
    }
  });
  if (problems.length > 0) {
    throw new InvalidInputError('online features missing for this request', problems);
  }
  return { ...features, ...input.request };
}

/** Reads a score from the endpoint's answer (CSV: one number per line; JSON: `{predictions:[{score}]}`). */
export function parseScore(body: Uint8Array, contentType: string | undefined): number {
  const text = Buffer.from(body).toString('utf8').trim();
  let score: unknown;
  if ((contentType ?? '').includes('json')) {
    const parsed = JSON.parse(text) as { predictions?: { score?: unknown }[] };
    score = parsed.predictions?.[0]?.score;
  } else {
    score = Number(text.split(/[\n,]/)[0]);
  }
  if (typeof score !== 'number' || !Number.isFinite(score)) {
    throw new Error(`the endpoint answered ${JSON.stringify(text.slice(0, 100))}, not a score`);
  }
  return score;
}

/** Whether InvokeEndpoint refused a variant the view thought existed (the view is stale). */
function isUnknownVariant(e: unknown): boolean {
  return e instanceof Error && e.name === 'ValidationError' && /variant/i.test(e.message);
}

/** Answers one validated request. */
export async function predict(
  ctx: PredictContext,
  input: PredictInput,
  requestId: string,
): Promise<PredictionRecord> {
  const t0 = performance.now();
  const features = await gatherFeatures(ctx, input);
  const t1 = performance.now();
  const invoke = async (variant: ServableVariant, encoded: string) =>
    ctx.runtime.send(
      new InvokeEndpointCommand({
        EndpointName: ctx.endpointName,
        TargetVariant: variant.slot,
        ContentType: 'text/csv',
        Accept: 'text/csv',
        InferenceId: requestId,
        Body: Buffer.from(encoded),
      }),
    );
  let variant = await ctx.endpoint.pick();
  let encoded = variant.encode(features);
  let out: Awaited<ReturnType<typeof invoke>>;
  try {
    out = await invoke(variant, encoded);
  } catch (e) {
    // A deployment moved on since the view was read: read it again, once.
    if (!isUnknownVariant(e)) throw e;
    ctx.endpoint.invalidate();
    variant = await ctx.endpoint.pick();
    encoded = variant.encode(features);
    out = await invoke(variant, encoded);
  }
  const t2 = performance.now();
  if (!out.Body) throw new Error('the endpoint answered with no body');
  const score = parseScore(out.Body, out.ContentType);
  const threshold = ctx.useCase.gates.threshold;
  return {
    requestId,
    score,
    label: score >= threshold ? 1 : 0,
    threshold,
    modelVersion: variant.modelVersion,
    features,
    encoded,
    slot: variant.slot,
    timings: { featuresMs: t1 - t0, modelMs: t2 - t1 },
  };
}
