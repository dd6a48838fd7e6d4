/** Hosting: models, endpoint configs, endpoints and InvokeEndpoint with weighted production variants. */
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { unpackObject } from '../../../shared/archive.ts';
import { objectExists, parseS3Uri } from '../../../shared/s3.ts';
import type { InvocationResult, ServedModel } from './algorithm.ts';
import { SageMakerApiError, validationError } from './api-error.ts';
import { type EmulatorContext, paginate, parseRequest, RESOURCE_NAME, sageMakerArn } from './context.ts';
import type { ModelPackages } from './model-packages.ts';

const ContainerSchema = z.looseObject({
  Image: z.string().min(1).optional(),
  ModelDataUrl: z.string().optional(),
  ModelPackageName: z.string().optional(),
  Environment: z.record(z.string(), z.string()).optional(),
});
const CreateModelSchema = z.looseObject({
  ModelName: z.string().regex(RESOURCE_NAME),
  PrimaryContainer: ContainerSchema.optional(),
  Containers: z.array(ContainerSchema).optional(),
  ExecutionRoleArn: z.string().optional(),
});
const ModelNameSchema = z.looseObject({ ModelName: z.string().min(1) });
const VariantSchema = z.looseObject({
  VariantName: z.string().min(1),
  ModelName: z.string().min(1),
  InitialInstanceCount: z.number().int().min(1).optional(),
  InstanceType: z.string().optional(),
  InitialVariantWeight: z.number().min(0).optional(),
  ServerlessConfig: z.looseObject({}).optional(),
});
const CreateConfigSchema = z.looseObject({
  EndpointConfigName: z.string().regex(RESOURCE_NAME),
  ProductionVariants: z.array(VariantSchema).min(1).max(10),
  DataCaptureConfig: z.looseObject({}).optional(),
});
const ConfigNameSchema = z.looseObject({ EndpointConfigName: z.string().min(1) });
const CreateEndpointSchema = z.looseObject({
  EndpointName: z.string().regex(RESOURCE_NAME),
  EndpointConfigName: z.string().min(1),
});
const UpdateEndpointSchema = z.looseObject({
  EndpointName: z.string().min(1),
  EndpointConfigName: z.string().min(1),
  DeploymentConfig: z
    .looseObject({
      AutoRollbackConfiguration: z
        .looseObject({
          Alarms: z
            .array(z.looseObject({ AlarmName: z.string().min(1) }))
            .max(10)
            .optional(),
        })
        .optional(),
    })
    .optional(),
});
const UpdateWeightsSchema = z.looseObject({
  EndpointName: z.string().min(1),
  DesiredWeightsAndCapacities: z
    .array(z.looseObject({ VariantName: z.string(), DesiredWeight: z.number().min(0).optional() }))
    .min(1),
});
const EndpointNameSchema = z.looseObject({ EndpointName: z.string().min(1) });
const ListEndpointsSchema = z.looseObject({
  SortBy: z.enum(['Name', 'CreationTime', 'Status']).optional(),
  SortOrder: z.enum(['Ascending', 'Descending']).optional(),
  NameContains: z.string().optional(),
  StatusEquals: z.string().optional(),
  MaxResults: z.number().int().min(1).max(100).optional(),
  NextToken: z.string().optional(),
});

type CreateModelRequest = z.infer<typeof CreateModelSchema>;
type CreateConfigRequest = z.infer<typeof CreateConfigSchema>;

interface Model {
  readonly request: CreateModelRequest;
  readonly arn: string;
  readonly creationTime: Date;
  readonly image: string;
  readonly modelDataUrl?: string;
}

interface EndpointConfig {
  readonly request: CreateConfigRequest;
  readonly arn: string;
  readonly creationTime: Date;
}

interface LoadedVariant {
  readonly name: string;
  readonly modelName: string;
  readonly image: string;
  readonly instanceCount: number;
  weight: number;
  readonly served: ServedModel;
  readonly dir: string;
}

interface Endpoint {
  readonly name: string;
  readonly arn: string;
  readonly creationTime: Date;
  configName: string;
  status: 'Creating' | 'InService' | 'Updating' | 'RollingBack' | 'Failed' | 'Deleting';
  failureReason?: string;
  lastModifiedTime: Date;
  variants: LoadedVariant[];
  /** The background create or update, awaited on shutdown. */
  work?: Promise<void>;
  deleted?: boolean;
}

