/**
 * ExportEdge, between ReadyToDeploy and the deployment: the registered (and, where the stage asks,
 * approved) version as an ONNX file behind its parity gate. Every way out goes on to deploy: a
 * refused file is a result the step records itself; a failed or timed-out attempt is retried once
 * (a rerun is idempotent: the same file bytes, and the run's one event ID, appended once), and an
 * error it still could not record (the ledger out of reach, say) is kept at `$.edgeError`, where
 * RecordEdgeFailure appends it as EdgeExportFailed before EdgeExportSkipped. The edge file never
 * holds up the cloud deployment.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { PIPELINE_STEPS, STEP_NAMES, statePath } from '../../shared/pipeline/steps.ts';
import { lambdaStep } from './lambda-step.ts';

/** Where an error ExportEdge could not record is kept. */
export const EDGE_ERROR_PATH = '$.edgeError';

/** The state that passes an ExportEdge error on to the deployment. */
export const EDGE_SKIPPED_STATE = 'EdgeExportSkipped';

export interface ExportEdgeStepProps {
  /** The ExportEdge function (the step table's exportEdge row). */
  readonly fn: lambda.IFunction;
  /** The record function (`kind: 'edge-failure'` appends the caught error as EdgeExportFailed). */
  readonly record: lambda.IFunction;
}

/**
 * ExportEdge and its skip path (RecordEdgeFailure → EdgeExportSkipped), as one fragment whose two
 * ends both continue to the deployment.
 */
export class ExportEdgeStep extends sfn.StateMachineFragment {
  readonly startState: sfn.State;
  readonly endStates: sfn.INextable[];

  constructor(scope: Construct, id: string, props: ExportEdgeStepProps) {
    super(scope, id);
    const row = PIPELINE_STEPS.exportEdge;
    const task = lambdaStep(this, {
      stateName: STEP_NAMES.exportEdge,
      fn: props.fn,
      resultPath: statePath(row.result),
      comment: row.comment,
    });
    // Safe to rerun: an attempt that recorded its outcome returns it, and the file's bytes are the same.
    task.addRetry({
      errors: [sfn.Errors.TASKS_FAILED, sfn.Errors.TIMEOUT],
      interval: Duration.seconds(2),
      maxAttempts: 2,
      backoffRate: 2,
    });
    const skipped = new sfn.Pass(this, EDGE_SKIPPED_STATE, {
      comment: `${STEP_NAMES.exportEdge} failed (the error is at ${EDGE_ERROR_PATH}); the model deploys without an edge file.`,
    });
    const recordError = lambdaStep(this, {
      stateName: STEP_NAMES.recordEdgeFailure,
      fn: props.record,
      resultPath: sfn.JsonPath.DISCARD,
      comment: `Append the error ${STEP_NAMES.exportEdge} could not record to the ledger, as EdgeExportFailed.`,
      extraPayload: { kind: 'edge-failure' },
    });
    // A ledger still out of reach loses the event, never the deployment.
    recordError.addCatch(skipped, { errors: [sfn.Errors.ALL], resultPath: '$.recordEdgeFailureError' });
    recordError.next(skipped);
    task.addCatch(recordError, { errors: [sfn.Errors.ALL], resultPath: EDGE_ERROR_PATH });
    this.startState = task;
    this.endStates = [task, skipped];
  }
}
