/**
 * Synth-time errors that say where: the message starts with the construct path, as aws-cdk-lib's
 * own (internal) ValidationError does, and a construct with several problems reports them all at
 * once, as the use-case loader does, rather than one per synth.
 */
import type { IConstruct } from 'constructs';

/** A construct's props or context break its rules. */
export class ConstructConfigError extends Error {
  override readonly name = 'ConstructConfigError';
  /** The problems, each a sentence ending in the value it got. */
  readonly problems: readonly string[];
  /** Path of the construct in the tree (`Service/Training-flight-delay`). */
  readonly path: string;

  constructor(scope: IConstruct, problems: readonly string[]) {
    const [only] = problems;
    super(
      problems.length === 1
        ? `${scope.node.path}: ${only}`
        : `${scope.node.path}: ${problems.length} problems:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.problems = problems;
    this.path = scope.node.path;
  }
}

/** Throws one ConstructConfigError listing every problem, if there is any. */
export function throwIfProblems(scope: IConstruct, problems: readonly string[]): void {
  if (problems.length > 0) throw new ConstructConfigError(scope, problems);
}
