/** Fault hooks for tests: make the next N calls of an operation fail with a given AWS error. */

/** One injected failure. */
export interface FaultSpec {
  /** AWS error code the caller sees, for example `ThrottlingException` or `ResourceLimitExceeded`. */
  readonly error: string;
  /** How many consecutive calls fail. @default 1 */
  readonly times?: number;
  /** @default - a message in the style of the real service */
  readonly message?: string;
  /** @default 400 */
  readonly statusCode?: number;
}

/** An error that an injected fault resolves to. */
export interface InjectedFault {
  readonly error: string;
  readonly message: string;
  readonly statusCode: number;
}

const DEFAULT_MESSAGES: Readonly<Record<string, string>> = {
  ThrottlingException: 'Rate exceeded',
  ResourceLimitExceeded: 'The account-level service limit has been exceeded.',
  InternalFailure: 'An internal error occurred.',
  ServiceUnavailable: 'The service is unavailable.',
};

/** Queues injected failures per operation name (`CreateTrainingJob`, `InvokeEndpoint`...). */
export class FaultInjector {
  private readonly queues = new Map<string, InjectedFault[]>();

  /** Makes the next `spec.times` calls of `operation` fail with `spec.error`. */
  inject(operation: string, spec: FaultSpec): void {
    const times = spec.times ?? 1;
    if (!Number.isInteger(times) || times < 1)
      throw new Error(`faults.inject times must be >= 1, got ${times}`);
    const fault: InjectedFault = {
      error: spec.error,
      message: spec.message ?? DEFAULT_MESSAGES[spec.error] ?? `Injected ${spec.error}`,
      statusCode: spec.statusCode ?? 400,
    };
    const queue = this.queues.get(operation) ?? [];
    for (let i = 0; i < times; i++) queue.push(fault);
    this.queues.set(operation, queue);
  }

  /** Drops pending faults of one operation, or of all. */
  clear(operation?: string): void {
    if (operation === undefined) this.queues.clear();
    else this.queues.delete(operation);
  }

  /** How many injected failures `operation` still has queued. */
  pending(operation: string): number {
    return this.queues.get(operation)?.length ?? 0;
  }

  /** Consumes the next fault of `operation`, if any. */
  take(operation: string): InjectedFault | undefined {
    return this.queues.get(operation)?.shift();
  }
}
