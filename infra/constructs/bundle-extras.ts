/**
 * What a function bundle may carry besides esbuild's output (the step table's `fn.bundle`), as
 * NodejsFunction bundling options. Everything is copied from this checkout's node_modules by
 * afterBundling hooks: synth never installs anything and needs no network.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BundleExtra } from '../../shared/pipeline/steps.ts';

/** The repository root: NodejsFunction's project root, the `inputDir` of its hooks. */
const PROJECT_ROOT = join(import.meta.dirname, '..', '..');

/** The Linux binaries Lambda can load: arm64 (the functions' architecture) and x64 (the local cloud on most hosts). */
export const ONNXRUNTIME_PLATFORMS = ['linux/arm64', 'linux/x64'] as const;

/** A package's folder, relative to the project root: where Node would find it from there. */
function packageDir(name: string): string {
  const lookup = createRequire(join(PROJECT_ROOT, 'package.json')).resolve.paths(name) ?? [];
  const found = lookup.map((dir) => join(dir, name)).find((dir) => existsSync(join(dir, 'package.json')));
  if (!found) throw new Error(`${name} is not installed under ${PROJECT_ROOT}; run npm ci`);
  return relative(PROJECT_ROOT, found);
}

const quote = (path: string): string => `'${path.replace(/'/g, `'\\''`)}'`;

/**
 * onnxruntime-node is a native addon: esbuild leaves it (and onnxruntime-common, which it
 * requires) external, and the hooks copy both into the bundle's node_modules with only the Linux
 * binaries of napi-v6 (about 70 MB of the package's 290 MB). The ONNX writer reads onnx.proto
 * next to its module (`new URL('./onnx.proto', import.meta.url)`), so import.meta.url is defined
 * as the bundle's own file URL and onnx.proto is copied next to index.js.
 */
function onnxruntime(): Partial<nodejs.BundlingOptions> {
  const runtime = packageDir('onnxruntime-node');
  const common = packageDir('onnxruntime-common');
  const binaries = join(runtime, 'bin', 'napi-v6');
  return {
    externalModules: ['@aws-sdk/*', 'onnxruntime-node', 'onnxruntime-common'],
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: "const importMetaUrl = require('url').pathToFileURL(__filename).href;",
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir, outputDir) => {
        const modules = join(outputDir, 'node_modules');
        const copied = join(modules, 'onnxruntime-node');
        const keep = ONNXRUNTIME_PLATFORMS.map((p) => join(binaries, p));
        return [
          `mkdir -p ${quote(join(copied, 'bin', 'napi-v6', 'linux'))} ${quote(join(modules, 'onnxruntime-common'))}`,
          // The package's JavaScript and manifest, not its sources, scripts or other platforms.
          `cp -R ${quote(join(inputDir, runtime, 'package.json'))} ${quote(join(inputDir, runtime, 'dist'))} ${quote(copied)}`,
          ...keep.map(
            (dir) => `cp -R ${quote(join(inputDir, dir))} ${quote(join(copied, 'bin', 'napi-v6', 'linux'))}`,
          ),
          `cp -R ${quote(join(inputDir, common, 'package.json'))} ${quote(join(inputDir, common, 'dist'))} ${quote(join(modules, 'onnxruntime-common'))}`,
          `cp ${quote(join(inputDir, 'shared', 'models', 'onnx.proto'))} ${quote(join(outputDir, 'onnx.proto'))}`,
        ];
      },
    },
  };
}

/** The bundling options each extra adds. */
export function bundleExtraOptions(extra: BundleExtra): Partial<nodejs.BundlingOptions> {
  switch (extra) {
    case 'onnxruntime':
      return onnxruntime();
  }
}
