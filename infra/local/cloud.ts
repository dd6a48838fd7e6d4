/**
 * The local cloud: starts the engines, provisions what a synthesized cloud assembly declares, and
 * runs its functions, state machines, API routes and schedules on this machine.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CreateModelPackageGroupCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { type ApiGateway, startApiGateway } from './apigateway.ts';
import { loadAssembly } from './assembly/index.ts';
import { type AutoScalingEmulator, startAutoScaling } from './autoscaling.ts';
import { type LocalCloudWatch, startCloudWatch } from './cloudwatch/index.ts';
import { LOCAL_CREDENTIALS } from './engines/credentials.ts';
import { type DynamoDbEngine, startDynamoDb } from './engines/dynamodb.ts';
import { startS3 } from './engines/s3.ts';
import { type FirehoseEmulator, startFirehose } from './firehose.ts';
import { startKms } from './kms.ts';
import { LambdaRuntime } from './lambda/index.ts';
import {
  endpointEnvironment,
  type LocalAssembly,
  type LocalEndpoints,
  type LocalPlacement,
  type LocalSchedule,
} from './model.ts';
import { provision } from './provision.ts';
import type { SageMakerEmulator } from './sagemaker/index.ts';
import { startSageMaker } from './sagemaker/index.ts';
import { type Scheduler, scheduledEventFor, startScheduler } from './scheduler.ts';
import { startSns } from './sns.ts';
import { type StepFunctionsEmulator, startStepFunctions } from './stepfunctions/index.ts';
import { startTriggers, type Triggers } from './triggers.ts';

/** Fixed ports, when a caller needs stable URLs; each defaults to a free port. */
export interface LocalPorts {
  readonly api?: number;
  readonly dynamodb?: number;
  readonly s3?: number;
  readonly lambda?: number;
  readonly stepfunctions?: number;
  readonly sagemaker?: number;
  readonly sns?: number;
  readonly kms?: number;
  readonly cloudwatch?: number;
  readonly autoscaling?: number;
  readonly firehose?: number;
}

export interface LocalCloudOptions {
  /** The synthesized cloud assembly (cdk.out). */
  readonly cdkOut: string;
  /**
   * Folder that persists DynamoDB and S3 data across restarts.
   * @default - in memory, discarded on stop (tests)
   */
  readonly dataDir?: string;
  /** @default - free ports */
  readonly ports?: LocalPorts;
  /**
   * Receives every log line (function output is prefixed with the function name).
   * @default - console.log
   */
  readonly log?: (line: string) => void;
  /**
   * Accept unsigned requests on IAM-authorized routes.
   * @default false
   */
  readonly iamBypass?: boolean;
  /**
   * Multiplies Retry intervals, Wait states, CloudWatch alarm periods and Firehose buffering
   * intervals, to keep tests fast.
   * @default 1
   */
  readonly timeScale?: number;
  /**
   * Fire EventBridge schedules on their real period.
   * @default false - fire them with `tick()` (or `mlops local tick`)
   */
  readonly runSchedules?: boolean;
  /**
   * JSON documents the API serves at `GET <path>`, for example the OpenAPI document.
   * @default - none
   */
  readonly documents?: Readonly<Record<string, () => unknown | Promise<unknown>>>;
  /**
   * Where `mlops local status` finds the running cloud.
   * @default - not written
   */
  readonly stateFile?: string;
}

/** How long each start-up phase took, in milliseconds. */
export interface StartupTimings {
  readonly engines: number;
  readonly dynamodb: number;
  readonly provision: number;
  readonly services: number;
  readonly total: number;
}

