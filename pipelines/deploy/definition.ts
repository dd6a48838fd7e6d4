/**
 * The deploy state machine's definition (Step Functions Standard, JSONPath): the only way a model
 * reaches the use case's endpoint, run by the training pipeline and by rollback alike.
 *
 * KeepInput → PrepareDeployment → AlreadyServing? ─yes→ FinishDeployment
 *   → EndpointExists? ─no→ CreateEndpoint ─┐
 *                     └yes→ StartUpdate ───┴→ [settle: Wait → DescribeEndpoint → Settled?] → WatchFirst
 *   WatchFirst → baking: settle again │ alarm: RestorePrevious → settle → WatchRestore → FinishDeployment
 *              │ baked (canary): PromoteToFull → settle → WatchFull → FinishDeployment │ else: FinishDeployment
 *   FinishDeployment → Deployed | RolledBack (both succeed, with the result as output) | DeploymentFailed
 * Every update asks SageMaker for blue/green with auto-rollback on the stack's alarms; the watch
 * then verifies the endpoint's config, so a rollback inside SageMaker is never taken for success.
 */
import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { deployPath, WATCH_INTERVAL_SECONDS, type WatchPhase } from '../../shared/deployment/contracts.ts';
import { DEPLOY_STATE_NAMES, DEPLOY_STEPS, type DeployStepKey } from '../../shared/deployment/steps.ts';
import { lambdaStep } from '../training/lambda-step.ts';

export interface DeployDefinitionProps {
  /** The functions of the deploy step table's rows. */
  readonly functions: Readonly<Record<DeployStepKey, lambda.IFunction>>;
  /** ARN of the use case's endpoint (what the SageMaker tasks may act on). */
  readonly endpointArn: string;
  /** ARN pattern of the endpoint's configs. */
  readonly endpointConfigArns: string;
}

/** Endpoint states that are still moving. */
const MOVING = ['Creating', 'Updating', 'SystemUpdating', 'RollingBack'] as const;

/** SageMaker errors worth retrying. */
const SAGEMAKER_TRANSIENT = [
  'SageMaker.ThrottlingException',
  'SageMaker.SageMakerException',
  'SageMaker.InternalFailure',
];

/** The deploy machine's states, as a construct holding them. */
export class DeployDefinition extends Construct {
  /** The first state. */
  readonly start: sfn.IChainable;

  constructor(scope: Construct, id: string, props: DeployDefinitionProps) {
    super(scope, id);
    const fns = props.functions;
    const step = (key: DeployStepKey, stateName: string, extra: Record<string, unknown> = {}) => {
      const row = DEPLOY_STEPS[key];
      return lambdaStep(this, {
        stateName,
        comment: row.comment,
        fn: fns[key],
        resultPath: deployPath(row.result),
        extraPayload: extra,
      });
    };
    const sagemakerCall = (
      stateName: string,
      action: string,
      parameters: Record<string, unknown>,
      comment: string,
      resultPath: string,
    ) => {
      const task = new tasks.CallAwsService(this, stateName, {
        comment,
        service: 'sagemaker',
        action,
        parameters,
        iamResources: [props.endpointArn, props.endpointConfigArns],
        resultPath,
      });
      task.addRetry({
        errors: SAGEMAKER_TRANSIENT,
        interval: Duration.seconds(5),
        maxAttempts: 5,
        backoffRate: 2,
      });
      return task;
    };
    // A forward update is guarded by SageMaker's auto-rollback on the stack's alarms; restoring is
    // not, since the alarm that asked for it is still in ALARM and would roll the restore back.
    const update = (stateName: string, configPath: string, comment: string, guarded: boolean) =>
      sagemakerCall(
        stateName,
        'updateEndpoint',
        {
          EndpointName: sfn.JsonPath.stringAt(deployPath('plan', 'endpointName')),
          EndpointConfigName: sfn.JsonPath.stringAt(configPath),
          RetainAllVariantProperties: false,
          ...(guarded
            ? {
                DeploymentConfig: {
                  BlueGreenUpdatePolicy: {
                    TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 },
                    TerminationWaitInSeconds: 0,
                  },
                  AutoRollbackConfiguration: {
                    Alarms: sfn.JsonPath.listAt(deployPath('plan', 'autoRollbackAlarms')),
                  },
                },
              }
            : {}),
        },
        comment,
        sfn.JsonPath.DISCARD,
      );