/** A request to InvokeEndpoint, as the runtime API receives it. */
export interface InvokeRequest {
  readonly endpointName: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly targetVariant?: string;
}

/** The result of InvokeEndpoint: the model's answer and the variant that served it. */
export interface InvokeResponse extends InvocationResult {
  readonly invokedVariant: string;
}

/** Raised when the model container fails a request (runtime `ModelError`, HTTP 424). */
export class ModelInvocationError extends Error {
  override readonly name: string = 'ModelInvocationError';
}

/** Models, endpoint configs and endpoints. */
export class Hosting {
  private readonly models = new Map<string, Model>();
  private readonly configs = new Map<string, EndpointConfig>();
  private readonly endpoints = new Map<string, Endpoint>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly packages: ModelPackages,
  ) {}

  async createModel(body: unknown): Promise<{ ModelArn: string }> {
    const r = parseRequest(CreateModelSchema, body);
    const arn = sageMakerArn(this.ctx, 'model', r.ModelName);
    if (this.models.has(r.ModelName)) throw validationError(`Cannot create already existing model "${arn}".`);
    const container = r.PrimaryContainer ?? r.Containers?.[0];
    if (!container) throw validationError('Either PrimaryContainer or Containers must be specified.');
    let image = container.Image;
    let modelDataUrl = container.ModelDataUrl;
    if (container.ModelPackageName !== undefined) {
      const fromPackage = this.packages.container(container.ModelPackageName);
      image = fromPackage.image;
      modelDataUrl = fromPackage.modelDataUrl;
    }
    if (!image) throw validationError('The container must specify an Image or a ModelPackageName.');
    // SageMaker answers every unreadable model data location alike, whatever S3 said.
    const exists = (url: string) => objectExists(this.ctx.s3, parseS3Uri(url)).catch(() => false);
    if (modelDataUrl !== undefined && !(await exists(modelDataUrl))) {
      throw validationError(`Could not find model data at ${modelDataUrl}.`);
    }
    this.models.set(r.ModelName, {
      request: r,
      arn,
      creationTime: new Date(),
      image,
      ...(modelDataUrl === undefined ? {} : { modelDataUrl }),
    });
    return { ModelArn: arn };
  }

  describeModel(body: unknown): Record<string, unknown> {
    const model = this.model(parseRequest(ModelNameSchema, body).ModelName);
    return {
      ...model.request,
      ModelArn: model.arn,
      CreationTime: model.creationTime,
      EnableNetworkIsolation: false,
    };
  }

  deleteModel(body: unknown): Record<string, never> {
    const name = parseRequest(ModelNameSchema, body).ModelName;
    this.model(name);
    this.models.delete(name);
    return {};
  }

  createEndpointConfig(body: unknown): { EndpointConfigArn: string } {
    const r = parseRequest(CreateConfigSchema, body);
    const arn = sageMakerArn(this.ctx, 'endpoint-config', r.EndpointConfigName);
    if (this.configs.has(r.EndpointConfigName)) {
      throw validationError(`Cannot create already existing endpoint configuration "${arn}".`);
    }
    for (const v of r.ProductionVariants) this.model(v.ModelName);
    if (r.DataCaptureConfig && r.ProductionVariants.some((v) => v.ServerlessConfig)) {
      throw validationError('DataCaptureConfig is not supported for serverless endpoints.');
    }
    this.configs.set(r.EndpointConfigName, { request: r, arn, creationTime: new Date() });
    return { EndpointConfigArn: arn };
  }

  describeEndpointConfig(body: unknown): Record<string, unknown> {
    const config = this.config(parseRequest(ConfigNameSchema, body).EndpointConfigName);
    return { ...config.request, EndpointConfigArn: config.arn, CreationTime: config.creationTime };
  }

  deleteEndpointConfig(body: unknown): Record<string, never> {
    const name = parseRequest(ConfigNameSchema, body).EndpointConfigName;
    this.config(name);
    this.configs.delete(name);
    return {};
  }

  createEndpoint(body: unknown): { EndpointArn: string } {
    const r = parseRequest(CreateEndpointSchema, body);
    const arn = sageMakerArn(this.ctx, 'endpoint', r.EndpointName);
    if (this.endpoints.has(r.EndpointName))
      throw validationError(`Cannot create already existing endpoint "${arn}".`);
    const config = this.config(r.EndpointConfigName);
    const now = new Date();
    const endpoint: Endpoint = {
      name: r.EndpointName,
      arn,
      creationTime: now,
      lastModifiedTime: now,
      configName: r.EndpointConfigName,
      status: 'Creating',
      variants: [],
    };
    this.endpoints.set(r.EndpointName, endpoint);
    endpoint.work = this.loadVariants(endpoint, config).then(
      (variants) => {
        if (endpoint.deleted) return void this.unload(variants);
        endpoint.variants = variants;
        endpoint.status = 'InService';
        endpoint.lastModifiedTime = new Date();
      },
      (e: unknown) => {
        endpoint.status = 'Failed';
        endpoint.failureReason = e instanceof Error ? e.message : String(e);
        endpoint.lastModifiedTime = new Date();
      },
    );
    return { EndpointArn: arn };
  }

  updateEndpoint(body: unknown): { EndpointArn: string } {
    const r = parseRequest(UpdateEndpointSchema, body);
    const endpoint = this.endpoint(r.EndpointName);
    if (endpoint.status !== 'InService') {
      throw validationError(`Cannot update in-progress endpoint "${endpoint.arn}".`);
    }
    const config = this.config(r.EndpointConfigName);
    const rollbackAlarms = (r.DeploymentConfig?.AutoRollbackConfiguration?.Alarms ?? []).map(
      (a) => a.AlarmName,
    );
    endpoint.status = 'Updating';
    endpoint.lastModifiedTime = new Date();
    delete endpoint.failureReason;
    endpoint.work = this.loadVariants(endpoint, config).then(
      (variants) => {
        if (endpoint.deleted) return void this.unload(variants);
        // Blue/green: before the old fleet goes, any auto-rollback alarm in ALARM rolls the update back.
        const firing = rollbackAlarms.length === 0 ? [] : (this.ctx.firingAlarms?.(rollbackAlarms) ?? []);
        if (firing.length > 0) {
          endpoint.status = 'InService';
          endpoint.failureReason = `Rolled back the update to ${r.EndpointConfigName}: alarm(s) ${firing.join(', ')} in ALARM during the deployment.`;
          endpoint.lastModifiedTime = new Date();
          return void this.unload(variants);
        }
        const previous = endpoint.variants;
        endpoint.variants = variants;
        endpoint.configName = r.EndpointConfigName;
        endpoint.status = 'InService';
        endpoint.lastModifiedTime = new Date();
        void this.unload(previous);
      },
      (e: unknown) => {
        // SageMaker rolls a failed update back: the old variants keep serving.
        endpoint.status = 'InService';
        endpoint.failureReason = e instanceof Error ? e.message : String(e);
        endpoint.lastModifiedTime = new Date();
      },
    );
    return { EndpointArn: endpoint.arn };
  }

  updateEndpointWeightsAndCapacities(body: unknown): { EndpointArn: string } {
    const r = parseRequest(UpdateWeightsSchema, body);
    const endpoint = this.endpoint(r.EndpointName);
    if (endpoint.status !== 'InService') {
      throw validationError(`Cannot update in-progress endpoint "${endpoint.arn}".`);
    }
    for (const desired of r.DesiredWeightsAndCapacities) {
      const variant = endpoint.variants.find((v) => v.name === desired.VariantName);
      if (!variant) throw validationError(`The variant name(s) [${desired.VariantName}] is/are not present.`);
      if (desired.DesiredWeight !== undefined) variant.weight = desired.DesiredWeight;
    }
    endpoint.lastModifiedTime = new Date();
    return { EndpointArn: endpoint.arn };
  }

  describeEndpoint(body: unknown): Record<string, unknown> {
    const endpoint = this.endpoint(parseRequest(EndpointNameSchema, body).EndpointName);
    return {
      EndpointName: endpoint.name,
      EndpointArn: endpoint.arn,
      EndpointConfigName: endpoint.configName,
      ...(endpoint.variants.length === 0
        ? {}
        : {
            ProductionVariants: endpoint.variants.map((v) => ({
              VariantName: v.name,
              DeployedImages: [
                { SpecifiedImage: v.image, ResolvedImage: v.image, ResolutionTime: endpoint.creationTime },
              ],
              CurrentWeight: v.weight,
              DesiredWeight: v.weight,
              CurrentInstanceCount: v.instanceCount,
              DesiredInstanceCount: v.instanceCount,
            })),
          }),
      EndpointStatus: endpoint.status,
      ...(endpoint.failureReason === undefined ? {} : { FailureReason: endpoint.failureReason }),
      CreationTime: endpoint.creationTime,
      LastModifiedTime: endpoint.lastModifiedTime,
    };
  }

  deleteEndpoint(body: unknown): Record<string, never> {
    const endpoint = this.endpoint(parseRequest(EndpointNameSchema, body).EndpointName);
    endpoint.deleted = true;
    this.endpoints.delete(endpoint.name);
    void this.unload(endpoint.variants);
    return {};
  }

  listEndpoints(body: unknown): Record<string, unknown> {
    const r = parseRequest(ListEndpointsSchema, body);
    const sortBy = r.SortBy ?? 'CreationTime';
    const direction = r.SortOrder === 'Ascending' ? 1 : -1;
    const matches = [...this.endpoints.values()]
      .filter((e) => r.NameContains === undefined || e.name.includes(r.NameContains))
      .filter((e) => r.StatusEquals === undefined || e.status === r.StatusEquals)
      .sort((a, b) => {
        if (sortBy === 'Name') return direction * a.name.localeCompare(b.name);
        if (sortBy === 'Status') return direction * a.status.localeCompare(b.status);
        return direction * (a.creationTime.getTime() - b.creationTime.getTime());
      });
    const { page, nextToken } = paginate(matches, r.MaxResults, r.NextToken);
    return {
      Endpoints: page.map((e) => ({
        EndpointName: e.name,
        EndpointArn: e.arn,
        CreationTime: e.creationTime,
        LastModifiedTime: e.lastModifiedTime,
        EndpointStatus: e.status,
      })),
      ...(nextToken === undefined ? {} : { NextToken: nextToken }),
    };
  }

  /** The image and model data URL of a model, for batch transform. */
  modelContainer(name: string): { image: string; modelDataUrl?: string } {
    const model = this.model(name);
    return {
      image: model.image,
      ...(model.modelDataUrl === undefined ? {} : { modelDataUrl: model.modelDataUrl }),
    };
  }

  /** Loads a model folder and serves it with its image's algorithm; used by endpoints and batch transform. */
  async serveModel(
    modelName: string,
    variantName: string,
  ): Promise<{ served: ServedModel; dir: string; image: string }> {
    const { image, modelDataUrl } = this.modelContainer(modelName);
    const healthFailure = `The primary container for production variant ${variantName} did not pass the ping health check. Please check CloudWatch logs for this endpoint.`;
    const algorithm = this.ctx.algorithms.resolve(image);
    if (!algorithm) {
      throw new Error(
        `${healthFailure} (no local algorithm is registered for image ${image}; registered: ${this.ctx.algorithms.images().join(', ')})`,
      );
    }
    const dir = await mkdtemp(join(this.ctx.workRoot, `model-${modelName}-`));
    try {
      if (modelDataUrl !== undefined) await unpackObject(this.ctx.s3, parseS3Uri(modelDataUrl), dir);
      const served = await algorithm.serve(dir);
      if (!(await served.ping())) throw new Error(healthFailure);
      return { served, dir, image };
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      if (e instanceof Error && e.message.startsWith(healthFailure)) throw e;
      throw new Error(`${healthFailure} (${e instanceof Error ? e.message : String(e)})`);
    }
  }

  /** Serves one request on an endpoint, picking a production variant by weight unless one is targeted. */
  async invoke(request: InvokeRequest): Promise<InvokeResponse> {
    const endpoint = this.endpoints.get(request.endpointName);
    const notFound = `Endpoint ${request.endpointName} of account ${this.ctx.account} not found.`;
    if (!endpoint) throw new SageMakerApiError('ValidationError', notFound);
    if (endpoint.variants.length === 0) {
      throw new SageMakerApiError(
        'ValidationError',
        `Endpoint ${request.endpointName} is not in service (status ${endpoint.status}).`,
      );
    }
    const variant =
      request.targetVariant === undefined
        ? pickByWeight(endpoint.variants)
        : endpoint.variants.find((v) => v.name === request.targetVariant);
    if (!variant) {
      throw new SageMakerApiError(
        'ValidationError',
        request.targetVariant === undefined
          ? `Endpoint ${request.endpointName} has no variant with a positive weight.`
          : `Variant ${request.targetVariant} not found for endpoint ${request.endpointName}.`,
      );
    }
    const started = performance.now();
    const count = (metricName: string, value: number, unit: 'Count' | 'Microseconds' = 'Count') =>
      this.ctx.metrics?.putMetricData('AWS/SageMaker', [
        {
          MetricName: metricName,
          Dimensions: [
            { Name: 'EndpointName', Value: endpoint.name },
            { Name: 'VariantName', Value: variant.name },
          ],
          Value: value,
          Unit: unit,
        },
      ]);
    count('Invocations', 1);
    try {
      // `InvokeModel:<ModelName>` faults make one model's container fail, as a bad release does.
      const fault = this.ctx.faults.take(`InvokeModel:${variant.modelName}`);
      if (fault) throw new Error(fault.message);
      const result = await variant.served.invocations(request.body, request.contentType);
      count('ModelLatency', Math.round((performance.now() - started) * 1000), 'Microseconds');
      count('Invocation5XXErrors', 0);
      return { ...result, invokedVariant: variant.name };
    } catch (e) {
      count('Invocation5XXErrors', 1);
      throw new ModelInvocationError(e instanceof Error ? e.message : String(e));
    }
  }

  /** Waits for background loads and releases every served model. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.endpoints.values()].map((e) => e.work));
    for (const endpoint of this.endpoints.values()) await this.unload(endpoint.variants);
    this.endpoints.clear();
  }

  private async loadVariants(endpoint: Endpoint, config: EndpointConfig): Promise<LoadedVariant[]> {
    const loaded: LoadedVariant[] = [];
    try {
      for (const v of config.request.ProductionVariants) {
        const { served, dir, image } = await this.serveModel(v.ModelName, v.VariantName);
        loaded.push({
          name: v.VariantName,
          modelName: v.ModelName,
          image,
          instanceCount: v.InitialInstanceCount ?? 1,
          weight: v.InitialVariantWeight ?? 1,
          served,
          dir,
        });
      }
    } catch (e) {
      await this.unload(loaded);
      throw e;
    }
    if (endpoint.deleted) await this.unload(loaded);
    return loaded;
  }

  private async unload(variants: readonly LoadedVariant[]): Promise<void> {
    await Promise.all(variants.map((v) => rm(v.dir, { recursive: true, force: true })));
  }

  private model(name: string): Model {
    const model = this.models.get(name);
    if (!model) throw validationError(`Could not find model "${sageMakerArn(this.ctx, 'model', name)}".`);
    return model;
  }

  private config(name: string): EndpointConfig {
    const config = this.configs.get(name);
    if (!config) {
      throw validationError(
        `Could not find endpoint configuration "${sageMakerArn(this.ctx, 'endpoint-config', name)}".`,
      );
    }
    return config;
  }

  private endpoint(name: string): Endpoint {
    const endpoint = this.endpoints.get(name);
    if (!endpoint)
      throw validationError(`Could not find endpoint "${sageMakerArn(this.ctx, 'endpoint', name)}".`);
    return endpoint;
  }
}

function pickByWeight(variants: readonly LoadedVariant[]): LoadedVariant | undefined {
  const total = variants.reduce((sum, v) => sum + v.weight, 0);
  if (total <= 0) return undefined;
  let roll = Math.random() * total;
  for (const v of variants) {
    if (v.weight <= 0) continue;
    roll -= v.weight;
    if (roll < 0) return v;
  }
  return variants.findLast((v) => v.weight > 0);
}
