/**
 * The training pipeline's state machine definition (Step Functions Standard, JSONPath), assembled
 * from the step table (shared/pipeline/steps.ts): each chained row becomes its state in table
 * order, a Lambda row through the one Lambda step factory and a service row through its fragment
 * below. State names, result paths and comments all come from the rows, so the CLI, the tests and
 * the local emulator's per-state overrides key on the same names.
 *
 * KeepInput → [prepare rows: BuildDataset → ValidateData → Train → CreateCandidateModel →
 * FindChampion → BatchTransform → Evaluate] → Gate ─fail→ RecordGateFailure → RejectedByGate
 *   └pass→ [promote rows: Register] → [Approval → RecordApproval → IsApproved] → ReadyToDeploy →
 *          [ExportEdge, when the use case sets edge] → [deploy rows] → (deployment seam) →
 *          RecordSuccess → TrainingSucceeded
 * Every Task (and the Parallel) catches into Catch<Step> → RecordFailure → NotifyFailure → Failed,
 * except ExportEdge and its RecordEdgeFailure, whose errors go on to the deployment (export-edge.ts).
 */
import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { StageConfig } from '../../infra/config/stage.ts';
import { throwIfProblems } from '../../infra/constructs/errors.ts';
import type { UseCase } from '../../shared/config/use-case.ts';
import { APPROVAL_TTL_SECONDS } from '../../shared/pipeline/approval.ts';
import {
  type ByLambdaStep,
  isLambdaStep,
  PIPELINE_STEPS,
  type RequiredLambdaStepKey,
  STEP_NAMES,
  STEP_ROWS,
  type StepSegment,
  statePath,
  stepEnabled,
  type TaskStepKey,
} from '../../shared/pipeline/steps.ts';
import { approvalStep } from './approval.ts';
import { ExportEdgeStep } from './export-edge.ts';
import { FailurePath } from './failure.ts';
import { gateStep } from './gate.ts';
import { lambdaStep } from './lambda-step.ts';
import {
  batchTransformStep,
  createCandidateModelStep,
  type SageMakerStepProps,
  trainStep,
} from './sagemaker-steps.ts';

/** The Lambda functions of the step table's Lambda rows, by row key (an optional row's when it is on). */
export type TrainingStepFunctions = ByLambdaStep<lambda.IFunction>;

/** A chainable fragment with one way out. */
type Fragment = sfn.IChainable & sfn.INextable;

/** The fragment of each service-integration row. */
const TASK_STEPS: Readonly<Record<TaskStepKey, (scope: Construct, props: SageMakerStepProps) => Fragment>> = {
  train: trainStep,
  createCandidateModel: createCandidateModelStep,
  transform: batchTransformStep,
};

/** What the deployment seam can reach: everything the pipeline was built with. */
export interface DeployContext {
  /** Where the fragment creates its states (the definition). */
  readonly scope: Construct;
  readonly useCase: UseCase;
  readonly stage: StageConfig;
  /** The roles of the pipeline: SageMaker's (jobs and models). */
  readonly roles: { readonly sagemaker: iam.IRole };
  /** The data key: encrypts volumes, artifacts and outputs. */
  readonly encryptionKey: IKey;
  /** Training and inference image URI. */
  readonly imageUri: string;
  /** The failure path; a fragment's Tasks catch into it with `failure.catchFor(state, name)`. */
  readonly failure: FailurePath;
  /** The step table and its functions. */
  readonly steps: typeof PIPELINE_STEPS;
  readonly functions: TrainingStepFunctions;
}

/** Adds the deployment steps after ReadyToDeploy (and the deploy rows); its Tasks should catch into `context.failure`. */
export type DeployStepsFactory = (context: DeployContext) => Fragment;

export interface TrainingDefinitionProps {
  /** The validated use case: sizing, hyperparameters and gates are read at synth. */
  readonly useCase: UseCase;
  /** The stage: whether a human approves a registered model before it is deployed. */
  readonly stage: StageConfig;
  readonly functions: TrainingStepFunctions;
  /** Role SageMaker assumes for training jobs, models and transform jobs. */
  readonly sagemakerRole: iam.IRole;
  /** Training and inference image URI. */
  readonly imageUri: string;
  /** Encrypts training volumes, artifacts and transform output. */
  readonly dataKey: IKey;
  /** Topic that receives failure notifications. */
  readonly failureTopic: sns.ITopic;
  /**
   * How long Approval waits for a decision.
   * @default Duration.days(7)
   */
  readonly approvalTimeout?: Duration;
  /**
   * Deployment steps run between ReadyToDeploy (and the deploy rows) and RecordSuccess.
   * @default - none: ReadyToDeploy goes straight to RecordSuccess
   */
  readonly deploy?: DeployStepsFactory;
}

/** Step Functions allows at most a year per task; an approval older than 30 days is stale anyway. */
// The approval token is kept for APPROVAL_TTL_SECONDS: a longer wait could not be released.
const MAX_APPROVAL_TIMEOUT = Duration.seconds(APPROVAL_TTL_SECONDS);

/** `first → ... → last → then`, or `then` alone when there are no steps. */
function chainThrough(steps: readonly Fragment[], then: sfn.IChainable): sfn.IChainable {
  const [first, ...rest] = steps;
  if (first === undefined) return then;
  let chain = sfn.Chain.start(first);
  for (const s of rest) chain = chain.next(s);
  chain.next(then);
  return chain;
}