/** A running local cloud. */
export interface LocalCloud {
  readonly assembly: LocalAssembly;
  readonly endpoints: LocalEndpoints;
  /** Base URL of the API Gateway emulator. */
  readonly apiEndpoint: string;
  /** Environment that points AWS SDK clients (and the CLI) at this cloud. */
  readonly clientEnvironment: Readonly<Record<string, string>>;
  readonly dynamodbEngine: DynamoDbEngine['kind'];
  readonly timings: StartupTimings;
  readonly lambda: LambdaRuntime;
  readonly stepfunctions: StepFunctionsEmulator;
  readonly sagemaker: SageMakerEmulator;
  /** Metrics and the template's alarms, evaluated on them. */
  readonly cloudwatch: LocalCloudWatch;
  /** Scalable targets and scaling policies, as registered. */
  readonly autoscaling: AutoScalingEmulator;
  /** Firehose streams to S3; `flush()` delivers what they buffer without waiting for their interval. */
  readonly firehose: FirehoseEmulator;
  /** Resolves once every S3 and stream event seen so far has been delivered. */
  settle(): Promise<void>;
  /** Fires one schedule (or all) now; resolves with what each target returned. */
  tick(scheduleName?: string): Promise<{ schedule: string; target: string; result: unknown }[]>;
  /** Messages published to SNS topics. */
  snsMessages(topicArn?: string): readonly { topicArn: string; subject?: string; message: string }[];
  /** Stops everything this cloud started. */
  stop(): Promise<void>;
}

/** What `mlops local status` reads: where each service of a running cloud listens. */
export interface LocalCloudState {
  readonly pid: number;
  readonly startedAt: string;
  readonly cdkOut: string;
  readonly dataDir: string | null;
  readonly apiEndpoint: string;
  readonly endpoints: LocalEndpoints;
  readonly dynamodbEngine: string;
  readonly functions: readonly string[];
  readonly stateMachines: readonly { name: string; arn: string }[];
  readonly routes: readonly string[];
  readonly schedules: readonly {
    name: string;
    arn: string;
    expression: string;
    targets: readonly { arn: string; input?: string }[];
  }[];
  readonly placement: LocalPlacement;
  readonly tables: readonly string[];
  readonly buckets: readonly string[];
  /** The template's KMS keys (the ledger's signing key among them). */
  readonly keys: readonly { logicalId: string; arn: string; keySpec: string }[];
}

