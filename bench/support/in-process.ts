/**
 * A bundled Lambda handler from cdk.out, called in this process with a real event, against the raw
 * SDK operation it cannot avoid, in the same process and the same rounds, so their ratio is the
 * handler's own cost. It runs as a child process of a benchmark (a fresh process: the function's
 * environment and module state are its own), reads its spec from the JSON file named on its
 * command line and writes its samples to `spec.out`. The child's stdout (the handler's log and
 * EMF lines) goes to /dev/null, as cheap as a sink gets.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { Bench } from 'tinybench';
import { type RawKind, rawOperation } from './raw.ts';

/** What the child is asked to measure. */
export interface InProcessSpec {
  readonly codeDir: string;
  /** `index.handler`. */
  readonly handler: string;
  readonly functionName: string;
  /** The function's environment as the local Lambda runtime gives it (endpoints included). */
  readonly env: Readonly<Record<string, string>>;
  /** Events to call the handler with, cycled; each call gets a fresh awsRequestId. */
  readonly events: readonly unknown[];
  /** The raw operation it is compared with. */
  readonly raw: { readonly kind: RawKind; readonly args: unknown };
  readonly rounds: number;
  /** Time per task per round, ms. */
  readonly timeMs: number;
  /** Fewest calls per task per round (tinybench's `iterations`; default 64). */
  readonly iterations?: number;
  readonly out: string;
}

/** One round's latency figures, ms. */
export interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly samples: number;
}

export interface InProcessResult {
  readonly rounds: readonly { readonly handler: Latency; readonly raw: Latency }[];
  /** Handler calls made, warm-up included. */
  readonly calls: number;
  /** Bytes the handler wrote to stdout per call (its log and metric lines), on average. */
  readonly stdoutBytesPerCall: number;
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** Loads the bundle as CommonJS, as the Lambda runtime does (the project's "type": "module" must not apply). */
function loadBundle(codeDir: string, handler: string): Handler {
  const [file, name] = handler.split('.');
  const path = join(codeDir, `${file}.js`);
  type ModuleInternals = {
    new (
      id: string,
    ): {
      filename: string;
      paths: string[];
      exports: Record<string, unknown>;
      _compile(code: string, file: string): void;
    };
    _nodeModulePaths(dir: string): string[];
  };
  const M = Module as unknown as ModuleInternals;
  const m = new M(path);
  m.filename = path;
  m.paths = M._nodeModulePaths(dirname(path));
  m._compile(readFileSync(path, 'utf8'), path);
  const fn = m.exports[name ?? 'handler'];
  if (typeof fn !== 'function') throw new Error(`${path} exports no ${name}`);
  return fn as Handler;
}

function latency(task: Bench['tasks'][number]): Latency {
  const r = task.result;
  if (r.state !== 'completed')
    throw new Error(`task ${task.name} ${r.state}: ${'error' in r ? String(r.error) : ''}`);
  return { p50: r.latency.p50, p99: r.latency.p99, mean: r.latency.mean, samples: r.latency.samplesCount };
}

async function main(): Promise<void> {
  const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as InProcessSpec;
  for (const [k, v] of Object.entries(spec.env)) process.env[k] = v;
  let stdoutBytes = 0;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdoutBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    return true;
  }) as typeof process.stdout.write;
  const handler = loadBundle(spec.codeDir, spec.handler);
  // The same events are passed again and again, unchanged: frozen, so a handler that mutated its
  // event would fail here instead of being measured on an event it changed.
  const deepFreeze = (v: unknown): void => {
    if (typeof v !== 'object' || v === null || Object.isFrozen(v)) return;
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  };
  for (const e of spec.events) deepFreeze(e);
  const raw = rawOperation(spec.raw.kind, spec.raw.args);
  let calls = 0;
  const call = async () => {
    const event = spec.events[calls++ % spec.events.length];
    // As the Lambda runtime sets it for each invocation (unsampled), so the tracer has its segment.
    process.env._X_AMZN_TRACE_ID = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0;Lineage=1:00000000:0`;
    const context = {
      awsRequestId: randomUUID(),
      functionName: spec.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${spec.functionName}`,
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: 'bench',
      getRemainingTimeInMillis: () => 30_000,
      callbackWaitsForEmptyEventLoop: true,
    };
    const res = (await handler(event, context)) as { statusCode?: number; body?: string };
    if (res?.statusCode !== undefined && res.statusCode >= 300) {
      throw new Error(`${spec.functionName} answered ${res.statusCode}: ${res.body}`);
    }
  };
  // Warm-up: the first calls pay for module-level lazy work and connection set-up.
  for (let i = 0; i < 20; i++) {
    await call();
    await raw();
  }
  const rounds: { handler: Latency; raw: Latency }[] = [];
  for (let r = 0; r < spec.rounds; r++) {
    // Alternating which goes first, so drift in machine load hits both alike.
    const bench = new Bench({
      time: spec.timeMs,
      iterations: spec.iterations ?? 64,
      warmup: false,
      throws: true,
    });
    const order = r % 2 === 0 ? (['handler', 'raw'] as const) : (['raw', 'handler'] as const);
    for (const name of order) bench.add(name, name === 'handler' ? call : raw);
    await bench.run();
    const task = (name: string) => bench.tasks.find((t) => t.name === name) as Bench['tasks'][number];
    rounds.push({ handler: latency(task('handler')), raw: latency(task('raw')) });
  }
  const result: InProcessResult = { rounds, calls, stdoutBytesPerCall: calls ? stdoutBytes / calls : 0 };
  writeFileSync(spec.out, JSON.stringify(result));
}

await main();
process.exit(0);