/** The whole training state machine definition for one use case, as a construct holding its states. */
export class TrainingDefinition extends Construct {
  /** The first state; hand it to `DefinitionBody.fromChainable`. */
  readonly start: sfn.IChainable;
  /** The shared failure chain. */
  readonly failure: FailurePath;

  constructor(scope: Construct, id: string, props: TrainingDefinitionProps) {
    super(scope, id);
    // Check
    const approvalTimeout = props.approvalTimeout ?? Duration.days(7);
    const problems: string[] = [];
    if (approvalTimeout.toSeconds() < 60 || approvalTimeout.toSeconds() > MAX_APPROVAL_TIMEOUT.toSeconds()) {
      problems.push(
        `approvalTimeout must be between 60 seconds and ${MAX_APPROVAL_TIMEOUT.toHumanString()} (how long an approval token is kept), got ${approvalTimeout.toHumanString()}`,
      );
    }
    for (const [key, row] of STEP_ROWS) {
      if (row.segment !== undefined && row.state === undefined) {
        problems.push(`step ${key} is chained in ${row.segment} but has no state name`);
      }
      if (isLambdaStep(row) && stepEnabled(row, props.useCase) && !(key in props.functions)) {
        problems.push(`step ${key} is on for use case ${props.useCase.name} but has no function`);
      }
    }
    throwIfProblems(this, problems);

    // Build
    const { useCase, functions: fns } = props;
    this.failure = new FailurePath(this, {
      record: fns.record,
      topic: props.failureTopic,
      useCase: useCase.name,
    });
    const failure = this.failure;
    const sagemaker: SageMakerStepProps = {
      useCase,
      imageUri: props.imageUri,
      role: props.sagemakerRole,
      dataKey: props.dataKey,
      failure,
    };
    const stepsIn = (segment: StepSegment): Fragment[] =>
      STEP_ROWS.filter(([, row]) => row.segment === segment && stepEnabled(row, useCase)).map(([key, row]) =>
        isLambdaStep(row)
          ? lambdaStep(this, {
              stateName: row.state ?? key,
              fn: fns[key as RequiredLambdaStepKey],
              resultPath: row.result === undefined ? sfn.JsonPath.DISCARD : statePath(row.result as never),
              comment: row.comment,
              failure,
            })
          : TASK_STEPS[key as TaskStepKey](this, sagemaker),
      );
    const record = (stateName: string, kind: string, comment: string) =>
      lambdaStep(this, {
        stateName,
        fn: fns.record,
        resultPath: sfn.JsonPath.DISCARD,
        comment,
        extraPayload: { kind },
        failure,
      });

    // Wire: ReadyToDeploy → deploy rows → the seam → RecordSuccess.
    const readyToDeploy = new sfn.Pass(this, 'ReadyToDeploy', {
      comment: 'The candidate passed the gate and, where required, an approver.',
    });
    const recordSuccess = record(
      STEP_NAMES.recordSuccess,
      'success',
      'Append the completed run (and its manifest) to the ledger.',
    );
    const succeeded = new sfn.Succeed(this, 'TrainingSucceeded');
    if (props.deploy) {
      // A deployment that rolled back ends the run as such: the run worked, the model does not serve.
      recordSuccess.next(
        new sfn.Choice(this, 'IsServing')
          .when(
            sfn.Condition.and(
              sfn.Condition.isPresent(statePath('deployment', 'outcome')),
              sfn.Condition.stringEquals(statePath('deployment', 'outcome'), 'rolled-back'),
            ),
            new sfn.Fail(this, STEP_NAMES.deploymentRolledBack, {
              error: 'DeploymentRolledBack',
              cause:
                'The model trained and registered, but its deployment was rolled back; DeploymentRolledBack in the ledger says why.',
            }),
          )
          .otherwise(succeeded),
      );
    } else {
      recordSuccess.next(succeeded);
    }
    const seam = props.deploy?.({
      scope: this,
      useCase,
      stage: props.stage,
      roles: { sagemaker: props.sagemakerRole },
      encryptionKey: props.dataKey,
      imageUri: props.imageUri,
      failure,
      steps: PIPELINE_STEPS,
      functions: fns,
    });
    const exportEdge =
      stepEnabled(PIPELINE_STEPS.exportEdge, useCase) && fns.exportEdge
        ? [new ExportEdgeStep(this, 'EdgeExport', { fn: fns.exportEdge, record: fns.record })]
        : [];
    readyToDeploy.next(
      chainThrough([...exportEdge, ...stepsIn('deploy'), ...(seam ? [seam] : [])], recordSuccess),
    );

    const afterPromote = props.stage.requireApproval
      ? approvalStep(this, {
          requestApproval: fns.approval,
          record: fns.record,
          timeout: approvalTimeout,
          approved: readyToDeploy,
          failure,
        })
      : readyToDeploy;

    const gate = gateStep(this, {
      useCase,
      pass: chainThrough(stepsIn('promote'), afterPromote),
      fail: record(
        STEP_NAMES.recordGateFailure,
        'gate-failure',
        'Append the rejected evaluation to the ledger.',
      ).next(
        new sfn.Succeed(this, 'RejectedByGate', {
          comment: 'The run worked; the candidate did not clear the gate and is not registered.',
        }),
      ),
    });

    // The contract keeps the execution input at $.input, next to each step's result.
    const keepInput = new sfn.Pass(this, 'KeepInput', {
      comment: 'Move the execution input ({useCase, trigger, reason?, cutoff?, reproduceOf?}) to $.input.',
      parameters: { input: sfn.JsonPath.entirePayload },
    });
    this.start = chainThrough([keepInput, ...stepsIn('prepare')], gate);
  }
}
