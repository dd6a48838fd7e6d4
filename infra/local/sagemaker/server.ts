/**
 * The local SageMaker emulator: the control-plane subset (AWS JSON 1.1, `X-Amz-Target: SageMaker.<Op>`)
 * and the runtime's `POST /endpoints/{name}/invocations` on the same port.
 */

import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localS3Client } from '../clients.ts';
import type { MetricSink } from '../cloudwatch/metrics.ts';
import { listenLocal, readBody, sendAwsJson, sendAwsJsonError } from '../http.ts';
import type { LocalPlacement } from '../model.ts';
import { type AlgorithmRegistration, AlgorithmRegistry } from './algorithm.ts';
import { BUILT_IN_ALGORITHMS } from './algorithms/index.ts';
import { SageMakerApiError } from './api-error.ts';
import type { EmulatorContext } from './context.ts';
import { FaultInjector } from './faults.ts';
import { Hosting, ModelInvocationError } from './hosting.ts';
import { ModelPackages } from './model-packages.ts';
import { TrainingJobs } from './training.ts';
import { TransformJobs } from './transform.ts';

export interface SageMakerOptions {
  /** The S3 emulator that holds training data and model artifacts. */
  readonly s3Endpoint: string;
  /** Region and account used in ARNs. */
  readonly placement: LocalPlacement;
  /** @default - a free port */
  readonly port?: number;
  /**
   * Extra image-to-algorithm registrations; they win over the built-in ones for the same image.
   * @default - only the built-in algorithms (see algorithms/index.ts)
   */
  readonly algorithms?: readonly AlgorithmRegistration[];
  /**
   * Where endpoints send their AWS/SageMaker metrics, usually the local CloudWatch.
   * @default - no metrics
   */
  readonly metrics?: MetricSink;
  /**
   * Which of the named alarms are in ALARM, usually the local CloudWatch's; UpdateEndpoint's
   * AutoRollbackConfiguration reads it.
   * @default - no alarm ever fires
   */
  readonly firingAlarms?: (names: readonly string[]) => string[];
}

/** A running SageMaker emulator. */
export interface SageMakerEmulator {
  /** Control-plane endpoint (AWS_ENDPOINT_URL_SAGEMAKER). */
  readonly endpoint: string;
  /** Runtime endpoint (AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME); the same server. */
  readonly runtimeEndpoint: string;
  readonly port: number;
  /** Fault hooks: `faults.inject('CreateTrainingJob', { error: 'ThrottlingException', times: 2 })`. */
  readonly faults: FaultInjector;
  /** Differences from AWS that callers should know about. */
  readonly limitations: readonly string[];
  stop(): Promise<void>;
}

