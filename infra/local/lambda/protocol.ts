/** Messages between the Lambda runtime and its worker threads (types only). */

/** The error payload of the Lambda Invoke API. */
export interface LambdaErrorShape {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: readonly string[];
}

/** What a worker needs to load its function (its `workerData`). */
export interface WorkerConfig {
  readonly codeDir: string;
  readonly handler: string;
  readonly functionName: string;
  readonly memoryMb: number;
  readonly logGroupName: string;
  readonly logStreamName: string;
  readonly enableSourceMaps: boolean;
  /** Where modules the Lambda runtime provides (the AWS SDK v3) are found. */
  readonly runtimeModulesDir?: string;
}

/** Parent to worker. */
export type ToWorker = {
  readonly type: 'invoke';
  readonly requestId: string;
  /** The event as JSON text. */
  readonly event: string;
  readonly deadlineMs: number;
  readonly invokedFunctionArn: string;
  readonly traceId: string;
};

/** Worker to parent. */
export type FromWorker =
  | { readonly type: 'ready'; readonly initMs: number }
  | { readonly type: 'initError'; readonly error: LambdaErrorShape }
  | { readonly type: 'log'; readonly stream: 'stdout' | 'stderr'; readonly text: string }
  | {
      readonly type: 'result';
      readonly requestId: string;
      readonly payload?: string;
      readonly error?: LambdaErrorShape;
    }
  | { readonly type: 'fatal'; readonly requestId?: string; readonly error: LambdaErrorShape };
