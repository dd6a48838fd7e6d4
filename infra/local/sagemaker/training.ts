/** Training jobs: CreateTrainingJob runs the image's local algorithm with SageMaker's folder contract. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { parseS3Uri, putObject, S3InputError } from '../../../shared/s3.ts';
import { SageMakerApiError, validationError } from './api-error.ts';
import { type EmulatorContext, parseRequest, RESOURCE_NAME, sageMakerArn } from './context.ts';
import { downloadPrefix, hasFiles, joinS3Uri, packDir, S3_LOCATION, toS3Uri } from './s3-io.ts';

const CreateTrainingJobSchema = z.looseObject({
  TrainingJobName: z.string().regex(RESOURCE_NAME),
  AlgorithmSpecification: z.looseObject({
    TrainingImage: z.string().min(1),
    TrainingInputMode: z.string(),
  }),
  RoleArn: z.string().min(20),
  HyperParameters: z.record(z.string(), z.string()).optional(),
  InputDataConfig: z
    .array(
      z.looseObject({
        ChannelName: z.string().min(1),
        DataSource: z.looseObject({
          S3DataSource: z
            .looseObject({ S3DataType: z.string(), S3Uri: z.string().regex(S3_LOCATION) })
            .optional(),
        }),
        CompressionType: z.string().optional(),
      }),
    )
    .optional(),
  OutputDataConfig: z.looseObject({ S3OutputPath: z.string().regex(S3_LOCATION) }),
  ResourceConfig: z.looseObject({}),
  StoppingCondition: z.looseObject({ MaxRuntimeInSeconds: z.number().int().positive().optional() }),
});
type CreateTrainingJobRequest = z.infer<typeof CreateTrainingJobSchema>;

const NameSchema = z.looseObject({ TrainingJobName: z.string().min(1) });

type TrainingStatus = 'InProgress' | 'Completed' | 'Failed' | 'Stopping' | 'Stopped';

interface StatusTransition {
  Status: string;
  StartTime: Date;
  EndTime?: Date;
  StatusMessage: string;
}

interface TrainingJob {
  readonly request: CreateTrainingJobRequest;
  readonly arn: string;
  readonly creationTime: Date;
  status: TrainingStatus;
  secondaryStatus: string;
  failureReason?: string;
  trainingStartTime?: Date;
  trainingEndTime?: Date;
  lastModifiedTime: Date;
  modelArtifacts?: string;
  readonly transitions: StatusTransition[];
  readonly abort: AbortController;
  stopCause?: 'Stopped' | 'MaxRuntimeExceeded';
  /** Settles when the background run has finished; stop() waits for it. */
  done?: Promise<void>;
}

/** Raised for a job failure whose FailureReason is already in SageMaker's words. */
class TrainingFailure extends Error {
  override readonly name: string = 'TrainingFailure';
}

/** Creates, runs, describes and stops training jobs. */
export class TrainingJobs {
  private readonly jobs = new Map<string, TrainingJob>();

  constructor(private readonly ctx: EmulatorContext) {}

  create(body: unknown): { TrainingJobArn: string } {
    const request = parseRequest(CreateTrainingJobSchema, body);
    const name = request.TrainingJobName;
    const arn = sageMakerArn(this.ctx, 'training-job', name);
    if (this.jobs.has(name)) {
      throw new SageMakerApiError(
        'ResourceInUse',
        `Training job names must be unique within an AWS account and region, and a training job with this name already exists (${arn})`,
      );
    }
    const now = new Date();
    const job: TrainingJob = {
      request,
      arn,
      creationTime: now,
      lastModifiedTime: now,
      status: 'InProgress',
      secondaryStatus: 'Starting',
      transitions: [],
      abort: new AbortController(),
    };
    this.transition(job, 'Starting', 'Preparing the instances for training');
    this.jobs.set(name, job);
    job.done = this.run(job);
    return { TrainingJobArn: arn };
  }

