/**
 * The quality gate: a Choice state comparing Evaluate's metrics with the use case's floors, fixed
 * at synth, so the rule that decides is visible in the definition itself.
 */
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { UseCase } from '../../shared/config/use-case.ts';
import { STEP_NAMES, statePath } from '../../shared/pipeline/steps.ts';

/** The gate as one condition: AUC floor, optional log-loss ceiling, and the regression limit. */
export function gateCondition(gates: UseCase['gates']): sfn.Condition {
  const conditions = [
    sfn.Condition.numberGreaterThanEquals(statePath('evaluation', 'candidate', 'auc'), gates.minAuc),
    ...(gates.maxLogLoss === undefined
      ? []
      : [
          sfn.Condition.numberLessThanEquals(
            statePath('evaluation', 'candidate', 'logLoss'),
            gates.maxLogLoss,
          ),
        ]),
    sfn.Condition.numberLessThanEquals(statePath('evaluation', 'aucDrop'), gates.maxAucRegression),
  ];
  return sfn.Condition.and(...conditions);
}

export interface GateProps {
  /** The use case whose gates apply. */
  readonly useCase: UseCase;
  /** Where a passing candidate goes (Register). */
  readonly pass: sfn.IChainable;
  /** Where a failing candidate goes (RecordGateFailure). */
  readonly fail: sfn.IChainable;
}

/** Gate: the Choice state that lets a candidate through only when every floor holds. */
export function gateStep(scope: Construct, props: GateProps): sfn.Choice {
  const { gates } = props.useCase;
  const logLoss = gates.maxLogLoss === undefined ? '' : `, log loss <= ${gates.maxLogLoss}`;
  return new sfn.Choice(scope, STEP_NAMES.gate, {
    comment: `AUC >= ${gates.minAuc}${logLoss}, AUC drop vs champion <= ${gates.maxAucRegression}`,
  })
    .when(gateCondition(gates), props.pass)
    .otherwise(props.fail);
}
