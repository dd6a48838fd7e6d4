/**
 * The `onnxruntime` bundle extra, with bundling on: the asset carries onnxruntime-node (Linux
 * binaries only), onnxruntime-common and onnx.proto, and its index.js loads the native addon and
 * scores in a worker thread, as the local cloud runs every bundle from cdk.out.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ONNXRUNTIME_PLATFORMS } from '../../infra/constructs/bundle-extras.ts';
import { MlopsFunction } from '../../infra/constructs/mlops-function.ts';

let assetDir = '';

beforeAll(() => {
  // Prepare: one function with the extra, bundled for real into a folder outside the repository
  // (so no node_modules above it could stand in for the bundle's own).
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'bundle-extras-')),
    context: { 'aws:cdk:enable-asset-metadata': true },
  });
  const stack = new Stack(app, 'Edge', { env: { region: 'us-east-1' } });
  new MlopsFunction(stack, 'EdgeScore', {
    entry: join(import.meta.dirname, '..', 'fixtures', 'functions', 'edge-score.ts'),
    description: 'scores with onnxruntime-node',
    encryptionKey: new kms.Key(stack, 'Key', { enableKeyRotation: true }),
    timeout: Duration.seconds(30),
    logRetention: logs.RetentionDays.ONE_MONTH,
    logRemovalPolicy: RemovalPolicy.DESTROY,
    bundle: 'onnxruntime',
  });
  const assembly = app.synth();
  const resources = Object.values(
    assembly.getStackByName('Edge').template.Resources as Record<
      string,
      { Type: string; Metadata?: Record<string, string> }
    >,
  );
  const fn = resources.find((r) => r.Type === 'AWS::Lambda::Function');
  assetDir = join(assembly.directory, fn?.Metadata?.['aws:asset:path'] ?? 'missing');
});

describe('the onnxruntime bundle extra', () => {
  it('copies onnxruntime-node with only its Linux binaries, onnxruntime-common and onnx.proto', () => {
    const modules = join(assetDir, 'node_modules');
    expect(readdirSync(modules).sort()).toEqual(['onnxruntime-common', 'onnxruntime-node']);
    const napi = join(modules, 'onnxruntime-node', 'bin', 'napi-v6');
    expect(readdirSync(napi)).toEqual(['linux']);
    expect(readdirSync(join(napi, 'linux')).sort()).toEqual(
      ONNXRUNTIME_PLATFORMS.map((p) => p.split('/')[1]).sort(),
    );
    for (const arch of ['arm64', 'x64']) {
      expect(existsSync(join(napi, 'linux', arch, 'onnxruntime_binding.node')), arch).toBe(true);
    }
    expect(readdirSync(join(modules, 'onnxruntime-node')).sort()).toEqual(['bin', 'dist', 'package.json']);
    expect(readFileSync(join(assetDir, 'onnx.proto'), 'utf8')).toContain('message ModelProto');
  });

  it('leaves onnxruntime-node out of index.js, to be required from the bundle at run time', () => {
    const code = readFileSync(join(assetDir, 'index.js'), 'utf8');
    expect(code).toMatch(/require\("onnxruntime-node"\)/);
    expect(code).not.toContain('import.meta');
  });

  it('loads the native addon and scores in a worker thread, as the local cloud runs the bundle', async () => {
    // Act: two workers at once, as two warm sandboxes of one function would.
    const run = () =>
      new Promise<number[]>((resolve, reject) => {
        const worker = new Worker(
          `const { parentPort, workerData } = require('node:worker_threads');
           require(workerData.file).handler({ rows: workerData.rows })
             .then((scores) => parentPort.postMessage({ scores }), (e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`,
          {
            eval: true,
            workerData: {
              file: join(assetDir, 'index.js'),
              rows: [
                { x: 0.2, c: 'a' },
                { x: 0.9, c: 'zzz' },
                { x: null, c: null },
              ],
            },
          },
        );
        worker.once('message', (m: { scores?: number[]; error?: string }) => {
          void worker.terminate();
          if (m.scores) resolve(m.scores);
          else reject(new Error(m.error));
        });
        worker.once('error', reject);
      });
    const [first, second] = await Promise.all([run(), run()]);

    // Assess: sigmoid(-1) left of 0.5 and for missing (default left), sigmoid(1) right of it.
    const low = 1 / (1 + Math.exp(1));
    for (const scores of [first, second]) {
      expect(scores).toHaveLength(3);
      expect(scores[0]).toBeCloseTo(low, 6);
      expect(scores[1]).toBeCloseTo(1 - low, 6);
      expect(scores[2]).toBeCloseTo(low, 6);
    }
  });
});