    // Finish, and the three ends.
    const finish = step('finish', DEPLOY_STATE_NAMES.finish);
    const ends = new sfn.Choice(this, 'Outcome')
      .when(
        sfn.Condition.stringEquals(deployPath('result', 'outcome'), 'rolled-back'),
        new sfn.Succeed(this, DEPLOY_STATE_NAMES.rolledBack, {
          comment: 'The new version was taken out of service; the output says why.',
          outputPath: deployPath('result'),
        }),
      )
      .when(
        sfn.Condition.stringEquals(deployPath('result', 'outcome'), 'failed'),
        new sfn.Fail(this, DEPLOY_STATE_NAMES.failed, {
          error: 'DeploymentFailed',
          cause: 'The endpoint could not be created; DeploymentRolledBack in the ledger has the reason.',
        }),
      )
      .otherwise(
        new sfn.Succeed(this, DEPLOY_STATE_NAMES.deployed, {
          comment: 'The endpoint serves the new version, verified.',
          outputPath: deployPath('result'),
        }),
      );
    // Autoscaling follows the variant that serves once the endpoint has settled on it.
    const scale = step('scale', DEPLOY_STATE_NAMES.scale);
    scale.addCatch(ends, { errors: ['States.ALL'], resultPath: deployPath('error') });
    scale.next(ends);
    finish.next(
      new sfn.Choice(this, 'Serves')
        .when(sfn.Condition.stringEquals(deployPath('result', 'outcome'), 'failed'), ends)
        .otherwise(scale),
    );
    const catchInto = (task: tasks.CallAwsService | tasks.LambdaInvoke) =>
      task.addCatch(finish, { errors: ['States.ALL'], resultPath: deployPath('error') });

    // Settle (wait until the endpoint stops moving), then watch, per phase.
    const settleThenWatch = (phase: WatchPhase, label: string) => {
      const wait = new sfn.Wait(this, `Wait${label}`, {
        time: sfn.WaitTime.duration(Duration.seconds(WATCH_INTERVAL_SECONDS)),
      });
      const describe = sagemakerCall(
        `Describe${label}`,
        'describeEndpoint',
        { EndpointName: sfn.JsonPath.stringAt(deployPath('plan', 'endpointName')) },
        'Read the endpoint status and its current endpoint config.',
        deployPath('endpoint'),
      );
      catchInto(describe);
      const watch = step('watch', `Watch${label}`, { phase });
      catchInto(watch);
      wait
        .next(describe)
        .next(
          new sfn.Choice(this, `Settled${label}`)
            .when(
              sfn.Condition.or(
                ...MOVING.map((s) => sfn.Condition.stringEquals(deployPath('endpoint', 'EndpointStatus'), s)),
              ),
              wait,
            )
            .otherwise(watch),
        );
      return { wait, watch };
    };

    const restore = update(
      DEPLOY_STATE_NAMES.restore,
      deployPath('plan', 'previous', 'configName'),
      'A watched alarm fired: put the previous config back.',
      false,
    );
    catchInto(restore);
    const restoreLoop = settleThenWatch('restore', 'Restore');
    restore.next(restoreLoop.wait);
    restoreLoop.watch.next(finish);

    const promote = update(
      DEPLOY_STATE_NAMES.promote,
      deployPath('plan', 'fullConfig'),
      'The canary baked with no alarm: the new version takes all traffic.',
      true,
    );
    catchInto(promote);
    const fullLoop = settleThenWatch('full', 'Full');
    promote.next(fullLoop.wait);
    // SageMaker rolling the promotion back leaves the canary config: restore the previous one.
    fullLoop.watch.next(
      new sfn.Choice(this, 'FullVerdict')
        .when(sfn.Condition.stringEquals(deployPath('watch', 'verdict'), 'rolled-back'), restore)
        .otherwise(finish),
    );

    const firstLoop = settleThenWatch('first', 'First');
    firstLoop.watch.next(
      new sfn.Choice(this, 'FirstVerdict')
        .when(sfn.Condition.stringEquals(deployPath('watch', 'verdict'), 'baking'), firstLoop.wait)
        .when(sfn.Condition.stringEquals(deployPath('watch', 'verdict'), 'alarm'), restore)
        .when(
          sfn.Condition.and(
            sfn.Condition.stringEquals(deployPath('watch', 'verdict'), 'baked'),
            sfn.Condition.stringEquals(deployPath('plan', 'strategy', 'kind'), 'canary'),
          ),
          promote,
        )
        .otherwise(finish),
    );

    const create = sagemakerCall(
      DEPLOY_STATE_NAMES.createEndpoint,
      'createEndpoint',
      {
        EndpointName: sfn.JsonPath.stringAt(deployPath('plan', 'endpointName')),
        EndpointConfigName: sfn.JsonPath.stringAt(deployPath('plan', 'firstConfig')),
      },
      'No endpoint yet: create it on the new version.',
      sfn.JsonPath.DISCARD,
    );
    catchInto(create);
    create.next(firstLoop.wait);
    const startUpdate = update(
      DEPLOY_STATE_NAMES.updateEndpoint,
      deployPath('plan', 'firstConfig'),
      'Move the endpoint to the first config: the canary (both versions by weight) or the new version alone.',
      true,
    );
    catchInto(startUpdate);
    startUpdate.next(firstLoop.wait);

    const prepare = step('prepare', DEPLOY_STATE_NAMES.prepare);
    const keepInput = new sfn.Pass(this, 'KeepInput', {
      comment: 'Move the execution input ({modelPackageArn, trigger, actor, reason, runId?}) to $.input.',
      parameters: { input: sfn.JsonPath.entirePayload },
    });
    keepInput.next(prepare).next(
      new sfn.Choice(this, 'AlreadyServing')
        .when(sfn.Condition.booleanEquals(deployPath('plan', 'alreadyServing'), true), finish)
        .when(sfn.Condition.booleanEquals(deployPath('plan', 'endpointExists'), true), startUpdate)
        .otherwise(create),
    );
    this.start = keepInput;
  }
}
