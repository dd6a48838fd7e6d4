/** Batch transform: serves each input object (or each line of it) and writes `<key>.out` to the output path. */
import { rm } from 'node:fs/promises';
import * as z from 'zod';
import { getObject, parseS3Uri, putObject } from '../../../shared/s3.ts';
import { SageMakerApiError } from './api-error.ts';
import { type EmulatorContext, parseRequest, RESOURCE_NAME, sageMakerArn } from './context.ts';
import type { Hosting } from './hosting.ts';
import { inputKeys, joinS3Uri, S3_LOCATION, toS3Uri } from './s3-io.ts';

const CreateTransformJobSchema = z.looseObject({
  TransformJobName: z.string().regex(RESOURCE_NAME),
  ModelName: z.string().min(1),
  TransformInput: z.looseObject({
    DataSource: z.looseObject({
      S3DataSource: z.looseObject({ S3DataType: z.string(), S3Uri: z.string().regex(S3_LOCATION) }),
    }),
    ContentType: z.string().optional(),
    SplitType: z.enum(['None', 'Line', 'RecordIO', 'TFRecord']).optional(),
    CompressionType: z.string().optional(),
  }),
  TransformOutput: z.looseObject({
    S3OutputPath: z.string().regex(S3_LOCATION),
    Accept: z.string().optional(),
    AssembleWith: z.enum(['None', 'Line']).optional(),
  }),
  TransformResources: z.looseObject({}),
});
type CreateTransformJobRequest = z.infer<typeof CreateTransformJobSchema>;
const NameSchema = z.looseObject({ TransformJobName: z.string().min(1) });

interface TransformJob {
  readonly request: CreateTransformJobRequest;
  readonly arn: string;
  readonly creationTime: Date;
  status: 'InProgress' | 'Completed' | 'Failed';
  failureReason?: string;
  startTime?: Date;
  endTime?: Date;
  done?: Promise<void>;
}

/** Creates, runs and describes batch transform jobs. */
export class TransformJobs {
  private readonly jobs = new Map<string, TransformJob>();

  constructor(
    private readonly ctx: EmulatorContext,
    private readonly hosting: Hosting,
  ) {}

  create(body: unknown): { TransformJobArn: string } {
    const request = parseRequest(CreateTransformJobSchema, body);
    const arn = sageMakerArn(this.ctx, 'transform-job', request.TransformJobName);
    if (this.jobs.has(request.TransformJobName)) {
      throw new SageMakerApiError(
        'ResourceInUse',
        `Job name must be unique within an AWS account and region, and a job with this name already exists (${arn})`,
      );
    }
    // Fails synchronously on an unknown model, as SageMaker does.
    this.hosting.modelContainer(request.ModelName);
    const job: TransformJob = { request, arn, creationTime: new Date(), status: 'InProgress' };
    this.jobs.set(request.TransformJobName, job);
    job.done = this.run(job);
    return { TransformJobArn: arn };
  }

  describe(body: unknown): Record<string, unknown> {
    const name = parseRequest(NameSchema, body).TransformJobName;
    const job = this.jobs.get(name);
    if (!job)
      throw new SageMakerApiError('ResourceNotFound', `Could not find requested job with name ${name}`);
    return {
      ...job.request,
      TransformJobArn: job.arn,
      TransformJobStatus: job.status,
      ...(job.failureReason === undefined ? {} : { FailureReason: job.failureReason }),
      CreationTime: job.creationTime,
      ...(job.startTime ? { TransformStartTime: job.startTime } : {}),
      ...(job.endTime ? { TransformEndTime: job.endTime } : {}),
    };
  }

  /** Waits for running jobs. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.jobs.values()].map((j) => j.done));
  }

  private async run(job: TransformJob): Promise<void> {
    const r = job.request;
    let dir: string | undefined;
    try {
      job.startTime = new Date();
      const model = await this.hosting.serveModel(r.ModelName, 'AllTraffic').catch((e: unknown) => {
        throw new Error(`ClientError: ${e instanceof Error ? e.message : String(e)}`);
      });
      dir = model.dir;
      const inputUri = r.TransformInput.DataSource.S3DataSource.S3Uri;
      const { bucket, key: prefix } = parseS3Uri(inputUri);
      const keys = await inputKeys(this.ctx.s3, bucket, prefix);
      if (keys.length === 0) throw new Error(`ClientError: No S3 objects found under S3 URL "${inputUri}".`);
      const contentType = r.TransformInput.ContentType ?? 'application/octet-stream';
      const byLine = r.TransformInput.SplitType === 'Line';
      const joiner = r.TransformOutput.AssembleWith === 'Line' ? '\n' : '';
      for (const key of keys) {
        const input = await getObject(this.ctx.s3, { bucket, key });
        const records = byLine
          ? input
              .toString('utf8')
              .split('\n')
              .filter((line) => line.trim() !== '')
              .map((line) => Buffer.from(line))
          : [input];
        const outputs: Buffer[] = [];
        for (const record of records) {
          try {
            outputs.push((await model.served.invocations(record, contentType)).body);
          } catch (e) {
            throw new Error(`AlgorithmError: ${e instanceof Error ? e.message : String(e)}`);
          }
        }
        const assembled = joiner
          ? Buffer.from(`${outputs.map((o) => o.toString('utf8').replace(/\n$/, '')).join(joiner)}\n`)
          : Buffer.concat(outputs);
        const rel = key.slice(prefix.lastIndexOf('/') + 1);
        await putObject(
          this.ctx.s3,
          parseS3Uri(joinS3Uri(toS3Uri(r.TransformOutput.S3OutputPath), `${rel}.out`)),
          assembled,
          r.TransformOutput.Accept,
        );
      }
      job.status = 'Completed';
    } catch (e) {
      job.status = 'Failed';
      const message = e instanceof Error ? e.message : String(e);
      job.failureReason = /^(ClientError|AlgorithmError):/.test(message)
        ? message
        : `InternalServerError: ${message}`;
    } finally {
      job.endTime = new Date();
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }
}
