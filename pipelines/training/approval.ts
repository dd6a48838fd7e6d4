/**
 * Human approval: the Approval task hands its task token to the request-approval handler and waits
 * (`.waitForTaskToken`) until the approval route sends the decision back with SendTaskSuccess.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { PIPELINE_STEPS, STEP_NAMES, statePath } from '../../shared/pipeline/steps.ts';
import type { FailurePath } from './failure.ts';
import { LAMBDA_TRANSIENT_ERRORS, lambdaStep, stepPayload } from './lambda-step.ts';

export interface ApprovalProps {
  /** Stores the task token and notifies the approvers. */
  readonly requestApproval: lambda.IFunction;
  /** The record handler (`kind: 'approval'`). */
  readonly record: lambda.IFunction;
  /** How long a run waits for a decision before it fails with States.Timeout. */
  readonly timeout: Duration;
  /** Where an approved run continues. */
  readonly approved: sfn.IChainable;
  /** Failure chain every task catches into. */
  readonly failure: FailurePath;
}

/** Approval → RecordApproval → approved? continue : Succeed `RejectedByApprover`. */
export function approvalStep(scope: Construct, props: ApprovalProps): sfn.Chain {
  const row = PIPELINE_STEPS.approval;
  const approval = new tasks.LambdaInvoke(scope, row.state, {
    comment: row.comment,
    lambdaFunction: props.requestApproval,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject(stepPayload({ token: sfn.JsonPath.taskToken })),
    resultPath: statePath(row.result),
    // No heartbeat: a human decides once, nobody sends heartbeats while they think.
    taskTimeout: sfn.Timeout.duration(props.timeout),
    retryOnServiceExceptions: false,
  });
  // A retry re-invokes the handler with a fresh token, which replaces the stored one.
  approval.addRetry({
    errors: [...LAMBDA_TRANSIENT_ERRORS],
    interval: Duration.seconds(2),
    maxAttempts: 3,
    backoffRate: 2,
  });
  props.failure.catchFor(approval, row.state);

  const recordApproval = lambdaStep(scope, {
    stateName: STEP_NAMES.recordApproval,
    comment: 'Append the decision, the approver and the reason to the ledger.',
    fn: props.record,
    resultPath: sfn.JsonPath.DISCARD,
    extraPayload: { kind: 'approval' },
    failure: props.failure,
  });
  const decided = new sfn.Choice(scope, 'IsApproved', { comment: 'Deploy only what an approver accepted.' })
    .when(sfn.Condition.stringEquals(statePath(row.result, 'decision'), 'approved'), props.approved)
    .otherwise(
      new sfn.Succeed(scope, 'RejectedByApprover', {
        comment: 'Registered but rejected: the model stays unapproved and is never deployed.',
      }),
    );
  return approval.next(recordApproval).next(decided);
}
