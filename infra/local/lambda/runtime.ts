/**
 * The local Lambda service: runs each function's bundled code from cdk.out in worker threads, with
 * exactly the environment the template gives it, cold and warm starts, timeouts and memory limits,
 * and serves the Lambda Invoke API so that AWS SDK clients (and Step Functions) can call it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { transformSync } from 'esbuild';
import {
  endpointEnvironment,
  type LocalEndpoints,
  type LocalFunction,
  type LocalPlacement,
} from '../model.ts';
import {
  EndpointsNotSetError,
  FunctionNotFoundError,
  type InvokeOptions,
  type InvokeResult,
  type InvokeServer,
  LambdaFunctionError,
  MAX_SYNC_PAYLOAD_BYTES,
  RuntimeStoppedError,
  UnsupportedRuntimeError,
} from './api.ts';
import { startInvokeServer } from './invoke-server.ts';
import type { FromWorker, LambdaErrorShape, ToWorker, WorkerConfig } from './protocol.ts';

/**
 * AWS gives the init phase 10 seconds; a longer init goes on inside the first invocation and
 * counts against the function's timeout (it is not a failure by itself).
 */
const INIT_ALLOWANCE_MS = 10_000;
/** The Invoke API returns the last 4 KB of the logs with LogType=Tail. */
const LOG_TAIL_BYTES = 4096;

export interface LambdaRuntimeOptions {
  /** The functions to serve, usually `assembly.functions`. */
  readonly functions: readonly LocalFunction[];
  /**
   * Emulator endpoints, exported to every function as AWS_ENDPOINT_URL_<SERVICE>.
   * @default - none yet: call `setEndpoints` before the first invocation
   */
  readonly endpoints?: LocalEndpoints;
  /**
   * Region and account of the local ARNs, usually `assembly.placement`.
   * @default - none yet: call `setEndpoints` before the first invocation
   */
  readonly placement?: LocalPlacement;
  /**
   * Receives every line a function writes (console, stdout, stderr) and the START/END/REPORT lines.
   * @default - written to stdout as `[<function name>] <line>`
   */
  readonly log?: (functionName: string, line: string) => void;
  /**
   * Workers a function may run at once. AWS scales out per concurrent request; beyond this number,
   * requests queue for a free worker.
   * @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * Folder that stands in for Lambda's /var/runtime/node_modules (the AWS SDK v3 that bundles
   * leave external).
   * @default - the node_modules folder this project resolves @aws-sdk/client-dynamodb from
   */
  readonly runtimeModulesDir?: string;
}

let compiledWorker: string | undefined;

/** The worker source compiled to CommonJS once per process (esbuild: no loader needed in the worker). */
function workerCode(): string {
  if (compiledWorker === undefined) {
    const file = fileURLToPath(new URL('./worker-main.ts', import.meta.url));
    compiledWorker = transformSync(readFileSync(file, 'utf8'), {
      loader: 'ts',
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      sourcefile: file,
      // Keep import(): ESM handlers must load as ESM, not through require.
      supported: { 'dynamic-import': true },
    }).code;
  }
  return compiledWorker;
}

function defaultRuntimeModulesDir(): string | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('@aws-sdk/client-dynamodb');
    const at = entry.lastIndexOf('/node_modules/');
    return at < 0 ? undefined : entry.slice(0, at + '/node_modules'.length);
  } catch {
    return undefined;
  }
}

