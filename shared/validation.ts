/**
 * Turns zod issues into messages that name the field, the bad value and what is expected.
 * Used at synth (config errors) and at the API edge (4xx bodies), so both read the same way.
 */
import * as z from 'zod';
import { InvalidInputError } from './errors.ts';

/** One problem with one field. */
export interface FieldProblem {
  /** Dotted path with indexes, for example `featureGroups[0].ttlSeconds`. */
  readonly field: string;
  /** What is wrong and what is expected. */
  readonly problem: string;
  /** The offending value as JSON, when zod reported it. */
  readonly got?: string;
}

/** Renders a zod path as `a.b[0].c`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(root)' : out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  if (json === undefined) return String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

function describe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? `is required (${issue.expected})` : `must be a ${issue.expected}`;
    case 'too_small': {
      const op = issue.inclusive === false ? '>' : '>=';
      if (issue.origin === 'array') return `must have at least ${issue.minimum} item(s)`;
      if (issue.origin === 'string') return `must be at least ${issue.minimum} character(s) long`;
      return `must be ${op} ${issue.minimum}`;
    }
    case 'too_big': {
      const op = issue.inclusive === false ? '<' : '<=';
      if (issue.origin === 'array') return `must have at most ${issue.maximum} item(s)`;
      if (issue.origin === 'string') return `must be at most ${issue.maximum} character(s) long`;
      return `must be ${op} ${issue.maximum}`;
    }
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `has unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}; remove them or check the spelling`;
    case 'invalid_union':
      if ('options' in issue && issue.options && issue.options.length > 0) {
        return `must be one of ${issue.options.map((v) => JSON.stringify(v)).join(', ')}`;
      }
      return 'does not match any allowed shape';
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    default:
      return issue.message;
  }
}

/** Flattens zod issues (including union branches) into field problems. */
export function toFieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => {
    const problem: FieldProblem = { field: formatPath(issue.path), problem: describe(issue) };
    if (!('input' in issue) || issue.code === 'unrecognized_keys') return problem;
    // For a bad discriminator zod reports the whole object; the discriminator's own value says more.
    const input =
      issue.code === 'invalid_union' && issue.discriminator !== undefined && isRecord(issue.input)
        ? issue.input[issue.discriminator]
        : issue.input;
    return { ...problem, got: show(input) };
  });
}

/** One line per problem: `field: problem, got value`. */
export function formatProblems(problems: readonly FieldProblem[], prefix = ''): string {
  return problems
    .map((p) => `${prefix}${p.field}: ${p.problem}${p.got === undefined ? '' : `, got ${p.got}`}`)
    .join('\n');
}

/** An item of a batch or bulk file that failed validation, with every problem. */
export interface Rejection {
  /** Position in the request, or line number in a bulk file. */
  readonly index: number;
  readonly problems: readonly FieldProblem[];
}

/**
 * Validates each raw item with `schema` and builds the accepted ones; never throws on a bad item.
 * Indexes are positions in `raw` plus `indexOffset`.
 */
export function validateEach<S extends z.ZodType, R>(
  schema: S,
  raw: readonly unknown[],
  build: (parsed: z.output<S>) => R,
  indexOffset = 0,
): { accepted: R[]; acceptedIndexes: number[]; rejected: Rejection[] } {
  const accepted: R[] = [];
  const acceptedIndexes: number[] = [];
  const rejected: Rejection[] = [];
  raw.forEach((item, i) => {
    const parsed = schema.safeParse(item, { reportInput: true });
    if (parsed.success) {
      accepted.push(build(parsed.data));
      acceptedIndexes.push(i + indexOffset);
    } else {
      rejected.push({ index: i + indexOffset, problems: toFieldProblems(parsed.error) });
    }
  });
  return { accepted, acceptedIndexes, rejected };
}

/**
 * Every problem of a batch where nothing was valid, each field prefixed with its item's place
 * (`records[3].values.hour`), for the 400 that says nothing was written.
 */
export function batchProblems(list: string, rejected: readonly Rejection[]): FieldProblem[] {
  return rejected.flatMap((r) => r.problems.map((p) => ({ ...p, field: `${list}[${r.index}].${p.field}` })));
}

/**
 * An environment variable (or any string) holding JSON that must match `schema`; `what` names it
 * in the error, for example "the use case".
 */
export function jsonText<S extends z.ZodType>(schema: S, what: string) {
  return z.string().transform((text, ctx): z.output<S> => {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `must be ${what} as JSON: ${String(e)}` });
      return z.NEVER;
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: `is not ${what}: ${parsed.error.message}` });
      return z.NEVER;
    }
    return parsed.data;
  });
}

/**
 * The rule of every batch route: the valid items are written and every rejection answered, but a
 * batch with no valid item is refused whole (InvalidInputError, so a 400 naming each problem as
 * `<list>[i].<field>`), and nothing is written.
 */
export function someAcceptedOrThrow<
  T extends { readonly accepted: readonly unknown[]; readonly rejected: readonly Rejection[] },
>(list: string, what: string, validated: T): T {
  if (validated.accepted.length === 0) {
    throw new InvalidInputError(
      `no ${what} of the batch is valid; nothing was written`,
      batchProblems(list, validated.rejected),
    );
  }
  return validated;
}
