/** The local Lambda runtime: bundled functions in worker threads, and the Invoke API over HTTP. */
export {
  EndpointsNotSetError,
  FunctionNotFoundError,
  type InvokeOptions,
  type InvokeResult,
  type Invoker,
  type InvokeServer,
  LambdaFunctionError,
  MAX_SYNC_PAYLOAD_BYTES,
  RuntimeStoppedError,
  UnsupportedRuntimeError,
} from './api.ts';
export type { LambdaErrorShape } from './protocol.ts';
export { LambdaRuntime, type LambdaRuntimeOptions } from './runtime.ts';
