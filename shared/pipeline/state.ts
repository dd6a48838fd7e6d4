/**
 * Reading the state machine's state: each step takes the whole state and parses only the parts
 * it needs, at the JSONPath the contract names, so a wiring mistake fails with the path in the
 * message rather than as an undefined deep inside a step.
 */
import type { z } from 'zod';
import { formatProblems, toFieldProblems } from '../validation.ts';
import { STATE_PARTS, type StatePart } from './steps.ts';

/** The state lacks a part a step needs, or the part does not match its contract. */
export class PipelineStateError extends Error {
  override readonly name: string = 'PipelineStateError';
}

/** The parsed type of a part. */
export type StateValue<K extends StatePart> = z.infer<(typeof STATE_PARTS)[K]>;

/** Parses `$.<part>`, throwing PipelineStateError naming the path when absent or malformed. */
export function statePart<K extends StatePart>(
  state: Readonly<Record<string, unknown>>,
  part: K,
): StateValue<K> {
  const value = state[part];
  if (value === undefined || value === null) {
    throw new PipelineStateError(
      `the state has no $.${part}; the step before it did not store its result there`,
    );
  }
  const parsed = STATE_PARTS[part].safeParse(value, { reportInput: true });
  if (!parsed.success) {
    throw new PipelineStateError(
      `$.${part} does not match its contract:\n${formatProblems(toFieldProblems(parsed.error), '  ')}`,
    );
  }
  return parsed.data as StateValue<K>;
}

/** Like {@link statePart}, but undefined when the part is absent (it must still be valid when present). */
export function optionalStatePart<K extends StatePart>(
  state: Readonly<Record<string, unknown>>,
  part: K,
): StateValue<K> | undefined {
  const value = state[part];
  return value === undefined || value === null ? undefined : statePart(state, part);
}
