/**
 * A Lambda step of the training pipeline: the handler receives `{runId, state}` (plus any extra
 * fields) and its response lands at the step's result path of the contract.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/** Lambda errors worth retrying: the service's, not the handler's (a handler error is final). */
export const LAMBDA_TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
] as const;

/** The payload every Lambda step sends: the run ID and the whole state. */
export function stepPayload(extra: Readonly<Record<string, unknown>> = {}): Record<string, unknown> {
  return { runId: sfn.JsonPath.executionName, state: sfn.JsonPath.entirePayload, ...extra };
}

/** Where a step's errors go (the pipeline's FailurePath): a Catch on the state, named by its step. */
export interface StepCatcher {
  catchFor(state: tasks.LambdaInvoke, step: string): void;
}

export interface LambdaStepProps {
  /** State name (from STEP_NAMES); also the construct ID. */
  readonly stateName: string;
  /** What the step does, shown in the console. */
  readonly comment: string;
  /** The step's handler. */
  readonly fn: lambda.IFunction;
  /** Where the handler's response goes (`JsonPath.DISCARD` to drop it). */
  readonly resultPath: string;
  /**
   * Fields added to the payload next to `runId` and `state`.
   * @default - none
   */
  readonly extraPayload?: Readonly<Record<string, unknown>>;
  /**
   * Failure chain that catches every error of this step.
   * @default - no Catch (the caller routes errors itself)
   */
  readonly failure?: StepCatcher;
}

/**
 * A request-response Lambda Task (`payloadResponseOnly`: the response is the result) with retries
 * on Lambda service errors only, and a Catch into the failure path when one is given.
 */
export function lambdaStep(scope: Construct, props: LambdaStepProps): tasks.LambdaInvoke {
  const task = new tasks.LambdaInvoke(scope, props.stateName, {
    comment: props.comment,
    lambdaFunction: props.fn,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject(stepPayload(props.extraPayload)),
    resultPath: props.resultPath,
    // Our own retry below replaces the default one, so the list is written out in one place.
    retryOnServiceExceptions: false,
  });
  task.addRetry({
    errors: [...LAMBDA_TRANSIENT_ERRORS],
    interval: Duration.seconds(2),
    maxAttempts: 4,
    backoffRate: 2,
  });
  props.failure?.catchFor(task, props.stateName);
  return task;
}
