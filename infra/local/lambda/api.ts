/**
 * The local Lambda runtime's contract with its callers: what an invocation takes and returns, the
 * errors it throws, and the Invoke API server's handle. Both the runtime and the Invoke API server
 * depend on this module, not on each other.
 */
import type { LambdaErrorShape } from './protocol.ts';

/** Lambda caps synchronous request and response payloads at 6 MB. */
export const MAX_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024;
/** No function of that name or ARN in the assembly (the API's ResourceNotFoundException). */
export class FunctionNotFoundError extends Error {
  override readonly name = 'FunctionNotFoundError';
}

/** The function's runtime cannot run in a Node.js worker (python, java, provided...). */
export class UnsupportedRuntimeError extends Error {
  override readonly name = 'UnsupportedRuntimeError';
}

/** A function failed (`invokeOrThrow`): `name` is the Lambda errorType, `payload` the Invoke API error. */
export class LambdaFunctionError extends Error {
  constructor(readonly payload: LambdaErrorShape) {
    super(payload.errorMessage);
    this.name = payload.errorType;
  }
}

/** An invocation came before `setEndpoints`: a function cannot start without its environment. */
export class EndpointsNotSetError extends Error {
  override readonly name = 'EndpointsNotSetError';
}

/** The runtime was stopped; no more invocations are accepted. */
export class RuntimeStoppedError extends Error {
  override readonly name = 'RuntimeStoppedError';
}

export interface InvokeOptions {
  /**
   * `Event` answers 202 at once and runs in the background; `DryRun` only checks the function exists.
   * @default 'RequestResponse'
   */
  readonly invocationType?: 'RequestResponse' | 'Event' | 'DryRun';
  /**
   * `Tail` returns the last 4 KB of the invocation's log lines.
   * @default 'None'
   */
  readonly logType?: 'None' | 'Tail';
}

/** What the Invoke API returns. */
export interface InvokeResult {
  /** 200 (RequestResponse), 202 (Event) or 204 (DryRun), also when the function failed. */
  readonly statusCode: number;
  /** The function's JSON result, or the `{errorType, errorMessage, trace}` error. */
  readonly payload?: unknown;
  /** Set when the function failed. */
  readonly functionError?: 'Unhandled';
  /** The invocation's last 4 KB of log lines, with `logType: 'Tail'`. */
  readonly logTail?: string;
  readonly executedVersion?: string;
  readonly requestId: string;
}

/** A running Invoke API server. */
export interface InvokeServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** What can run an invocation (the runtime, as the Invoke API server sees it). */
export interface Invoker {
  invoke(name: string, payload: unknown, options?: InvokeOptions): Promise<InvokeResult>;
}
