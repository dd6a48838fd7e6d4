/**
 * ModelDeployment: the use case's deploy state machine (`mlops-<stage>-<useCase>-deploy`) with its
 * step functions, made from the deploy step table (shared/deployment/steps.ts) by the same code as
 * the training pipeline's, and the pipeline step that runs it as a nested execution.
 */
import { join } from 'node:path';
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DeployDefinition } from '../../pipelines/deploy/definition.ts';
import type { DeployStepsFactory } from '../../pipelines/training/definition.ts';
import type { UseCase } from '../../shared/config/use-case.ts';
import { DEPLOYMENT_ROUTES, DeploymentResultSchema } from '../../shared/deployment/contracts.ts';
import { deployMachineNameOf } from '../../shared/deployment/names.ts';
import {
  DEPLOY_ENV,
  DEPLOY_STEPS,
  type DeployStepKey,
  ROLLBACK_ENV,
  ROLLBACK_HANDLER_FILE,
} from '../../shared/deployment/steps.ts';
import type { GrantTarget } from '../../shared/pipeline/steps.ts';
import {
  isLambdaStep,
  type LambdaStepRow,
  STEP_NAMES,
  type StepRow,
  statePath,
} from '../../shared/pipeline/steps.ts';
import { functionLogDefaults, logRetentionOf, removalPolicyOf, type StageConfig } from '../config/stage.ts';
import { throwIfProblems } from './errors.ts';
import { addIamRoutes } from './ingestion.ts';
import { MlopsFunction } from './mlops-function.ts';
import type { LedgerTable } from './mlops-table.ts';
import { iam5ResourceFinding } from './nag-ids.ts';
import type { PipelineResources } from './training-pipeline/resources.ts';
import { createStepFunctions, environmentFor, missingHandlers } from './training-pipeline/step-functions.ts';

/** Where the deployment routes' handlers are. */
const DEPLOYMENT_FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions', 'deployment');

/** The deploy table's Lambda rows, with their keys. */
const DEPLOY_ROWS = (Object.entries(DEPLOY_STEPS) as [DeployStepKey, StepRow][]).filter(
  (e): e is [DeployStepKey, LambdaStepRow] => isLambdaStep(e[1]),
);

/** The deploy table's handler files. */
export const DEPLOY_HANDLER_FILES: readonly string[] = DEPLOY_ROWS.map(([, row]) => row.handler);

export interface ModelDeploymentProps {
  readonly useCase: UseCase;
  readonly stage: StageConfig;
  readonly encryptionKey: IKey;
  readonly ledger: LedgerTable;
  /** What the step table's grants name (the training pipeline's, which knows the endpoint). */
  readonly resources: PipelineResources;
  /** Folder of the step handlers. */
  readonly functionsDir: string;
  /** Every variable a deploy function may receive. */
  readonly available: Readonly<Record<string, string>>;
  /** The use case's endpoint. */
  readonly endpointName: string;
}

/** The deploy state machine of one use case. */
export class ModelDeployment extends Construct {
  /** Start it with `{modelPackageArn, trigger, actor, reason, runId?}`. */
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Readonly<Record<DeployStepKey, MlopsFunction>>;
  readonly endpointName: string;