  describe(body: unknown): Record<string, unknown> {
    const job = this.get(parseRequest(NameSchema, body).TrainingJobName);
    const r = job.request;
    return {
      TrainingJobName: r.TrainingJobName,
      TrainingJobArn: job.arn,
      TrainingJobStatus: job.status,
      SecondaryStatus: job.secondaryStatus,
      ...(job.failureReason === undefined ? {} : { FailureReason: job.failureReason }),
      ModelArtifacts: { S3ModelArtifacts: job.modelArtifacts ?? '' },
      HyperParameters: r.HyperParameters ?? {},
      AlgorithmSpecification: r.AlgorithmSpecification,
      RoleArn: r.RoleArn,
      InputDataConfig: r.InputDataConfig ?? [],
      OutputDataConfig: r.OutputDataConfig,
      ResourceConfig: r.ResourceConfig,
      StoppingCondition: r.StoppingCondition,
      CreationTime: job.creationTime,
      ...(job.trainingStartTime ? { TrainingStartTime: job.trainingStartTime } : {}),
      ...(job.trainingEndTime ? { TrainingEndTime: job.trainingEndTime } : {}),
      LastModifiedTime: job.lastModifiedTime,
      SecondaryStatusTransitions: job.transitions,
      EnableNetworkIsolation: r.EnableNetworkIsolation ?? false,
      EnableInterContainerTrafficEncryption: r.EnableInterContainerTrafficEncryption ?? false,
      EnableManagedSpotTraining: r.EnableManagedSpotTraining ?? false,
      ...(r.Environment === undefined ? {} : { Environment: r.Environment }),
    };
  }

  stop(body: unknown): Record<string, never> {
    const job = this.get(parseRequest(NameSchema, body).TrainingJobName);
    if (job.status !== 'InProgress') {
      throw validationError(`The request was rejected because the training job is in status ${job.status}.`);
    }
    job.status = 'Stopping';
    job.stopCause = 'Stopped';
    this.transition(job, 'Stopping', 'Stopping the training job');
    job.abort.abort();
    return {};
  }

  /** Aborts running jobs and waits for them to settle. */
  async close(): Promise<void> {
    for (const job of this.jobs.values()) {
      if (job.status === 'InProgress' || job.status === 'Stopping') {
        job.stopCause = 'Stopped';
        job.abort.abort();
      }
    }
    await Promise.allSettled([...this.jobs.values()].map((j) => j.done));
  }

  private get(name: string): TrainingJob {
    const job = this.jobs.get(name);
    if (!job) throw new SageMakerApiError('ResourceNotFound', 'Requested resource not found.');
    return job;
  }

  private transition(job: TrainingJob, status: string, message: string): void {
    const now = new Date();
    const last = job.transitions.at(-1);
    if (last && !last.EndTime) last.EndTime = now;
    job.transitions.push({ Status: status, StartTime: now, StatusMessage: message });
    job.secondaryStatus = status;
    job.lastModifiedTime = now;
  }

  private async run(job: TrainingJob): Promise<void> {
    const r = job.request;
    const work = await mkdtemp(join(this.ctx.workRoot, `training-${r.TrainingJobName}-`));
    const maxRuntime = r.StoppingCondition.MaxRuntimeInSeconds;
    const timer =
      maxRuntime === undefined
        ? undefined
        : setTimeout(() => {
            job.stopCause = 'MaxRuntimeExceeded';
            job.abort.abort();
          }, maxRuntime * 1000);
    const stopped = new Promise<never>((_, reject) => {
      const onAbort = () => reject(new TrainingFailure('stopped'));
      if (job.abort.signal.aborted) onAbort();
      job.abort.signal.addEventListener('abort', onAbort, { once: true });
    });
    // The race below rejects on abort while an algorithm may still be running; nothing else awaits this.
    stopped.catch(() => {});
    try {
      await Promise.race([this.train(job, work), stopped]);
      job.status = 'Completed';
      this.transition(job, 'Completed', 'Training job completed');
    } catch (e) {
      if (job.stopCause) {
        job.status = 'Stopped';
        this.transition(
          job,
          job.stopCause,
          job.stopCause === 'Stopped'
            ? 'Training job stopped'
            : 'Job stopped because it exceeded MaxRuntimeInSeconds',
        );
      } else {
        job.status = 'Failed';
        job.failureReason = failureReason(e);
        this.transition(job, 'Failed', 'Training job failed');
      }
    } finally {
      if (timer) clearTimeout(timer);
      const last = job.transitions.at(-1);
      if (last && !last.EndTime) last.EndTime = new Date();
      job.trainingEndTime = new Date();
      job.lastModifiedTime = job.trainingEndTime;
      await rm(work, { recursive: true, force: true });
    }
  }

