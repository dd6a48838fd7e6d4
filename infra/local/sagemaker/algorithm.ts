/**
 * The SageMaker container contract as plain TypeScript: a local "algorithm" trains from channel
 * folders into a model folder, and serves a model folder over ping/invocations. The emulator maps
 * training and inference images to algorithms through an {@link AlgorithmRegistry}.
 */

/** What a training container sees, as SageMaker lays it out under /opt/ml. */
export interface TrainInput {
  /** Channel name to the local folder holding that channel's S3 objects (/opt/ml/input/data/<channel>). */
  readonly channels: Readonly<Record<string, string>>;
  /** HyperParameters of the job; SageMaker passes every value as a string. */
  readonly hyperparameters: Readonly<Record<string, string>>;
  /** Everything written here is packed as model.tar.gz (/opt/ml/model). */
  readonly modelDir: string;
  /** Everything written here is packed as output.tar.gz (/opt/ml/output/data). */
  readonly outputDir: string;
  /** Aborted when the job is stopped or runs past MaxRuntimeInSeconds (SIGTERM in SageMaker). */
  readonly signal: AbortSignal;
}

/** The answer of a served model to one request. */
export interface InvocationResult {
  readonly body: Buffer;
  readonly contentType: string;
}

/** A model loaded for inference: the container's /ping and /invocations. */
export interface ServedModel {
  ping(): Promise<boolean>;
  invocations(body: Buffer, contentType: string): Promise<InvocationResult>;
}

/** One local implementation of a SageMaker training and inference image. */
export interface LocalAlgorithm {
  /** Trains and writes the model into `modelDir`; a rejection fails the job with `AlgorithmError: <message>`. */
  train(input: TrainInput): Promise<void>;
  /** Loads a model folder (the extracted model.tar.gz) for inference. */
  serve(modelDir: string): ServedModel | Promise<ServedModel>;
}

/** An algorithm and the image it answers for. */
export interface AlgorithmRegistration {
  /**
   * An exact image (`repo:tag`), an image without tag (`registry/repo` or `local/echo-algorithm`), or
   * a bare repository name (`sagemaker-xgboost`) that matches that repository in any registry.
   */
  readonly image: string;
  readonly algorithm: LocalAlgorithm;
}

/** Raised by algorithms for failures inside the training code; its message becomes the FailureReason. */
export class AlgorithmError extends Error {
  override readonly name: string = 'AlgorithmError';
}

interface ParsedImage {
  /** The image without tag or digest. */
  readonly withoutTag: string;
  /** The repository path without the registry host. */
  readonly repository: string;
}

function parseImage(image: string): ParsedImage {
  const noDigest = image.split('@')[0] ?? image;
  const lastSlash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const withoutTag = colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
  const [first, ...rest] = withoutTag.split('/');
  // A first segment with a dot, a port or `localhost` is a registry host (ECR, Docker Hub mirrors).
  const hasRegistry = rest.length > 0 && first !== undefined && /[.:]|^localhost$/.test(first);
  return { withoutTag, repository: hasRegistry ? rest.join('/') : withoutTag };
}

/** Finds the algorithm for an image: exact match first, then the image without tag, then the repository. */
export class AlgorithmRegistry {
  private readonly byKey = new Map<string, LocalAlgorithm>();

  constructor(registrations: readonly AlgorithmRegistration[]) {
    for (const r of registrations) this.byKey.set(r.image, r.algorithm);
  }

  /** The algorithm registered for `image`, or undefined. */
  resolve(image: string): LocalAlgorithm | undefined {
    const parsed = parseImage(image);
    return this.byKey.get(image) ?? this.byKey.get(parsed.withoutTag) ?? this.byKey.get(parsed.repository);
  }

  /** The registered image keys, for error messages. */
  images(): string[] {
    return [...this.byKey.keys()];
  }
}
