import { listenLocal } from '../http.ts';
import type { LocalPlacement, LocalStateMachine } from '../model.ts';
import type { InvokeLambda } from './integrations.ts';
import { createStepFunctionsServer } from './server.ts';
import { StepFunctionsService } from './service.ts';

export { SfnApiError, StatesTaskError } from './errors.ts';
export type { HistoryEvent } from './history.ts';
export type { ChildExecution, InvokeLambda } from './integrations.ts';
export type { ExecutionStatus, StepFunctionsService } from './service.ts';

export interface StepFunctionsOptions {
  /** The state machines to serve (from `loadAssembly(...).stateMachines`). */
  readonly stateMachines: readonly LocalStateMachine[];
  /** Runs a local Lambda function for Task states. */
  readonly invokeLambda: InvokeLambda;
  /** Emulators that service integrations call. */
  readonly endpoints: { readonly sagemaker: string; readonly dynamodb: string; readonly sns: string };
  /** Region and account used in ARNs and task events. */
  readonly placement: LocalPlacement;
  /** @default - a free port */
  readonly port?: number;
  /**
   * Multiplies every Retry interval (and MaxDelaySeconds) and every Wait duration; timeouts are not scaled.
   * @default 1
   */
  readonly retryIntervalScale?: number;
  /**
   * How often `.sync` tasks poll their SageMaker job.
   * @default 250
   */
  readonly syncPollIntervalMs?: number;
}

/** A running local Step Functions service. */
export interface StepFunctionsEmulator {
  /** AWS_ENDPOINT_URL_SFN. */
  readonly endpoint: string;
  readonly port: number;
  /** The service behind the endpoint, for tests and the CLI (waitFor, history...). */
  readonly service: StepFunctionsService;
  /** Differences from AWS that callers should know about. */
  readonly limitations: readonly string[];
  /** Stops running executions (ABORTED) and closes the server. */
  stop(): Promise<void>;
}

/** Starts the local Step Functions service on 127.0.0.1. Throws if a state machine cannot run locally. */
export async function startStepFunctions(options: StepFunctionsOptions): Promise<StepFunctionsEmulator> {
  const service = new StepFunctionsService({
    stateMachines: options.stateMachines,
    invokeLambda: options.invokeLambda,
    endpoints: options.endpoints,
    placement: options.placement,
    retryIntervalScale: options.retryIntervalScale ?? 1,
    syncPollIntervalMs: options.syncPollIntervalMs ?? 250,
  });
  const server = createStepFunctionsServer(service);
  const { endpoint, port, close } = await listenLocal(server, options.port);
  return {
    endpoint,
    port,
    service,
    limitations: [
      'JSONPath only: JSONata state machines are rejected.',
      'Distributed Map (ItemReader/ResultWriter), activities and most service integrations are not emulated.',
      '$$.State.*, $$.Map.* inside iterations and TimeoutSecondsPath history events are not available.',
      'Inside Map iterations, $$.Execution.Input is the item (an aws-local-stepfunctions limitation).',
      'Executions live in memory: a restart forgets them.',
    ],
    async stop() {
      await service.close();
      await close();
    },
  };
}