/** Starts the local cloud for a synthesized assembly. */
export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = performance.now();
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    // splice: a second call (stop after a failed start, or stop twice) finds nothing left to stop.
    for (const stop of stops.splice(0).reverse())
      await stop().catch((e: unknown) => log(`stop failed: ${String(e)}`));
  };
  try {
    const assembly = loadAssembly(options.cdkOut);
    const dataDir = options.dataDir ? resolve(options.dataDir) : undefined;
    if (dataDir) mkdirSync(dataDir, { recursive: true });

    const t0 = performance.now();
    let dynamodbMs = 0;
    const [dynamodbStart, s3Start] = await Promise.allSettled([
      startDynamoDb({
        port: options.ports?.dynamodb,
        dataDir: dataDir ? join(dataDir, 'dynamodb') : undefined,
        cacheDir: dataDir ? join(dataDir, '..', 'cache') : undefined,
        log: (line) => (line.startsWith('WARNING') ? log(line) : undefined),
      }).then((engine: DynamoDbEngine) => {
        dynamodbMs = performance.now() - t0;
        return engine;
      }),
      startS3({
        port: options.ports?.s3,
        dataDir: dataDir ? join(dataDir, 's3') : undefined,
        objectLock: new Map(
          assembly.buckets.flatMap((b) => (b.objectLock ? [[b.name, b.objectLock] as const] : [])),
        ),
      }),
    ]);
    // Register whichever engine started before failing, so the one that did is not leaked.
    for (const engine of [dynamodbStart, s3Start]) {
      if (engine.status === 'fulfilled') stops.push(() => engine.value.stop());
    }
    if (dynamodbStart.status === 'rejected') throw dynamodbStart.reason;
    if (s3Start.status === 'rejected') throw s3Start.reason;
    const dynamodb = dynamodbStart.value;
    const s3 = s3Start.value;
    const enginesMs = performance.now() - t0;

    const t1 = performance.now();
    await provision(assembly, { dynamodb: dynamodb.endpoint, s3: s3.endpoint });
    const provisionMs = performance.now() - t1;

    const t2 = performance.now();
    const sns = await startSns({
      port: options.ports?.sns,
      region: assembly.placement.region,
      strictTopics: true,
    });
    stops.push(() => sns.stop());
    await createTopics(assembly, sns.endpoint);
    const kms = await startKms({
      keys: assembly.keys,
      placement: assembly.placement,
      port: options.ports?.kms,
      dataDir: dataDir ? join(dataDir, 'kms') : undefined,
    });
    stops.push(() => kms.stop());
    const cloudwatch = await startCloudWatch({
      placement: assembly.placement,
      alarms: assembly.alarms,
      timeScale: options.timeScale ?? 1,
      port: options.ports?.cloudwatch,
      log,
    });
    stops.push(() => cloudwatch.stop());
    const autoscaling = await startAutoScaling({
      placement: assembly.placement,
      port: options.ports?.autoscaling,
    });
    stops.push(() => autoscaling.stop());
    // Pushed after S3, so it stops (delivering what it buffers) while S3 still runs.
    const firehose = await startFirehose({
      placement: assembly.placement,
      streams: assembly.deliveryStreams,
      s3Endpoint: s3.endpoint,
      timeScale: options.timeScale ?? 1,
      port: options.ports?.firehose,
      metrics: cloudwatch,
      log,
    });
    stops.push(() => firehose.stop());
    const sagemaker = await startSageMaker({
      s3Endpoint: s3.endpoint,
      placement: assembly.placement,
      port: options.ports?.sagemaker,
      metrics: cloudwatch,
      firingAlarms: (names) => cloudwatch.firingAlarms(names),
    });
    stops.push(() => sagemaker.stop());
    await createModelPackageGroups(assembly, sagemaker.endpoint);
    // The Lambda runtime needs every endpoint, including its own and Step Functions', before any
    // function runs; the servers listen first, then the runtime learns the URLs.
    const lambdaPort = options.ports?.lambda;
    const lambda = new LambdaRuntime({
      functions: assembly.functions,
      // EMF lines become metrics, as CloudWatch Logs extracts them from a function's log group.
      log: (fn: string, line: string) => {
        if (cloudwatch.ingestLogLine(line) === 0) log(`[${fn}] ${line}`);
      },
    });
    stops.push(() => lambda.stop());
    const lambdaServer = await lambda.listen({ port: lambdaPort });
    const stepfunctions = await startStepFunctions({
      stateMachines: assembly.stateMachines,
      invokeLambda: (arn: string, payload: unknown) => lambda.invokeOrThrow(arn, payload),
      endpoints: { sagemaker: sagemaker.endpoint, dynamodb: dynamodb.endpoint, sns: sns.endpoint },
      placement: assembly.placement,
      port: options.ports?.stepfunctions,
      retryIntervalScale: options.timeScale,
    });
    stops.push(() => stepfunctions.stop());
    const endpoints: LocalEndpoints = {
      dynamodb: dynamodb.endpoint,
      s3: s3.endpoint,
      lambda: lambdaServer.endpoint,
      stepfunctions: stepfunctions.endpoint,
      sagemaker: sagemaker.endpoint,
      sagemakerRuntime: sagemaker.runtimeEndpoint,
      sns: sns.endpoint,
      kms: kms.endpoint,
      cloudwatch: cloudwatch.endpoint,
      autoscaling: autoscaling.endpoint,
      firehose: firehose.endpoint,
    };
    lambda.setEndpoints(endpoints, assembly.placement);
    const api: ApiGateway = await startApiGateway({
      assembly,
      runtime: lambda,
      port: options.ports?.api,
      iamBypass: options.iamBypass ?? false,
      ...(options.documents ? { documents: options.documents } : {}),
    });
    stops.push(() => api.stop());
    const triggers: Triggers = startTriggers({
      assembly,
      s3,
      dynamodbEndpoint: dynamodb.endpoint,
      lambda,
      log,
    });
    stops.push(() => triggers.stop());
    const scheduler: Scheduler = startScheduler({
      schedules: assembly.schedules,
      fire: (schedule: LocalSchedule, target) =>
        fireTarget(schedule, target, lambda, stepfunctions.endpoint, assembly.placement),
      auto: options.runSchedules ?? false,
      log,
    });
    stops.push(async () => scheduler.stop());
    const servicesMs = performance.now() - t2;

    const clientEnvironment = endpointEnvironment(endpoints, assembly.placement);
    if (options.stateFile) {
      const state: LocalCloudState = {
        pid: process.pid,
        startedAt: new Date().toISOString(),
        cdkOut: resolve(options.cdkOut),
        dataDir: dataDir ?? null,
        apiEndpoint: api.endpoint,
        endpoints,
        dynamodbEngine: dynamodb.kind,
        functions: assembly.functions.map((f) => f.name),
        stateMachines: assembly.stateMachines.map((m) => ({ name: m.name, arn: m.arn })),
        routes: assembly.routes.map(
          (r) => `${r.method} ${api.url(r.stageName, r.path)} (${r.authorization})`,
        ),
        schedules: assembly.schedules.map((s) => ({
          name: s.name,
          arn: s.arn,
          expression: s.expression,
          targets: s.targets,
        })),
        placement: assembly.placement,
        tables: assembly.tables.map((t) => t.name),
        buckets: assembly.buckets.map((b) => b.name),
        keys: assembly.keys.map((k) => ({ logicalId: k.logicalId, arn: k.arn, keySpec: k.keySpec })),
      };
      const stateFile = options.stateFile;
      writeFileSync(stateFile, JSON.stringify(state, null, 2));
      stops.unshift(async () => rmSync(stateFile, { force: true }));
    }
    return {
      assembly,
      endpoints,
      apiEndpoint: api.endpoint,
      clientEnvironment,
      dynamodbEngine: dynamodb.kind,
      timings: {
        engines: enginesMs,
        dynamodb: dynamodbMs,
        provision: provisionMs,
        services: servicesMs,
        total: performance.now() - started,
      },
      lambda,
      stepfunctions,
      sagemaker,
      cloudwatch,
      autoscaling,
      firehose,
      settle: () => triggers.idle(),
      tick: (name) => scheduler.tick(name),
      snsMessages: (topicArn) => sns.messages(topicArn),
      stop: stopAll,
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

async function fireTarget(
  schedule: LocalSchedule,
  target: { readonly arn: string; readonly input?: string },
  lambda: LambdaRuntime,
  stepfunctionsEndpoint: string,
  placement: LocalPlacement,
): Promise<unknown> {
  const event = scheduledEventFor(schedule, target, placement);
  if (target.arn.includes(':states:')) {
    const client = new SFNClient({
      endpoint: stepfunctionsEndpoint,
      region: placement.region,
      credentials: LOCAL_CREDENTIALS,
    });
    try {
      return await client.send(
        new StartExecutionCommand({ stateMachineArn: target.arn, input: JSON.stringify(event) }),
      );
    } finally {
      client.destroy();
    }
  }
  return lambda.invokeOrThrow(target.arn, event);
}

/** Creates each of `items` with a short-lived client of the emulator at `endpoint`. */
async function createEach<C extends { destroy(): void }, T>(
  items: readonly T[],
  client: () => C,
  create: (client: C, item: T) => Promise<unknown>,
): Promise<void> {
  if (items.length === 0) return;
  const c = client();
  try {
    for (const item of items) await create(c, item);
  } finally {
    c.destroy();
  }
}

/** Creates the template's topics, so a Publish to any other topic fails with NotFound as in AWS. */
function createTopics(assembly: LocalAssembly, endpoint: string): Promise<void> {
  return createEach(
    assembly.topics,
    () => new SNSClient({ endpoint, region: assembly.placement.region, credentials: LOCAL_CREDENTIALS }),
    (client, topic) => client.send(new CreateTopicCommand({ Name: topic.name })),
  );
}

/** Creates the template's model package groups (the registry) in the SageMaker emulator. */
function createModelPackageGroups(assembly: LocalAssembly, endpoint: string): Promise<void> {
  return createEach(
    assembly.modelPackageGroups,
    () =>
      new SageMakerClient({ endpoint, region: assembly.placement.region, credentials: LOCAL_CREDENTIALS }),
    (client, group) => client.send(new CreateModelPackageGroupCommand({ ModelPackageGroupName: group.name })),
  );
}