function traceId(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0;Lineage=1:00000000:0`;
}

function logStreamName(): string {
  const day = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  return `${day}/[$LATEST]${randomBytes(16).toString('hex')}`;
}

type InvokeMessage = Extract<ToWorker, { type: 'invoke' }>;

function errorOf(message: FromWorker): LambdaErrorShape {
  if (message.type === 'initError' || message.type === 'fatal') return message.error;
  if (message.type === 'result' && message.error) return message.error;
  return { errorType: 'Runtime.Unknown', errorMessage: `unexpected ${message.type} message`, trace: [] };
}

interface RunOutcome {
  readonly payload?: string;
  readonly error?: LambdaErrorShape;
  readonly initMs?: number;
}

/** One execution environment: a worker thread that keeps its module state between invocations. */
class Sandbox {
  readonly worker: Worker;
  readonly logStream = logStreamName();
  alive = true;
  busy = false;
  private ready = false;
  private initMs?: number;
  private readonly buffers = { stdout: '', stderr: '' };
  private lines?: string[];
  private waiting?: (message: FromWorker) => void;
  private readonly inbox: FromWorker[] = [];
  private exitReason?: LambdaErrorShape;

  constructor(
    private readonly fn: LocalFunction,
    env: Record<string, string>,
    runtimeModulesDir: string | undefined,
    private readonly sink: (line: string) => void,
  ) {
    const config: WorkerConfig = {
      codeDir: fn.codeDir,
      handler: fn.handler,
      functionName: fn.name,
      memoryMb: fn.memoryMb,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${fn.name}`,
      logStreamName: this.logStream,
      enableSourceMaps: /--enable-source-maps/.test(fn.environment.NODE_OPTIONS ?? ''),
      runtimeModulesDir,
    };
    this.worker = new Worker(workerCode(), {
      eval: true,
      env: { ...env, AWS_LAMBDA_LOG_STREAM_NAME: this.logStream },
      workerData: config,
      resourceLimits: { maxOldGenerationSizeMb: fn.memoryMb },
      // Output is captured inside the worker; these keep stray native writes off the parent's stdout.
      stdout: true,
      stderr: true,
    });
    this.worker.stdout.resume();
    this.worker.stderr.resume();
    this.worker.on('message', (message: FromWorker) => this.onMessage(message));
    this.worker.on('error', (error: Error & { code?: string }) => {
      this.exitReason =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? {
              errorType: 'Runtime.OutOfMemory',
              errorMessage: 'Runtime exited with error: signal: killed',
              trace: [],
            }
          : {
              errorType: 'Runtime.ExitError',
              errorMessage: `Runtime exited with error: ${error.message}`,
              trace: [],
            };
    });
    this.worker.on('exit', (code) => {
      this.alive = false;
      this.flush();
      const reason = this.exitReason ?? {
        errorType: 'Runtime.ExitError',
        errorMessage: `Runtime exited with error: exit status ${code}`,
        trace: [],
      };
      this.onMessage({ type: 'fatal', error: reason });
    });
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'log') {
      const text = this.buffers[message.stream] + message.text;
      const parts = text.split('\n');
      this.buffers[message.stream] = parts.pop() ?? '';
      for (const line of parts) this.emit(line);
      return;
    }
    this.flush();
    if (this.waiting) {
      this.waiting(message);
    } else if (message.type === 'fatal' && this.ready) {
      // An uncaught error between invocations (a stray timer) ends the sandbox, as on AWS.
      this.kill();
    } else {
      this.inbox.push(message);
    }
  }

  private flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      if (this.buffers[stream] !== '') this.emit(this.buffers[stream]);
      this.buffers[stream] = '';
    }
  }

  emit(line: string): void {
    this.lines?.push(line);
    this.sink(line);
  }

  private next(): Promise<FromWorker> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      this.waiting = (message) => {
        this.waiting = undefined;
        resolve(message);
      };
    });
  }

  /** Runs one invocation, initialising first on a cold start; `lines` collects its log lines. */
  async run(message: Omit<InvokeMessage, 'type' | 'deadlineMs'>, lines: string[]): Promise<RunOutcome> {
    this.lines = lines;
    try {
      let initMs: number | undefined;
      const timeoutMs = this.fn.timeoutSeconds * 1000;
      if (!this.ready) {
        const init = await this.timed(
          this.next(),
          INIT_ALLOWANCE_MS + timeoutMs,
          message.requestId,
          timeoutMs,
        );
        if (init.type !== 'ready') {
          // A failed init discards the sandbox; the next invocation initialises again, as on AWS.
          this.kill();
          return { error: errorOf(init) };
        }
        this.ready = true;
        initMs = init.initMs;
      }
      // Init beyond its 10 s allowance is taken from this invocation's time.
      const remainingMs = Math.max(1, timeoutMs - Math.max(0, (initMs ?? 0) - INIT_ALLOWANCE_MS));
      const result = this.next();
      this.worker.postMessage({
        type: 'invoke',
        ...message,
        deadlineMs: Date.now() + remainingMs,
      } satisfies ToWorker);
      const out = await this.timed(result, remainingMs, message.requestId, timeoutMs);
      if (out.type === 'result') return { payload: out.payload, error: out.error, initMs };
      this.kill();
      return { error: errorOf(out), initMs };
    } finally {
      this.lines = undefined;
    }
  }

  /** Waits for `message` up to `ms`; past it the worker is terminated and the outcome is AWS's timeout error. */
  private async timed(
    message: Promise<FromWorker>,
    ms: number,
    requestId: string,
    /** The function's timeout, which AWS names in the message whatever share init took. */
    reportedMs: number = ms,
  ): Promise<FromWorker> {
    let timer: NodeJS.Timeout | undefined;
    const seconds = (reportedMs / 1000).toFixed(2);
    const timeout = new Promise<FromWorker>((resolve) => {
      timer = setTimeout(() => {
        this.emit(`${new Date().toISOString()} ${requestId} Task timed out after ${seconds} seconds`);
        this.kill();
        resolve({
          type: 'fatal',
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `RequestId: ${requestId} Error: Task timed out after ${seconds} seconds`,
            trace: [],
          },
        });
      }, ms);
    });
    try {
      return await Promise.race([message, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    this.alive = false;
    void this.worker.terminate();
  }
}

/** The sandboxes of one function: reused while warm, scaled out up to a limit. */
class FunctionPool {
  private readonly sandboxes: Sandbox[] = [];
  private readonly waiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    readonly fn: LocalFunction,
    private readonly create: () => Sandbox,
    private readonly maxConcurrency: number,
  ) {}

  async acquire(): Promise<Sandbox> {
    for (;;) {
      // A caller queued before stop() must not start a worker nobody will terminate.
      if (this.stopped) throw new RuntimeStoppedError('the Lambda runtime is stopped');
      const idle = this.sandboxes.find((s) => s.alive && !s.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (this.sandboxes.length < this.maxConcurrency) {
        const sandbox = this.create();
        sandbox.busy = true;
        this.sandboxes.push(sandbox);
        return sandbox;
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  release(sandbox: Sandbox): void {
    sandbox.busy = false;
    const i = this.sandboxes.indexOf(sandbox);
    if (!sandbox.alive && i >= 0) this.sandboxes.splice(i, 1);
    if (this.stopped) sandbox.kill();
    this.waiters.shift()?.();
  }

  /** Workers alive now (warm or busy). */
  get size(): number {
    return this.sandboxes.filter((s) => s.alive).length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = this.sandboxes.splice(0);
    await Promise.all(all.map((s) => s.worker.terminate()));
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** Runs the assembly's Lambda functions locally and serves the Lambda Invoke API. */
export class LambdaRuntime {
  private readonly pools = new Map<string, FunctionPool>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly servers = new Set<InvokeServer>();
  private readonly log: (functionName: string, line: string) => void;
  private readonly runtimeModulesDir: string | undefined;
  private stopped = false;
  private endpoints?: LocalEndpoints;
  private placement?: LocalPlacement;

  constructor(private readonly options: LambdaRuntimeOptions) {
    this.endpoints = options.endpoints;
    this.placement = options.placement;
    this.log = options.log ?? ((name, line) => process.stdout.write(`[${name}] ${line}\n`));
    this.runtimeModulesDir = options.runtimeModulesDir ?? defaultRuntimeModulesDir();
    for (const fn of options.functions) {
      this.pools.set(
        fn.name,
        new FunctionPool(fn, () => this.createSandbox(fn), options.maxConcurrency ?? 10),
      );
    }
  }

  /** The functions this runtime serves. */
  get functions(): readonly LocalFunction[] {
    return this.options.functions;
  }

  /** Number of live workers of a function (warm environments). */
  workerCount(functionNameOrArn: string): number {
    return this.pool(functionNameOrArn).size;
  }

  /**
   * Sets the emulator endpoints once their servers listen (the Invoke API's own URL among them).
   * Workers started earlier keep their environment; none starts before the first invocation.
   */
  setEndpoints(endpoints: LocalEndpoints, placement: LocalPlacement): void {
    this.endpoints = endpoints;
    this.placement = placement;
  }

  /** The exact environment a function's worker gets: declared variables, emulator endpoints, Lambda's own. */
  environmentOf(fn: LocalFunction): Record<string, string> {
    if (this.endpoints === undefined || this.placement === undefined) {
      throw new EndpointsNotSetError(
        `${fn.name} cannot start: the Lambda runtime has no endpoints yet (setEndpoints)`,
      );
    }
    return {
      ...fn.environment,
      ...endpointEnvironment(this.endpoints, this.placement),
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_LOG_GROUP_NAME: fn.logGroupName ?? `/aws/lambda/${fn.name}`,
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
      _HANDLER: fn.handler,
      LAMBDA_TASK_ROOT: fn.codeDir,
      LANG: 'en_US.UTF-8',
      TZ: ':UTC',
    };
  }

  private createSandbox(fn: LocalFunction): Sandbox {
    return new Sandbox(fn, this.environmentOf(fn), this.runtimeModulesDir, (line) => this.log(fn.name, line));
  }

  /** The function a name, ARN or qualified ARN designates; qualifiers all run `$LATEST`. */
  find(functionNameOrArn: string): LocalFunction | undefined {
    const arn = /^arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:([^:]+)(?::[^:]+)?$/.exec(functionNameOrArn);
    const name = arn?.[1] ?? functionNameOrArn.split(':')[0] ?? functionNameOrArn;
    return this.pools.get(name)?.fn;
  }

  private pool(functionNameOrArn: string): FunctionPool {
    const fn = this.find(functionNameOrArn);
    const pool = fn === undefined ? undefined : this.pools.get(fn.name);
    if (pool === undefined) {
      const region = this.placement?.region ?? 'us-east-1';
      const arn = functionNameOrArn.startsWith('arn:')
        ? functionNameOrArn
        : `arn:aws:lambda:${region}:${this.placement?.account ?? '000000000000'}:function:${functionNameOrArn}`;
      throw new FunctionNotFoundError(`Function not found: ${arn}`);
    }
    return pool;
  }

  /**
   * Invokes a function as the Lambda Invoke API does. A function error is a result
   * (`functionError: 'Unhandled'`), not a rejection; unknown functions reject with FunctionNotFoundError.
   */
  async invoke(
    functionNameOrArn: string,
    payload: unknown,
    options: InvokeOptions = {},
  ): Promise<InvokeResult> {
    if (this.stopped) throw new RuntimeStoppedError('the Lambda runtime is stopped');
    const pool = this.pool(functionNameOrArn);
    if (!pool.fn.runtime.startsWith('nodejs')) {
      throw new UnsupportedRuntimeError(`${pool.fn.name}: runtime ${pool.fn.runtime} cannot run locally`);
    }
    const event = payload === undefined ? '{}' : JSON.stringify(payload);
    const requestId = randomUUID();
    const invokedFunctionArn = functionNameOrArn.startsWith('arn:') ? functionNameOrArn : pool.fn.arn;
    const type = options.invocationType ?? 'RequestResponse';
    if (type === 'DryRun') return { statusCode: 204, requestId };
    const run = this.runOnce(pool, requestId, event, invokedFunctionArn);
    if (type === 'Event') {
      // Async invocations are not retried here (AWS retries twice); failures show in the logs.
      const tracked: Promise<unknown> = run
        .catch((e: unknown) => this.log(pool.fn.name, `async invocation ${requestId} not run: ${String(e)}`))
        .finally(() => this.background.delete(tracked));
      this.background.add(tracked);
      return { statusCode: 202, requestId };
    }
    const { outcome, lines } = await run;
    const tail = options.logType === 'Tail' ? tailOf(lines) : undefined;
    const base = { statusCode: 200, executedVersion: '$LATEST', requestId, logTail: tail };
    if (outcome.error) return { ...base, payload: outcome.error, functionError: 'Unhandled' };
    const text = outcome.payload ?? 'null';
    if (Buffer.byteLength(text) > MAX_SYNC_PAYLOAD_BYTES) {
      return {
        ...base,
        functionError: 'Unhandled',
        payload: {
          errorType: 'Function.ResponseSizeTooLarge',
          errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_SYNC_PAYLOAD_BYTES} bytes).`,
          trace: [],
        },
      };
    }
    return { ...base, payload: JSON.parse(text) };
  }

  /** Invokes synchronously and returns the function's result; a function error rejects with LambdaFunctionError. */
  async invokeOrThrow(functionNameOrArn: string, payload: unknown): Promise<unknown> {
    const result = await this.invoke(functionNameOrArn, payload);
    if (result.functionError) throw new LambdaFunctionError(result.payload as LambdaErrorShape);
    return result.payload;
  }

  private async runOnce(
    pool: FunctionPool,
    requestId: string,
    event: string,
    invokedFunctionArn: string,
  ): Promise<{ outcome: RunOutcome; lines: string[] }> {
    const lines: string[] = [];
    const sandbox = await pool.acquire();
    if (this.stopped) {
      pool.release(sandbox);
      throw new RuntimeStoppedError('the Lambda runtime is stopped');
    }
    const started = performance.now();
    this.log(pool.fn.name, `START RequestId: ${requestId} Version: $LATEST`);
    lines.push(`START RequestId: ${requestId} Version: $LATEST`);
    let outcome: RunOutcome;
    try {
      outcome = await sandbox.run({ requestId, event, invokedFunctionArn, traceId: traceId() }, lines);
    } finally {
      pool.release(sandbox);
    }
    const duration = performance.now() - started - (outcome.initMs ?? 0);
    const init = outcome.initMs === undefined ? '' : `\tInit Duration: ${outcome.initMs.toFixed(2)} ms`;
    for (const line of [
      `END RequestId: ${requestId}`,
      `REPORT RequestId: ${requestId}\tDuration: ${duration.toFixed(2)} ms\tBilled Duration: ${Math.ceil(duration)} ms\tMemory Size: ${pool.fn.memoryMb} MB${init}`,
    ]) {
      this.log(pool.fn.name, line);
      lines.push(line);
    }
    return { outcome, lines };
  }

  /**
   * Serves the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) on 127.0.0.1.
   * @param options.port - @default the port of `endpoints.lambda` when it names one, else a free port
   */
  async start(options: { readonly port?: number } = {}): Promise<InvokeServer> {
    const fromEndpoint = Number(/:(\d+)\/?$/.exec(this.endpoints?.lambda ?? '')?.[1] ?? 0);
    const server = await startInvokeServer(this, options.port ?? fromEndpoint);
    const tracked: InvokeServer = {
      endpoint: server.endpoint,
      stop: async () => {
        this.servers.delete(tracked);
        await server.stop();
      },
    };
    this.servers.add(tracked);
    return tracked;
  }

  /** The same as `start`. */
  listen(options: { readonly port?: number } = {}): Promise<InvokeServer> {
    return this.start(options);
  }

  /** Stops the Invoke API servers and terminates every worker; pending invocations fail. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.servers].map((s) => s.stop()));
    await Promise.all([...this.pools.values()].map((p) => p.stop()));
    await Promise.allSettled([...this.background]);
  }
}

function tailOf(lines: readonly string[]): string {
  const text = `${lines.join('\n')}\n`;
  const bytes = Buffer.from(text);
  return bytes.length <= LOG_TAIL_BYTES
    ? text
    : bytes.subarray(bytes.length - LOG_TAIL_BYTES).toString('utf8');
}
