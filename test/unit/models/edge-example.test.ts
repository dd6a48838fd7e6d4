/**
 * The examples of scoring an exported edge model, which the README prints under "### Scoring an
 * exported edge model", run as they are, next to model.onnx and manifest.json:
 * - in Node, shared/models/edge-example.mjs, a plain ES module importing nothing but
 *   onnxruntime-node;
 * - in a browser, shared/models/edge-example.html, a page importing onnxruntime-web's WASM build,
 *   served from loopback to headless Chromium (Debian's package; skipped where it is missing).
 * The files are a real export of the demo's model (flight-delay features and hyperparameters,
 * flights-5k).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toOnnx } from '../../../shared/models/onnx-export.ts';
import { buildEdgeManifest } from '../../../shared/models/onnx-manifest.ts';
import { haveChromium, launchChromium } from '../../support/chromium.ts';
import { flightRows, trainFlightModel } from '../../support/onnx-models.ts';

const run = promisify(execFile);

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The examples, as files (edge/<useCase>/<N>/model.onnx and manifest.json downloaded next to them). */
const EXAMPLE_FILE = join(ROOT, 'shared', 'models', 'edge-example.mjs');
const BROWSER_EXAMPLE_FILE = join(ROOT, 'shared', 'models', 'edge-example.html');
const README_HEADING = '### Scoring an exported edge model';

/** What the page imports: onnxruntime-web's WASM build and its single-threaded runtime files. */
const ORT_WEB_DIST = join(ROOT, 'node_modules', 'onnxruntime-web', 'dist');
const ORT_WEB_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

/**
 * The first ```<language> block under the README's heading (```js also as ```javascript), or
 * undefined when the README has none yet.
 */
function readmeExample(readme: string, language: 'js' | 'html' = 'js'): string | undefined {
  const lines = readme.split('\n');
  const heading = lines.findIndex((l) => l.trim() === README_HEADING);
  if (heading < 0) return undefined;
  const section = lines.slice(heading + 1);
  const end = section.findIndex((l) => /^#{1,3} /.test(l));
  const body = end < 0 ? section : section.slice(0, end);
  const fence = language === 'js' ? /^```(js|javascript)\s*$/ : /^```html\s*$/;
  const open = body.findIndex((l) => fence.test(l.trim()));
  if (open < 0) return undefined;
  const close = body.findIndex((l, i) => i > open && l.trim() === '```');
  return close < 0 ? undefined : `${body.slice(open + 1, close).join('\n')}\n`;
}

const NODE_EXAMPLE = await readFile(EXAMPLE_FILE, 'utf8');
const BROWSER_EXAMPLE = await readFile(BROWSER_EXAMPLE_FILE, 'utf8');
const README = await readFile(join(ROOT, 'README.md'), 'utf8');
const README_EXAMPLE = readmeExample(README);
const README_BROWSER_EXAMPLE = readmeExample(README, 'html');

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
  await copyFile(BROWSER_EXAMPLE_FILE, join(dir, 'index.html'));
  for (const file of ORT_WEB_FILES) await copyFile(join(ORT_WEB_DIST, file), join(dir, file));
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

/** Content types of the files the page loads. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
};

/** Serves the folder's files by name on 127.0.0.1 (a static host, as a team would put them on one). */
async function serveFolder(folder: string): Promise<Server> {
  const server = createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://localhost').pathname.slice(1) || 'index.html';
    const type = CONTENT_TYPES[extname(name)];
    if (!type || name.includes('/')) {
      res.writeHead(404).end();
      return;
    }
    readFile(join(folder, name)).then(
      (body) => res.writeHead(200, { 'content-type': type }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe.skipIf(!haveChromium())(
  'the example of scoring an edge model in a browser (shared/models/edge-example.html)',
  () => {
    let server: Server | undefined;
    afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    it('is about ten lines of script', () => {
      const script = BROWSER_EXAMPLE.split('\n').filter(
        (l) => l.trim() !== '' && !/^<(!doctype|\/?script)/i.test(l.trim()),
      );
      expect(script.length).toBeLessThanOrEqual(10);
    });

    it.skipIf(README_BROWSER_EXAMPLE === undefined)('is the example the README prints, verbatim', () => {
      expect(README_BROWSER_EXAMPLE).toBe(BROWSER_EXAMPLE);
    });

    it('shows the score batch transform gives the same flight, in headless Chromium with onnxruntime-web', async () => {
      // Prepare
      server = await serveFolder(dir);
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const browser = await launchChromium();
      const errors: string[] = [];
      const requested: string[] = [];
      try {
        const page = await browser.newPage();
        page.on('pageerror', (e) => errors.push(e.message));
        page.on('console', (m) => (m.type() === 'error' ? errors.push(m.text()) : undefined));
        page.on('request', (r) => requested.push(r.url()));

        // Act
        await page.goto(`${origin}/`);
        // The page's own expressions, as strings: this file is compiled without the DOM's types.
        await page.waitForFunction("(document.body?.textContent ?? '').trim() !== ''", undefined, {
          timeout: 60_000,
        });
        const score = Number(await page.evaluate<string>('document.body.textContent'));

        // Assess
        expect(errors.filter((e) => !/favicon|status of 404/.test(e))).toEqual([]);
        expect(requested.every((url) => url.startsWith(`${origin}/`))).toBe(true);
        expect(score).toBeGreaterThan(0);
        expect(score).toBeLessThan(1);
        expect(Math.abs(score - expected)).toBeLessThanOrEqual(1e-6);
      } finally {
        await browser.close();
      }
    }, 90_000);
  },
);
