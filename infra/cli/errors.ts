/**
 * How the `mlops` command reports failures: one line per problem, naming the option or argument,
 * never a stack trace (set MLOPS_DEBUG=1 for one). Usage errors exit with 2, others with 1.
 */
import { type Command, CommanderError } from 'commander';
import { InvalidInputError } from '../../shared/errors.ts';

/** Exit code of a command line the user should change. */
export const USAGE_EXIT_CODE = 2;

/** The command line itself is wrong: a missing or bad option. `option` is its flag, e.g. `--table`. */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
  constructor(
    readonly option: string,
    problem: string,
  ) {
    super(`${option}: ${problem}`);
  }
}

/** The flag or `<argument>` of `command` that a domain field (`to`, `modelVersion`...) came from. */
export function optionForField(command: Command | undefined, field: string): string {
  const head = field.split(/[.[]/)[0] ?? field;
  const option = command?.options.find((o) => o.attributeName() === head);
  if (option?.long) return option.long;
  const argument = command?.registeredArguments.find((a) => a.name() === head);
  if (argument) return `<${argument.name()}>`;
  return head;
}

/** The lines to print for `error` and the exit code, for the command that was running. */
export function describeCliError(
  error: unknown,
  command: Command | undefined,
): { readonly lines: readonly string[]; readonly exitCode: number } {
  const prefix = command ? `mlops ${commandPath(command)}: ` : 'mlops: ';
  if (error instanceof CommanderError) {
    // Commander has printed its own one-line message; help and --version are not failures.
    const ok =
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.code === 'commander.help';
    return { lines: [], exitCode: ok ? 0 : USAGE_EXIT_CODE };
  }
  if (error instanceof UsageError) return { lines: [`${prefix}${error.message}`], exitCode: USAGE_EXIT_CODE };
  if (error instanceof InvalidInputError) {
    const lines =
      error.problems.length === 0
        ? [`${prefix}${error.message}`]
        : error.problems.map(
            (p) =>
              `${prefix}${optionForField(command, p.field)}: ${p.problem}${p.got === undefined ? '' : `, got ${p.got}`}`,
          );
    return { lines, exitCode: USAGE_EXIT_CODE };
  }
  const message = error instanceof Error ? error.message : String(error);
  // Multi-line messages (a synth failure's output) keep their lines, but never a stack.
  return { lines: [`${prefix}${message}`], exitCode: 1 };
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * Runs `program` with errors reported as `describeCliError` says. Every subcommand registered
 * after this call inherits the exit override, so commander's own usage errors exit with 2 too.
 */
export async function runCli(program: Command, argv?: readonly string[]): Promise<number> {
  let active: Command | undefined;
  program.hook('preAction', (_program, actionCommand) => {
    active = actionCommand;
  });
  try {
    await program.parseAsync(argv as string[] | undefined);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    const { lines, exitCode } = describeCliError(e, active);
    for (const line of lines) console.error(line);
    if (process.env.MLOPS_DEBUG === '1' && e instanceof Error && e.stack) console.error(e.stack);
    return exitCode;
  }
}
