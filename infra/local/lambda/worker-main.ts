/**
 * The Lambda runtime inside one worker thread: it loads the bundled handler (the init phase),
 * then runs one invocation at a time as the AWS Node.js runtime interface client does.
 *
 * This file is not imported: the runtime compiles it to CommonJS and starts it as an `eval`
 * worker, so the function's module cache, globals and process.env are its own. It may import
 * Node built-ins only.
 */
import { existsSync, readFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, LambdaErrorShape, ToWorker, WorkerConfig } from './protocol.ts';

const config = workerData as WorkerConfig;
if (parentPort === null) throw new Error('worker-main runs only as a worker thread');
const port = parentPort;
const send = (message: FromWorker): void => port.postMessage(message);

/** Request ID of the invocation running now; AWS prints `undefined` during init. */
let currentRequestId: string | undefined;

// Every write reaches the parent through the port, so log lines stay ordered with the result.
const capture =
  (stream: 'stdout' | 'stderr') =>
  (chunk: unknown, encoding?: unknown, callback?: unknown): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    send({ type: 'log', stream, text });
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(() => done());
    return true;
  };
process.stdout.write = capture('stdout') as typeof process.stdout.write;
process.stderr.write = capture('stderr') as typeof process.stderr.write;

// The AWS runtime prefixes console lines with time, request ID and level.
const levels = {
  log: 'INFO',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  debug: 'DEBUG',
  trace: 'TRACE',
} as const;
for (const [method, level] of Object.entries(levels)) {
  const write = method === 'error' || method === 'warn' ? process.stderr : process.stdout;
  Object.defineProperty(console, method, {
    configurable: true,
    writable: true,
    value: (...args: unknown[]) => {
      const text = format(...args).replace(/\n/g, '\r');
      write.write(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${text}\n`);
    },
  });
}

// Lambda's runtime provides the AWS SDK v3 (bundles leave @aws-sdk/* external); the project's
// node_modules stands in for /var/runtime/node_modules, for @aws-sdk/* only, so that a bundle
// missing any other dependency fails here as it would on AWS.
if (config.runtimeModulesDir) {
  const runtimeDir = config.runtimeModulesDir;
  type Resolve = (
    request: string,
    parent: unknown,
    isMain: boolean,
    options?: { paths?: string[] },
  ) => string;
  const loader = Module as unknown as { _resolveFilename: Resolve };
  const resolveFilename = loader._resolveFilename;
  loader._resolveFilename = (request, parent, isMain, options) => {
    try {
      return resolveFilename(request, parent, isMain, options);
    } catch (e) {
      if (!request.startsWith('@aws-sdk/')) throw e;
      return resolveFilename(request, parent, isMain, { paths: [runtimeDir] });
    }
  };
}
// NODE_OPTIONS does not reach worker threads; honour the one flag our functions declare.
if (config.enableSourceMaps) process.setSourceMapsEnabled(true);

/** The error shape of the Lambda Invoke API. */
function toLambdaError(error: unknown, forcedType?: string): LambdaErrorShape {
  if (error instanceof Error) {
    return {
      errorType: forcedType ?? (error.name || 'Error'),
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  return { errorType: forcedType ?? typeof error, errorMessage: String(error), trace: [] };
}

class RuntimeError extends Error {
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (
  event: unknown,
  context: unknown,
  callback: (err?: unknown, value?: unknown) => void,
) => unknown;

/** Whether the deployment package itself says its .js files are ES modules (as Lambda reads it). */
function declaresModuleType(codeDir: string): boolean {
  const manifest = join(codeDir, 'package.json');
  if (!existsSync(manifest)) return false;
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { type?: string }).type === 'module';
  } catch {
    return false;
  }
}

/**
 * Loads a .js file as CommonJS whatever package.json sits above cdk.out. In Lambda the package
 * root is the asset folder, so the project's own `"type": "module"` must not apply to it.
 */
function loadCommonJs(file: string): unknown {
  type ModuleInternals = {
    new (
      id: string,
    ): { filename: string; paths: string[]; exports: unknown; _compile(code: string, file: string): void };
    _nodeModulePaths(dir: string): string[];
  };
  const M = Module as unknown as ModuleInternals;
  const m = new M(file);
  m.filename = file;
  m.paths = M._nodeModulePaths(dirname(file));
  m._compile(readFileSync(file, 'utf8'), file);
  return m.exports;
}

async function loadHandler(): Promise<Handler> {
  // `path/to/file.export.nested`: the module is up to the first dot after the last slash.
  const slash = config.handler.lastIndexOf('/');
  const base = config.handler.slice(slash + 1);
  const dot = base.indexOf('.');
  if (dot <= 0) throw new RuntimeError('Runtime.MalformedHandlerName', `Bad handler ${config.handler}`);
  const moduleName = `${config.handler.slice(0, slash + 1)}${base.slice(0, dot)}`;
  const exportPath = base.slice(dot + 1).split('.');
  const candidates = ['.js', '.mjs', '.cjs'].map((ext) => join(config.codeDir, `${moduleName}${ext}`));
  const file = candidates.find((f) => existsSync(f));
  if (file === undefined) {
    throw new RuntimeError('Runtime.ImportModuleError', `Error: Cannot find module '${moduleName}'`);
  }
  let loaded: unknown;
  try {
    if (file.endsWith('.mjs') || (file.endsWith('.js') && declaresModuleType(config.codeDir))) {
      loaded = await import(pathToFileURL(file).href);
    } else {
      loaded = loadCommonJs(file);
    }
  } catch (e) {
    if (e instanceof SyntaxError) throw new RuntimeError('Runtime.UserCodeSyntaxError', String(e));
    if ((e as { code?: string }).code === 'MODULE_NOT_FOUND') {
      throw new RuntimeError('Runtime.ImportModuleError', String(e));
    }
    throw e;
  }
  let target: unknown = loaded;
  for (const key of exportPath) {
    target =
      typeof target === 'object' || typeof target === 'function'
        ? (target as Record<string, unknown>)?.[key]
        : undefined;
  }
  if (target === undefined) {
    throw new RuntimeError(
      'Runtime.HandlerNotFound',
      `${moduleName}.${exportPath.join('.')} is undefined or not exported`,
    );
  }
  if (typeof target !== 'function') {
    throw new RuntimeError(
      'Runtime.HandlerNotFound',
      `${moduleName}.${exportPath.join('.')} is not a function`,
    );
  }
  return target as Handler;
}

let inFlight: string | undefined;
const fatal = (errorType: string) => (error: unknown) => {
  const shaped = toLambdaError(error, errorType);
  console.error(`${errorType} \t${JSON.stringify(shaped)}`);
  // The parent ends this worker: AWS discards a sandbox after an uncaught error.
  send({ type: 'fatal', requestId: inFlight, error: shaped });
};
process.on('uncaughtException', fatal('Runtime.UncaughtException'));
process.on('unhandledRejection', fatal('Runtime.UnhandledPromiseRejection'));

function run(handler: Handler, message: Extract<ToWorker, { type: 'invoke' }>): void {
  currentRequestId = message.requestId;
  inFlight = message.requestId;
  process.env._X_AMZN_TRACE_ID = message.traceId;
  let settled = false;
  const finish = (error: unknown, value?: unknown) => {
    if (settled) return;
    settled = true;
    inFlight = undefined;
    if (error !== undefined && error !== null) {
      const shaped = toLambdaError(error);
      console.error(`Invoke Error \t${JSON.stringify(shaped)}`);
      send({ type: 'result', requestId: message.requestId, error: shaped });
      return;
    }
    let payload: string;
    try {
      payload = JSON.stringify(value) ?? 'null';
    } catch (e) {
      send({ type: 'result', requestId: message.requestId, error: toLambdaError(e, 'Runtime.MarshalError') });
      return;
    }
    send({ type: 'result', requestId: message.requestId, payload });
  };
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: config.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: message.invokedFunctionArn,
    memoryLimitInMB: String(config.memoryMb),
    awsRequestId: message.requestId,
    logGroupName: config.logGroupName,
    logStreamName: config.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, message.deadlineMs - Date.now()),
    done: (error?: unknown, value?: unknown) => finish(error, value),
    succeed: (value?: unknown) => finish(undefined, value),
    fail: (error: unknown) => finish(error ?? new Error('handled')),
  };
  try {
    const out = handler(JSON.parse(message.event), context, (error, value) => finish(error, value));
    if (out !== null && typeof out === 'object' && typeof (out as { then?: unknown }).then === 'function') {
      (out as Promise<unknown>).then(
        (value) => finish(undefined, value),
        (error: unknown) => finish(error ?? new Error('the handler rejected with no reason')),
      );
    } else if (handler.length < 3) {
      // A synchronous non-callback handler answers null once its work is queued, as on AWS.
      setImmediate(() => finish(undefined, null));
    }
  } catch (e) {
    finish(e);
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  let handler: Handler;
  try {
    handler = await loadHandler();
  } catch (e) {
    const shaped =
      e instanceof RuntimeError
        ? { errorType: e.errorType, errorMessage: e.message, trace: [] }
        : toLambdaError(e);
    console.error(`INIT_ERROR \t${JSON.stringify(shaped)}`);
    send({ type: 'initError', error: shaped });
    return;
  }
  port.on('message', (message: ToWorker) => {
    if (message.type === 'invoke') run(handler, message);
  });
  send({ type: 'ready', initMs: performance.now() - started });
}

void main();
