/**
 * The label routes' HTTP contract: `POST /labels/{useCase}`, its request parsing and its answer,
 * in one place for the construct that creates the route, the handler and the OpenAPI document.
 */
import * as z from 'zod';
import { ResourceNameSchema } from '../config/use-case.ts';
import { NotFoundError } from '../errors.ts';
import { parseOrThrow } from '../features/api.ts';
import { jsonText, type Rejection } from '../validation.ts';
import { LabelBatchBodySchema, type LabelContract, LabelContractSchema, MAX_LABEL_BATCH } from './schema.ts';
import type { LabelResult } from './store.ts';

/** Every label route. */
export const LABEL_ROUTES = {
  batch: { method: 'POST', path: '/labels/{useCase}' },
} as const;

/** Path parameters of the label routes. */
export const UseCasePathSchema = z.strictObject({ useCase: ResourceNameSchema });

/** A request named a use case the deployment does not have (HTTP 404). */
export class UnknownUseCaseError extends NotFoundError {
  override readonly name = 'UnknownUseCaseError';
}

/** Finds the use case's label contract or fails with a 404 naming the known ones. */
export function contractOrThrow(contracts: ReadonlyMap<string, LabelContract>, name: string): LabelContract {
  const contract = contracts.get(name);
  if (!contract) {
    throw new UnknownUseCaseError(
      `useCase: unknown use case '${name}'; known use cases: ${[...contracts.keys()].join(', ')}`,
    );
  }
  return contract;
}

/** Parses the batch envelope (not the events, which are accepted or rejected one by one). */
export function parseLabelBatch(body: unknown): { labels: unknown[] } {
  return parseOrThrow(LabelBatchBodySchema, body, `label batch (at most ${MAX_LABEL_BATCH} labels)`);
}

/** Answer of `POST /labels/{useCase}`. */
export interface LabelBatchResponse {
  readonly useCase: string;
  readonly accepted: number;
  readonly rejected: readonly Rejection[];
  readonly results: readonly LabelResult[];
}

/** Environment of the label functions; LABEL_CONTRACTS is the JSON the construct writes. */
export const LabelStoreEnvSchema = z.object({
  DATASETS_BUCKET: z.string().min(1),
  LABEL_CONTRACTS: jsonText(z.array(LabelContractSchema), 'an array of label contracts'),
});
