/**
 * Loads and validates the use cases. Each file in `use-cases/` default-exports one use case, so
 * adding a use case is adding one file.
 */
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type UseCase, UseCaseSchema } from '../../shared/config/use-case.ts';
import { formatProblems, toFieldProblems } from '../../shared/validation.ts';
import { ConfigError } from './stage.ts';

/** Folder that holds the use-case files. */
export const USE_CASES_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'use-cases');

const SCHEMA_HINT =
  'Fix the fields above; the schema with every field documented is shared/config/use-case.ts.';

/** The problems of one use-case file, as `field: problem, got value` lines. */
interface SourceProblems {
  readonly source: string;
  readonly lines: string[];
}

function configError(problems: readonly SourceProblems[]): ConfigError {
  return new ConfigError(
    `${problems.map((p) => `Invalid use case in ${p.source}:\n${p.lines.map((l) => `  ${l}`).join('\n')}`).join('\n')}\n${SCHEMA_HINT}`,
  );
}

function parseUseCase(input: unknown): { useCase: UseCase } | { lines: string[] } {
  const parsed = UseCaseSchema.safeParse(input, { reportInput: true });
  if (parsed.success) return { useCase: parsed.data };
  return { lines: formatProblems(toFieldProblems(parsed.error)).split('\n') };
}

/** Validates one use case; `source` names where it came from in the error. */
export function validateUseCase(input: unknown, source: string): UseCase {
  const parsed = parseUseCase(input);
  if ('lines' in parsed) throw configError([{ source, lines: parsed.lines }]);
  return parsed.useCase;
}

/**
 * Validates a set of use cases, and what must hold across them: unique use-case names, and
 * feature-group names unique across every use case (a group's name is its online-store key
 * prefix, its offline-store and bulk-ingest S3 prefix and its API path, so two use cases cannot
 * each define one). Every problem of every file is reported together.
 */
export function validateUseCases(
  entries: readonly { readonly source: string; readonly value: unknown }[],
): UseCase[] {
  const problems: SourceProblems[] = [];
  const useCases: UseCase[] = [];
  const useCaseNames = new Map<string, string>();
  const groupOwners = new Map<string, { useCase: string; source: string }>();
  for (const { source, value } of entries) {
    const parsed = parseUseCase(value);
    if ('lines' in parsed) {
      problems.push({ source, lines: parsed.lines });
      continue;
    }
    const uc = parsed.useCase;
    const lines: string[] = [];
    const first = useCaseNames.get(uc.name);
    if (first) lines.push(`name: duplicates the use case in ${first}, got "${uc.name}"`);
    else useCaseNames.set(uc.name, source);
    uc.featureGroups.forEach((g, i) => {
      const owner = groupOwners.get(g.name);
      if (owner) {
        lines.push(
          `featureGroups[${i}].name: duplicates the feature group of use case '${owner.useCase}' in ${owner.source}; feature-group names must be unique across use cases, got "${g.name}"`,
        );
      } else {
        groupOwners.set(g.name, { useCase: uc.name, source });
      }
    });
    if (lines.length > 0) problems.push({ source, lines });
    useCases.push(uc);
  }
  if (problems.length > 0) throw configError(problems);
  if (useCases.length === 0) {
    throw new ConfigError(
      `No use case found in ${USE_CASES_DIR}: add a file that default-exports defineUseCase({...}).`,
    );
  }
  return useCases;
}

/** Imports every `*.ts` file of `dir` (default: `use-cases/`) and validates its default export. */
export async function loadUseCases(dir: string = USE_CASES_DIR): Promise<UseCase[]> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .sort();
  const entries = await Promise.all(
    files.map(async (file) => {
      const mod = (await import(pathToFileURL(join(dir, file)).href)) as { default?: unknown };
      return { source: `use-cases/${basename(file)}`, value: mod.default };
    }),
  );
  return validateUseCases(entries);
}