type Operation = (body: unknown) => unknown;

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Starts the SageMaker emulator on 127.0.0.1. */
export async function startSageMaker(options: SageMakerOptions): Promise<SageMakerEmulator> {
  const workRoot = await mkdtemp(join(tmpdir(), 'sagemaker-'));
  const faults = new FaultInjector();
  const ctx: EmulatorContext = {
    region: options.placement.region,
    account: options.placement.account,
    s3: localS3Client(options.s3Endpoint, options.placement.region),
    algorithms: new AlgorithmRegistry([...BUILT_IN_ALGORITHMS, ...(options.algorithms ?? [])]),
    workRoot,
    faults,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.firingAlarms ? { firingAlarms: options.firingAlarms } : {}),
  };
  const packages = new ModelPackages(ctx);
  const hosting = new Hosting(ctx, packages);
  const training = new TrainingJobs(ctx);
  const transforms = new TransformJobs(ctx, hosting);

  const operations: Readonly<Record<string, Operation>> = {
    CreateTrainingJob: (b) => training.create(b),
    DescribeTrainingJob: (b) => training.describe(b),
    StopTrainingJob: (b) => training.stop(b),
    CreateModel: (b) => hosting.createModel(b),
    DescribeModel: (b) => hosting.describeModel(b),
    DeleteModel: (b) => hosting.deleteModel(b),
    CreateEndpointConfig: (b) => hosting.createEndpointConfig(b),
    DescribeEndpointConfig: (b) => hosting.describeEndpointConfig(b),
    DeleteEndpointConfig: (b) => hosting.deleteEndpointConfig(b),
    CreateEndpoint: (b) => hosting.createEndpoint(b),
    UpdateEndpoint: (b) => hosting.updateEndpoint(b),
    UpdateEndpointWeightsAndCapacities: (b) => hosting.updateEndpointWeightsAndCapacities(b),
    DescribeEndpoint: (b) => hosting.describeEndpoint(b),
    DeleteEndpoint: (b) => hosting.deleteEndpoint(b),
    ListEndpoints: (b) => hosting.listEndpoints(b),
    CreateModelPackageGroup: (b) => packages.createGroup(b),
    DescribeModelPackageGroup: (b) => packages.describeGroup(b),
    CreateModelPackage: (b) => packages.create(b),
    DescribeModelPackage: (b) => packages.describe(b),
    ListModelPackages: (b) => packages.list(b),
    UpdateModelPackage: (b) => packages.update(b),
    CreateTransformJob: (b) => transforms.create(b),
    DescribeTransformJob: (b) => transforms.describe(b),
  };

  const injected = (operation: string): SageMakerApiError | undefined => {
    const fault = faults.take(operation);
    return fault && new SageMakerApiError(fault.error, fault.message, fault.statusCode);
  };

  const controlPlane = async (target: string, raw: Buffer, res: ServerResponse): Promise<void> => {
    const operation = target.slice('SageMaker.'.length);
    const handler = operations[operation];
    if (!handler) {
      throw new SageMakerApiError(
        'UnknownOperationException',
        `The local SageMaker emulator does not implement ${operation}.`,
      );
    }
    const fault = injected(operation);
    if (fault) throw fault;
    let body: unknown;
    try {
      body = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
    } catch {
      throw new SageMakerApiError('SerializationException', 'The request body is not valid JSON.');
    }
    sendAwsJson(res, 200, await handler(body));
  };

  const runtime = async (endpointName: string, req: IncomingMessage, raw: Buffer, res: ServerResponse) => {
    const fault = injected('InvokeEndpoint');
    if (fault) throw fault;
    const targetVariant = header(req, 'x-amzn-sagemaker-target-variant');
    try {
      const out = await hosting.invoke({
        endpointName,
        body: raw,
        contentType: header(req, 'content-type') ?? 'application/octet-stream',
        ...(targetVariant === undefined ? {} : { targetVariant }),
      });
      res.writeHead(200, {
        'content-type': out.contentType,
        'x-amzn-invoked-production-variant': out.invokedVariant,
        'x-amzn-requestid': randomUUID(),
      });
      res.end(out.body);
    } catch (e) {
      if (!(e instanceof ModelInvocationError)) throw e;
      const message = `Received server error (500) from primary with message "${e.message}". See https://${ctx.region}.console.aws.amazon.com/cloudwatch/home?region=${ctx.region}#logEventViewer:group=/aws/sagemaker/Endpoints/${endpointName} in account ${ctx.account} for more information.`;
      sendAwsJsonError(res, new SageMakerApiError('ModelError', message, 424), {
        OriginalStatusCode: 500,
        OriginalMessage: e.message,
        LogStreamArn: `arn:aws:logs:${ctx.region}:${ctx.account}:log-group:/aws/sagemaker/Endpoints/${endpointName}`,
      });
    }
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const invocation = /^\/endpoints\/([^/]+)\/invocations$/.exec(url.pathname);
    readBody(req)
      .then(async (raw) => {
        if (req.method === 'POST' && invocation?.[1]) {
          return runtime(decodeURIComponent(invocation[1]), req, raw, res);
        }
        const target = header(req, 'x-amz-target') ?? '';
        if (req.method !== 'POST' || !target.startsWith('SageMaker.')) {
          throw new SageMakerApiError(
            'UnknownOperationException',
            `No operation for ${req.method} ${url.pathname}`,
            404,
          );
        }
        return controlPlane(target, raw, res);
      })
      .catch((e: unknown) => {
        if (e instanceof SageMakerApiError) return sendAwsJsonError(res, e);
        sendAwsJsonError(
          res,
          new SageMakerApiError(
            'InternalFailure',
            'The request processing has failed because of an unknown error.',
            500,
          ),
        );
      });
  });
  const { endpoint, port, close } = await listenLocal(server, options.port);
  return {
    endpoint,
    runtimeEndpoint: endpoint,
    port,
    faults,
    limitations: [
      'Training and serving run local TypeScript algorithms chosen by image; no containers run.',
      'Only S3Prefix channels in File mode; no Pipe mode, manifests, distributed training or spot.',
      'Endpoints ignore instance types, autoscaling and data capture.',
      'Blue/green updates shift all traffic at once; AutoRollbackConfiguration is checked when the new fleet is ready, not through a bake window.',
      'Metrics: Invocations, Invocation5XXErrors, Invocation4XXErrors and ModelLatency per endpoint and variant; no logs.',
    ],
    async stop() {
      await close();
      await training.close();
      await transforms.close();
      await hosting.close();
      ctx.s3.destroy();
      await rm(workRoot, { recursive: true, force: true });
    },
  };
}