  private async train(job: TrainingJob, work: string): Promise<void> {
    const r = job.request;
    const image = r.AlgorithmSpecification.TrainingImage;
    const algorithm = this.ctx.algorithms.resolve(image);
    // A test can make the next job fail inside the "container", with SageMaker's FailureReason.
    const injected = this.ctx.faults.take('TrainingJobRun');
    if (injected) throw new TrainingFailure(`${injected.error}: ${injected.message}`);
    if (!algorithm) {
      throw new TrainingFailure(
        `ClientError: no local algorithm is registered for image ${image} (registered: ${this.ctx.algorithms.images().join(', ')})`,
      );
    }
    this.transition(job, 'Downloading', 'Downloading input data');
    const channels: Record<string, string> = {};
    for (const channel of r.InputDataConfig ?? []) {
      const source = channel.DataSource.S3DataSource;
      if (source?.S3DataType !== 'S3Prefix') {
        throw new TrainingFailure(
          `ClientError: channel ${channel.ChannelName}: only S3Prefix S3 data sources are emulated`,
        );
      }
      const dir = join(work, 'input', 'data', channel.ChannelName);
      await mkdir(dir, { recursive: true });
      const count = await downloadPrefix(this.ctx.s3, source.S3Uri, dir).catch((e: unknown) => {
        throw new TrainingFailure(
          `ClientError: Data download failed: ${e instanceof Error ? e.message : String(e)}`,
        );
      });
      if (count === 0) {
        throw new TrainingFailure(
          `ClientError: No S3 objects found under S3 URL "${source.S3Uri}" given in input data source. Please ensure that the bucket exists in the selected region (${this.ctx.region}), that objects exist under that S3 prefix, and that the role "${r.RoleArn}" has "s3:ListBucket" permissions on bucket "${parseS3Uri(source.S3Uri).bucket}".`,
        );
      }
      channels[channel.ChannelName] = dir;
    }
    const modelDir = join(work, 'model');
    const outputDir = join(work, 'output', 'data');
    await mkdir(modelDir, { recursive: true });
    await mkdir(outputDir, { recursive: true });
    job.trainingStartTime = new Date();
    this.transition(job, 'Training', 'Training image download completed. Training in progress.');
    await algorithm.train({
      channels,
      hyperparameters: r.HyperParameters ?? {},
      modelDir,
      outputDir,
      signal: job.abort.signal,
    });
    if (job.abort.signal.aborted) throw new TrainingFailure('stopped');
    this.transition(job, 'Uploading', 'Uploading generated training model');
    const base = joinS3Uri(toS3Uri(r.OutputDataConfig.S3OutputPath), r.TrainingJobName, 'output');
    const modelUri = joinS3Uri(base, 'model.tar.gz');
    await putObject(this.ctx.s3, parseS3Uri(modelUri), await packDir(modelDir), 'application/x-tar');
    if (await hasFiles(outputDir)) {
      await putObject(
        this.ctx.s3,
        parseS3Uri(joinS3Uri(base, 'output.tar.gz')),
        await packDir(outputDir),
        'application/x-tar',
      );
    }
    job.modelArtifacts = modelUri;
  }
}

function failureReason(e: unknown): string {
  if (e instanceof TrainingFailure) return e.message;
  if (e instanceof S3InputError) return `ClientError: ${e.message}`;
  const message = e instanceof Error ? e.message : String(e);
  // Anything that goes wrong inside the container is an AlgorithmError in SageMaker's words.
  return `AlgorithmError: ${message}`;
}
