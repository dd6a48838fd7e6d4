/**
 * The training pipeline's failure path: every step catches `States.ALL` into `$.error`, marks
 * which step failed, and joins one shared chain RecordFailure → NotifyFailure → Failed.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { ConstructConfigError } from '../../infra/constructs/errors.ts';
import { STEP_NAMES, statePath } from '../../shared/pipeline/steps.ts';
import { lambdaStep } from './lambda-step.ts';

/** Where a caught error is kept for RecordFailure and NotifyFailure. */
export const ERROR_PATH = statePath('error');
/** Where the name of the failed step is kept. */
export const FAILED_STEP_PATH = '$.failedStep';

/** A state that can catch errors: a Task or a Parallel. */
export type CatchingState = sfn.TaskStateBase | sfn.Parallel;

export interface FailurePathProps {
  /** The record handler (`kind: 'failure'`). */
  readonly record: lambda.IFunction;
  /** Topic that receives the failure notification. */
  readonly topic: sns.ITopic;
  /** Use case name, quoted in the notification. */
  readonly useCase: string;
}

/**
 * The shared failure chain, and `catchFor(state, step)` to route a step's errors into it through a
 * small Pass named `Catch<Step>` that sets `$.failedStep` (a Catch cannot set a constant itself).
 */
export class FailurePath {
  /** RecordFailure: the first state of the shared chain. */
  readonly recordFailure: tasks.LambdaInvoke;
  /** NotifyFailure: publishes `{useCase, runId, failedStep, error}` to the topic. */
  readonly notifyFailure: tasks.SnsPublish;
  /** The terminal Fail state; it reports the caught error's name and cause. */
  readonly failed: sfn.Fail;
  private readonly caught = new Set<string>();

  constructor(
    private readonly scope: Construct,
    props: FailurePathProps,
  ) {
    this.failed = new sfn.Fail(scope, STEP_NAMES.failed, {
      comment: 'The run failed; RecordFailure wrote the ledger event and NotifyFailure told the operators.',
      errorPath: `${ERROR_PATH}.Error`,
      causePath: `${ERROR_PATH}.Cause`,
    });
    this.notifyFailure = new tasks.SnsPublish(scope, STEP_NAMES.notifyFailure, {
      comment: 'Tell the operators which step failed and why.',
      topic: props.topic,
      subject: `mlops ${props.useCase}: training run failed`.slice(0, 100),
      message: sfn.TaskInput.fromObject({
        useCase: props.useCase,
        runId: sfn.JsonPath.executionName,
        failedStep: sfn.JsonPath.stringAt(FAILED_STEP_PATH),
        error: sfn.JsonPath.objectAt(ERROR_PATH),
      }),
      resultPath: sfn.JsonPath.DISCARD,
    });
    // A duplicate notification is harmless; a lost one hides a failed run.
    this.notifyFailure.addRetry({
      errors: [sfn.Errors.TASKS_FAILED],
      interval: Duration.seconds(2),
      maxAttempts: 2,
      backoffRate: 2,
    });
    // Whatever happens while reporting, the run still ends in Failed with the original error.
    this.notifyFailure.addCatch(this.failed, { errors: [sfn.Errors.ALL], resultPath: '$.notifyError' });
    this.notifyFailure.next(this.failed);

    this.recordFailure = lambdaStep(scope, {
      stateName: STEP_NAMES.recordFailure,
      comment: 'Append the failure to the ledger (training failed, with the step and the error).',
      fn: props.record,
      resultPath: sfn.JsonPath.DISCARD,
      extraPayload: { kind: 'failure', step: sfn.JsonPath.stringAt(FAILED_STEP_PATH) },
    });
    // A ledger outage must not swallow the notification.
    this.recordFailure.addCatch(this.notifyFailure, {
      errors: [sfn.Errors.ALL],
      resultPath: '$.recordFailureError',
    });
    this.recordFailure.next(this.notifyFailure);
  }

  /** Routes every error of `state` (the step named `step`) to the failure chain. */
  catchFor(state: CatchingState, step: string): void {
    if (this.caught.has(step))
      throw new ConstructConfigError(this.scope, [`step ${step} already has a failure route`]);
    this.caught.add(step);
    const mark = new sfn.Pass(this.scope, `Catch${step}`, {
      comment: `Remember that ${step} failed, for RecordFailure and the notification.`,
      result: sfn.Result.fromString(step),
      resultPath: FAILED_STEP_PATH,
    });
    mark.next(this.recordFailure);
    state.addCatch(mark, { errors: [sfn.Errors.ALL], resultPath: ERROR_PATH });
  }
}
