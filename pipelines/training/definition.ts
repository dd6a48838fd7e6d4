/**
 * The training pipeline's state machine definition (Step Functions Standard, JSONPath), assembled
 * from one small factory per step. State names come from STEP_NAMES, so the CLI, the tests and
 * the local emulator's per-state overrides all key on the same names.
 *
 * KeepInput → BuildDataset → ValidateData → Train → CreateCandidateModel → FindChampion → BatchTransform →
 * Evaluate → Gate ─fail→ RecordGateFailure → RejectedByGate
 *                 └pass→ Register → [Approval → RecordApproval → IsApproved] → ReadyToDeploy →
 *                        (deploy) → RecordSuccess → TrainingSucceeded
 * Every Task (and the Parallel) catches into Catch<Step> → RecordFailure → NotifyFailure → Failed.
 */
import { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { UseCase } from '../../shared/config/use-case.ts';
import { APPROVAL_TTL_SECONDS } from '../../shared/pipeline/approval.ts';
import { STEP_NAMES } from '../../shared/pipeline/contracts.ts';
import { approvalStep } from './approval.ts';
import { FailurePath } from './failure.ts';
import { gateStep } from './gate.ts';
import { lambdaStep } from './lambda-step.ts';
import { batchTransformStep, createCandidateModelStep, trainStep } from './sagemaker-steps.ts';

/** The Lambda handlers of the pipeline's steps. */
export interface TrainingStepFunctions {
  readonly buildDataset: lambda.IFunction;
  readonly validateData: lambda.IFunction;
  readonly findChampion: lambda.IFunction;
  readonly evaluate: lambda.IFunction;
  readonly register: lambda.IFunction;
  readonly requestApproval: lambda.IFunction;
  /** Records success, gate failure, approval and failure (the payload's `kind` says which). */
  readonly record: lambda.IFunction;
}

/** Adds the deployment steps after ReadyToDeploy; its Tasks should catch into `failure`. */
export type DeployStepsFactory = (scope: Construct, failure: FailurePath) => sfn.IChainable & sfn.INextable;

export interface TrainingDefinitionProps {
  /** The validated use case: sizing, hyperparameters and gates are read at synth. */
  readonly useCase: UseCase;
  /** Whether a human approves a registered model before it is deployed (the stage decides). */
  readonly requireApproval: boolean;
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
   * Deployment steps run between ReadyToDeploy and RecordSuccess.
   * @default - none: ReadyToDeploy goes straight to RecordSuccess
   */
  readonly deploy?: DeployStepsFactory;
}

/** Step Functions allows at most a year per task; an approval older than 30 days is stale anyway. */
// The approval token is kept for APPROVAL_TTL_SECONDS: a longer wait could not be released.
const MAX_APPROVAL_TIMEOUT = Duration.seconds(APPROVAL_TTL_SECONDS);

/** The whole training state machine definition for one use case, as a construct holding its states. */
export class TrainingDefinition extends Construct {
  /** The first state; hand it to `DefinitionBody.fromChainable`. */
  readonly start: sfn.IChainable;
  /** The shared failure chain. */
  readonly failure: FailurePath;

  constructor(scope: Construct, id: string, props: TrainingDefinitionProps) {
    super(scope, id);
    const approvalTimeout = props.approvalTimeout ?? Duration.days(7);
    if (approvalTimeout.toSeconds() < 60 || approvalTimeout.toSeconds() > MAX_APPROVAL_TIMEOUT.toSeconds()) {
      throw new Error(
        `approvalTimeout must be between 60 seconds and ${MAX_APPROVAL_TIMEOUT.toHumanString()} (how long an approval token is kept), got ${approvalTimeout.toHumanString()}`,
      );
    }
    const { useCase, functions: fns } = props;
    this.failure = new FailurePath(this, {
      record: fns.record,
      topic: props.failureTopic,
      useCase: useCase.name,
    });
    const failure = this.failure;
    const sagemaker = {
      useCase,
      imageUri: props.imageUri,
      role: props.sagemakerRole,
      dataKey: props.dataKey,
      failure,
    };
    const step = (
      stateName: string,
      fn: lambda.IFunction,
      resultPath: string,
      comment: string,
      extraPayload?: Record<string, unknown>,
    ) => lambdaStep(this, { stateName, fn, resultPath, comment, extraPayload, failure });

    const buildDataset = step(
      STEP_NAMES.buildDataset,
      fns.buildDataset,
      '$.dataset',
      'Point-in-time join, immutable snapshot, manifest and the XGBoost channels.',
    );
    const validateData = step(
      STEP_NAMES.validateData,
      fns.validateData,
      '$.validation',
      'Schema, missing rate, minimum rows and label balance; throws DataValidationError with the reason.',
    );
    const findChampion = step(
      STEP_NAMES.findChampion,
      fns.findChampion,
      '$.champion',
      'The latest approved model of the use case, as a SageMaker model for batch transform.',
    );
    const evaluate = step(
      STEP_NAMES.evaluate,
      fns.evaluate,
      '$.evaluation',
      'Metrics of candidate and champion on the same test rows.',
    );
    const register = step(
      STEP_NAMES.register,
      fns.register,
      '$.registered',
      'A model package version plus the registered ledger event.',
    );
    const recordGateFailure = step(
      STEP_NAMES.recordGateFailure,
      fns.record,
      sfn.JsonPath.DISCARD,
      'Append the rejected evaluation to the ledger.',
      { kind: 'gate-failure' },
    );
    const recordSuccess = step(
      STEP_NAMES.recordSuccess,
      fns.record,
      sfn.JsonPath.DISCARD,
      'Append the completed run (and its manifest) to the ledger.',
      { kind: 'success' },
    );

    const readyToDeploy = new sfn.Pass(this, 'ReadyToDeploy', {
      comment: 'The candidate passed the gate and, where required, an approver.',
    });
    const afterDeploy = props.deploy ? readyToDeploy.next(props.deploy(this, failure)) : readyToDeploy;
    afterDeploy.next(recordSuccess).next(new sfn.Succeed(this, 'TrainingSucceeded'));

    const afterRegister = props.requireApproval
      ? approvalStep(this, {
          requestApproval: fns.requestApproval,
          record: fns.record,
          timeout: approvalTimeout,
          approved: readyToDeploy,
          failure,
        })
      : readyToDeploy;

    const gate = gateStep(this, {
      useCase,
      pass: register.next(afterRegister),
      fail: recordGateFailure.next(
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
    this.start = sfn.Chain.start(keepInput)
      .next(buildDataset)
      .next(validateData)
      .next(trainStep(this, sagemaker))
      .next(createCandidateModelStep(this, sagemaker))
      .next(findChampion)
      .next(batchTransformStep(this, sagemaker))
      .next(evaluate)
      .next(gate);
  }
}
