/**
 * The trivial test algorithm: training counts the lines of every channel file and writes
 * `model.json` {rows, hyperparameters}; serving echoes `{rows, input}`. Hyperparameter
 * `fail: 'true'` makes training throw, so failure paths can be tested.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { AlgorithmError, type LocalAlgorithm, type ServedModel } from '../algorithm.ts';

/** Image the fixture app trains with (see TEST_ALGORITHM_IMAGE in test/fixtures/local-app/app.ts). */
export const ECHO_ALGORITHM_IMAGE = 'local/echo-algorithm';

const EchoModelSchema = z.object({ rows: z.number(), hyperparameters: z.record(z.string(), z.string()) });

async function countLines(dir: string): Promise<number> {
  let rows = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const text = await readFile(join(entry.parentPath, entry.name), 'utf8');
    rows += text.split('\n').filter((line) => line.trim() !== '').length;
  }
  return rows;
}

function parseInput(body: Buffer, contentType: string): unknown {
  const text = body.toString('utf8');
  if (contentType.includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** The echo algorithm. */
export const echoAlgorithm: LocalAlgorithm = {
  async train({ channels, hyperparameters, modelDir }) {
    if (hyperparameters.fail === 'true') throw new AlgorithmError('asked to fail');
    let rows = 0;
    for (const dir of Object.values(channels)) rows += await countLines(dir);
    await writeFile(join(modelDir, 'model.json'), JSON.stringify({ rows, hyperparameters }));
  },
  async serve(modelDir): Promise<ServedModel> {
    const model = EchoModelSchema.parse(JSON.parse(await readFile(join(modelDir, 'model.json'), 'utf8')));
    return {
      ping: async () => true,
      invocations: async (body, contentType) => ({
        body: Buffer.from(JSON.stringify({ rows: model.rows, input: parseInput(body, contentType) })),
        contentType: 'application/json',
      }),
    };
  },
};