  constructor(
    scope: Construct,
    id: string,
    private readonly props: ModelDeploymentProps,
  ) {
    super(scope, id);
    // Check
    throwIfProblems(this, missingHandlers(props.functionsDir, DEPLOY_HANDLER_FILES));
    const { useCase, stage } = props;
    this.endpointName = props.endpointName;

    // Build
    const problems: string[] = [];
    this.functions = createStepFunctions(
      this,
      {
        rows: DEPLOY_ROWS,
        envs: DEPLOY_ENV,
        useCaseName: useCase.name,
        stage,
        encryptionKey: props.encryptionKey,
        ledger: props.ledger,
        resources: props.resources,
        functionsDir: props.functionsDir,
        available: props.available,
      },
      problems,
    );
    throwIfProblems(this, problems);
    const [endpointArn] = props.resources.arns('endpoint');
    const [endpointConfigArns] = props.resources.arns('endpointConfigs');
    const definition = new DeployDefinition(this, 'Definition', {
      functions: Object.fromEntries(Object.entries(this.functions).map(([k, f]) => [k, f.fn])) as Record<
        DeployStepKey,
        MlopsFunction['fn']
      >,
      endpointArn: endpointArn as string,
      endpointConfigArns: endpointConfigArns as string,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.encryptionKey,
      retention: logRetentionOf(stage),
      removalPolicy: removalPolicyOf(stage),
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: deployMachineNameOf(stage.name, useCase.name),
      comment: `mlops ${stage.name}: deploy a model version of ${useCase.name} (canary, bake, verify, roll back)`,
      definitionBody: sfn.DefinitionBody.fromChainable(definition.start),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    this.acknowledge(endpointConfigArns as string);
  }

  /**
   * The training pipeline's Deploy step: runs this machine on the registered version and waits
   * for it (`startExecution.sync:2`), keeping its result at `$.deployment`.
   */
  readonly pipelineStep: DeployStepsFactory = ({ scope, failure }) => {
    const deploy = new tasks.StepFunctionsStartExecution(scope, STEP_NAMES.deploy, {
      comment: 'Run the deploy state machine on the registered version and wait for its verified result.',
      stateMachine: this.stateMachine,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      associateWithParent: true,
      input: sfn.TaskInput.fromObject({
        modelPackageArn: sfn.JsonPath.stringAt(statePath('registered', 'modelPackageArn')),
        trigger: 'pipeline',
        actor: sfn.JsonPath.format('pipeline/{}', sfn.JsonPath.executionName),
        reason: sfn.JsonPath.format('training run {}', sfn.JsonPath.executionName),
        runId: sfn.JsonPath.executionName,
      }),
      resultSelector: Object.fromEntries(
        Object.keys(DeploymentResultSchema.shape).map((k) => [`${k}.$`, `$.Output.${k}`]),
      ),
      resultPath: statePath('deployment'),
      taskTimeout: sfn.Timeout.duration(Duration.hours(24)),
    });
    failure.catchFor(deploy, STEP_NAMES.deploy);
    return deploy;
  };

  /** The execution ARN pattern a caller waiting on this machine (`.sync`) is granted, as StepFunctionsStartExecution writes it. */
  executionArnPattern(): string {
    const stack = Stack.of(this);
    const name = stack.splitArn(
      this.stateMachine.stateMachineArn,
      ArnFormat.COLON_RESOURCE_NAME,
    ).resourceName;
    return stack.formatArn({
      service: 'states',
      resource: 'execution',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      resourceName: `${name}*`,
    });
  }

  /**
   * `POST /deployments/<useCase>/rollback`: a function that chooses the version (the caller's, or
   * the newest approved one older than what serves) and starts this machine with the caller's
   * identity. It may read the endpoint and the registry, and start this machine only.
   */
  addRollbackRoute(api: apigw.RestApi, props: { readonly functionsDir?: string } = {}): MlopsFunction {
    const functionsDir = props.functionsDir ?? DEPLOYMENT_FUNCTIONS_DIR;
    const { useCase, stage, resources } = this.props;
    const problems = missingHandlers(functionsDir, [ROLLBACK_HANDLER_FILE]);
    const environment = environmentFor(
      'rollbackApi',
      ROLLBACK_ENV,
      {
        USE_CASE_CONFIG: JSON.stringify(useCase),
        ENDPOINT_NAME: this.endpointName,
        ...(this.props.available.MODEL_PACKAGE_GROUP === undefined
          ? {}
          : { MODEL_PACKAGE_GROUP: this.props.available.MODEL_PACKAGE_GROUP }),
        DEPLOY_STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
      },
      problems,
    );
    throwIfProblems(this, problems);
    const fn = new MlopsFunction(this, 'Rollback', {
      entry: join(functionsDir, ROLLBACK_HANDLER_FILE),
      description: `${useCase.name}: POST /deployments/{useCase}/rollback (starts the deploy machine)`,
      encryptionKey: this.props.encryptionKey,
      timeout: Duration.seconds(29),
      memorySize: stage.lambdaMemoryMb,
      ...functionLogDefaults(stage),
      environment,
    });
    this.props.encryptionKey.grant(fn.fn, 'kms:Decrypt');
    this.stateMachine.grantStartExecution(fn.fn);
    const statement = (sid: string, actions: string[], targets: GrantTarget[]) =>
      fn.fn.addToRolePolicy(
        new iam.PolicyStatement({ sid, actions, resources: targets.flatMap((t) => [...resources.arns(t)]) }),
      );
    statement('ReadWhatServes', ['sagemaker:DescribeEndpoint'], ['endpoint']);
    statement('ReadServingConfig', ['sagemaker:DescribeEndpointConfig'], ['endpointConfigs']);
    statement('ListVersions', ['sagemaker:ListModelPackages'], ['modelPackageGroup']);
    const servingModels = Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'model',
      resourceName: `${environment.MODEL_PACKAGE_GROUP}-v*`,
    });
    fn.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadServingModel',
        actions: ['sagemaker:DescribeModel'],
        resources: [servingModels],
      }),
    );
    Validations.of(fn).acknowledge(
      ...[...resources.arns('endpointConfigs'), servingModels].map((arn) => ({
        id: iam5ResourceFinding(this, arn),
        reason:
          'Read-only: the endpoint configs and models each deployment names at run time, read to learn which version serves.',
      })),
    );
    const route = DEPLOYMENT_ROUTES.rollback;
    addIamRoutes(api, fn, { id: `RollbackParams-${useCase.name}`, name: `rollback-${useCase.name}` }, [
      { method: route.method, path: route.path.replace('{useCase}', useCase.name) },
    ]);
    return fn;
  }

  private acknowledge(endpointConfigArns: string): void {
    Validations.of(this.stateMachine).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray and CloudWatch Logs delivery support no resource-level permissions.',
      },
      {
        id: iam5ResourceFinding(this, endpointConfigArns),
        reason:
          "Limited to this endpoint's configs (<endpoint>-*); each deployment names its own, known only at run time.",
      },
      ...Object.values(this.functions).map((m) => ({
        id: iam5ResourceFinding(this, `${m.fn.functionArn}:*`),
        reason: 'Added by LambdaInvoke: Step Functions may invoke any version of a deploy function it owns.',
      })),
      {
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason:
          'The statements are generated per task and scoped to this state machine; a managed policy would not narrow them.',
      },
    );
  }
}
