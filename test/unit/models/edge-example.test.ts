/**
 * The Node example of scoring an exported edge model (shared/models/edge-example.mjs, which the
 * README prints under "### Scoring an exported edge model"), run as it is: a plain ES module next
 * to model.onnx and manifest.json, importing nothing but onnxruntime-node. The files are a real
 * export of the demo's model (flight-delay features and hyperparameters, flights-5k).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { toOnnx } from '../../../shared/models/onnx-export.ts';
import { buildEdgeManifest } from '../../../shared/models/onnx-manifest.ts';
import { flightRows, trainFlightModel } from '../../support/onnx-models.ts';

const run = promisify(execFile);

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The example, as a file (edge/<useCase>/<N>/model.onnx and manifest.json downloaded next to it). */
const EXAMPLE_FILE = join(ROOT, 'shared', 'models', 'edge-example.mjs');
const README_HEADING = '### Scoring an exported edge model';

/** The first ```js block under the README's heading, or undefined when the README has none yet. */
function readmeExample(readme: string): string | undefined {
  const lines = readme.split('\n');
  const heading = lines.findIndex((l) => l.trim() === README_HEADING);
  if (heading < 0) return undefined;
  const section = lines.slice(heading + 1);
  const end = section.findIndex((l) => /^#{1,3} /.test(l));
  const body = end < 0 ? section : section.slice(0, end);
  const open = body.findIndex((l) => /^```(js|javascript)\s*$/.test(l.trim()));
  if (open < 0) return undefined;
  const close = body.findIndex((l, i) => i > open && l.trim() === '```');
  return close < 0 ? undefined : `${body.slice(open + 1, close).join('\n')}\n`;
}

const NODE_EXAMPLE = await readFile(EXAMPLE_FILE, 'utf8');
const README_EXAMPLE = readmeExample(await readFile(join(ROOT, 'README.md'), 'utf8'));

/** The flight the example scores, as the batch transform would get it. */
const FLIGHT = {
  delayRate2h: 0.31,
  flights2h: 42,
  hour: 17,
  weekday: 5,
  distance: 733,
  origin: 'ORD',
  destination: 'LGA',
};

let dir = '';
let expected = Number.NaN;

beforeAll(async () => {
  // Prepare: the demo's model exported as the pipeline exports it, in a folder of its own, where
  // the example resolves onnxruntime-node from this checkout.
  const rows = await flightRows();
  const trained = await trainFlightModel(rows.slice(0, 3000));
  const onnx = toOnnx(trained.model, trained.encoding, { modelVersion: 'flight-delay:v1' });
  dir = await mkdtemp(join(tmpdir(), 'edge-example-'));
  await writeFile(join(dir, 'model.onnx'), onnx);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(buildEdgeManifest(onnx, trained.modelBytes)));
  await copyFile(EXAMPLE_FILE, join(dir, 'example.mjs'));
  await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  [expected = Number.NaN] = await trained.batchTransform([FLIGHT]);
});

describe('the example of scoring an edge model in Node (shared/models/edge-example.mjs)', () => {
  it('is about ten lines', () => {
    const lines = NODE_EXAMPLE.trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(11);
  });

  if (README_EXAMPLE === undefined) {
    console.warn(
      `README.md has no \`\`\`js block under "${README_HEADING}" yet: not checking that it prints shared/models/edge-example.mjs`,
    );
  }
  it('finds the js block under the heading, and only there', () => {
    const readme = [
      '## Edge',
      '```js',
      'other();',
      '```',
      README_HEADING,
      'Text.',
      '```js',
      'a();',
      'b();',
      '```',
      '### Next',
      '```js',
      'c();',
      '```',
    ];
    expect(readmeExample(readme.join('\n'))).toBe('a();\nb();\n');
    expect(readmeExample(readme.slice(0, 4).join('\n'))).toBeUndefined();
  });

  it.skipIf(README_EXAMPLE === undefined)('is the example the README prints, verbatim', () => {
    expect(README_EXAMPLE).toBe(NODE_EXAMPLE);
  });

  it('prints the score batch transform gives the same flight', async () => {
    // Act
    const { stdout } = await run(process.execPath, ['example.mjs'], { cwd: dir });

    // Assess
    const score = Number(stdout.trim());
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThan(1);
    expect(Math.abs(score - expected)).toBeLessThanOrEqual(1e-6);
  });
});
