/**
 * ExportEdge, between ReadyToDeploy and the deployment: the registered (and, where the stage asks,
 * approved) version as an ONNX file behind its parity gate. Every way out goes on to deploy: a
 * refused file is a result the step records itself, and an error it could not record (a timeout,
 * the ledger out of reach) is kept at `$.edgeError` by EdgeExportSkipped. The edge file never holds
 * up the cloud deployment.
 */
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { PIPELINE_STEPS, STEP_NAMES, statePath } from '../../shared/pipeline/steps.ts';
import { lambdaStep } from './lambda-step.ts';

/** Where an error ExportEdge could not record is kept. */
export const EDGE_ERROR_PATH = '$.edgeError';

/** The state that passes an unrecorded ExportEdge error on to the deployment. */
export const EDGE_SKIPPED_STATE = 'EdgeExportSkipped';

export interface ExportEdgeStepProps {
  /** The ExportEdge function (the step table's exportEdge row). */
  readonly fn: lambda.IFunction;
}

/** ExportEdge and its skip path, as one fragment whose two ends both continue to the deployment. */
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
    const skipped = new sfn.Pass(this, EDGE_SKIPPED_STATE, {
      comment: `${STEP_NAMES.exportEdge} failed without recording why (the error is at ${EDGE_ERROR_PATH}); the model deploys without an edge file.`,
    });
    task.addCatch(skipped, { errors: [sfn.Errors.ALL], resultPath: EDGE_ERROR_PATH });
    this.startState = task;
    this.endStates = [task, skipped];
  }
}
