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

/** Validates one use case; `source` names where it came from in the error. */
export function validateUseCase(input: unknown, source: string): UseCase {
  const parsed = UseCaseSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    throw new ConfigError(
      `Invalid use case in ${source}:\n${formatProblems(toFieldProblems(parsed.error), '  ')}\n` +
        'Fix the fields above; the schema with every field documented is shared/config/use-case.ts.',
    );
  }
  return parsed.data;
}

/** Validates a set of use cases and checks that their names are unique. */
export function validateUseCases(
  entries: readonly { readonly source: string; readonly value: unknown }[],
): UseCase[] {
  const useCases = entries.map((e) => validateUseCase(e.value, e.source));
  const seen = new Map<string, string>();
  useCases.forEach((uc, i) => {
    const source = entries[i]?.source ?? '?';
    const first = seen.get(uc.name);
    if (first) {
      throw new ConfigError(
        `Invalid use case in ${source}:\n  name: duplicates the use case in ${first}, got "${uc.name}"`,
      );
    }
    seen.set(uc.name, source);
  });
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
