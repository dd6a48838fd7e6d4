/**
 * The README's Node example of scoring an exported edge model, run as it is printed: a plain ES
 * module next to model.onnx and manifest.json, importing nothing but onnxruntime-node. The files
 * are a real export of the demo's model (flight-delay features and hyperparameters, flights-5k).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { toOnnx } from '../../../shared/models/onnx-export.ts';
import { buildEdgeManifest } from '../../../shared/models/onnx-manifest.ts';
import { flightRows, trainFlightModel } from '../../support/onnx-models.ts';

const run = promisify(execFile);

/** The README example, verbatim (edge/<useCase>/<N>/model.onnx and manifest.json downloaded next to it). */
const NODE_EXAMPLE = `import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';

const { inputs } = JSON.parse(readFileSync('manifest.json', 'utf8'));
const session = await ort.InferenceSession.create('model.onnx');
const flight = { delayRate2h: 0.31, flights2h: 42, hour: 17, weekday: 5, distance: 733, origin: 'ORD', destination: 'LGA' };
const feeds = Object.fromEntries(inputs.map(({ name, type }) => [name, type === 'string'
  ? new ort.Tensor('string', [flight[name] ?? ''], [1, 1])
  : new ort.Tensor('float32', [Number(flight[name] ?? NaN)], [1, 1])]));
const { score } = await session.run(feeds);
console.log(score.data[0]);
`;

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
  await writeFile(join(dir, 'example.mjs'), NODE_EXAMPLE);
  await symlink(
    join(import.meta.dirname, '..', '..', '..', 'node_modules'),
    join(dir, 'node_modules'),
    'dir',
  );
  [expected = Number.NaN] = await trained.batchTransform([FLIGHT]);
});

describe('the README example of scoring an edge model in Node', () => {
  it('is about ten lines', () => {
    const lines = NODE_EXAMPLE.trim().split('\n');
    expect(lines.length).toBeLessThanOrEqual(11);
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
