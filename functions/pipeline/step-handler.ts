/**
 * The middy chain of every training-pipeline step (a `lambda:invoke` task with payload
 * `{runId, state: $, ...}`): the base chain (keys reset per invocation), then the payload parsed
 * with the step's schema. The step's return value is the task result (payloadResponseOnly).
 */
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import type { LedgerWriter } from '../../shared/ledger/append.ts';
import { kmsSigner } from '../../shared/ledger/signing.ts';
import { PipelineStateError } from '../../shared/pipeline/state.ts';
import { formatProblems, toFieldProblems } from '../../shared/validation.ts';
import { documentClient, kmsClient } from '../shared/clients.ts';
import { baseChain, logger } from '../shared/observability.ts';

/** Wraps a step body in the shared chain; the payload is parsed before the body runs. */
export function stepHandler<S extends z.ZodType<{ runId: string }>, R>(
  schema: S,
  body: (payload: z.infer<S>, context: Context) => Promise<R>,
) {
  return baseChain<unknown, R>({ resetKeys: true }).handler(async (raw, context) => {
    const parsed = schema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      throw new PipelineStateError(
        `the step payload does not match its contract:\n${formatProblems(toFieldProblems(parsed.error), '  ')}`,
      );
    }
    logger.appendKeys({ runId: parsed.data.runId });
    return body(parsed.data, context);
  });
}

/** The ledger the pipeline appends to, signing with the ledger's KMS key (AWS_ENDPOINT_URL_KMS). */
export function ledgerLocation(env: {
  LEDGER_TABLE: string;
  LEDGER_CHAIN: string;
  LEDGER_SIGNING_KEY: string;
}): LedgerWriter {
  return {
    client: documentClient(),
    tableName: env.LEDGER_TABLE,
    chain: env.LEDGER_CHAIN,
    signer: kmsSigner(kmsClient(), env.LEDGER_SIGNING_KEY),
  };
}
