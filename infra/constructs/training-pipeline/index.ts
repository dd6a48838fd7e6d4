/**
 * The training pipeline of one use case: the step table's functions (step-functions.ts), the
 * SageMaker execution role (sagemaker-role.ts), the model package group, the failure topic, the
 * state machine, the optional retraining schedule and the start-run route (start-run-route.ts);
 * plus `TrainingApprovals` (approvals.ts), the one approval route shared by every use case.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type DeployStepsFactory, TrainingDefinition } from '../../../pipelines/training/definition.ts';
import type { UseCase } from '../../../shared/config/use-case.ts';
import { dataCapturePrefix, endpointNameOf } from '../../../shared/deployment/names.ts';
import { canonicalJson, sha256Hex } from '../../../shared/ledger/canonical.ts';
import { xgboostImageUri } from '../../../shared/models/xgboost-image.ts';
import { TRAINING_ROUTES } from '../../../shared/pipeline/contracts.ts';
import { modelPackageGroupNameOf, trainingStateMachineName } from '../../../shared/pipeline/names.ts';
import { type ByLambdaStep, LAMBDA_STEPS, STEP_ENV, stepEnabled } from '../../../shared/pipeline/steps.ts';
import { logRetentionOf, removalPolicyOf, type StageConfig } from '../../config/stage.ts';
import { ModelDeployment } from '../deployment.ts';
import { throwIfProblems } from '../errors.ts';
import type { MlopsFunction } from '../mlops-function.ts';
import type { LedgerTable } from '../mlops-table.ts';
import { bucketArnFor, iam5ResourceFinding } from '../nag-ids.ts';
import { PipelineResources } from './resources.ts';
import { createSageMakerRole } from './sagemaker-role.ts';
import { addStartRunRoute } from './start-run-route.ts';
import {
  createStepFunctions,
  missingHandlers,
  PIPELINE_FUNCTIONS_DIR,
  STEP_HANDLER_FILES,
} from './step-functions.ts';

export { APPROVAL_HANDLER_FILE, TrainingApprovals, type TrainingApprovalsProps } from './approvals.ts';
export { PIPELINE_FUNCTIONS_DIR, STEP_HANDLER_FILES } from './step-functions.ts';

/** Lambda environment variables are limited to 4 KB in total; the use case must leave room for the rest. */
const MAX_USE_CASE_JSON = 3000;

/** The code version baked into the functions: the commit being synthesized. */
export function gitCodeVersion(cwd: string = join(import.meta.dirname, '..', '..', '..')): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd, encoding: 'utf8', stdio: 'pipe' }).trim();
  } catch {
    // A source tarball has no .git; the ledger then says so instead of failing the deploy.
    return 'unknown';
  }
}

/** sha256 of the use case's canonical JSON: equal configurations hash equal, whatever the key order. */
export function useCaseConfigHash(useCase: UseCase): string {
  return sha256Hex(canonicalJson(useCase));
}

export interface TrainingPipelineProps {
  /** The validated use case. */
  readonly useCase: UseCase;
  /** Stage settings: approval, log retention, removal policy, memory. */
  readonly stage: StageConfig;
  /** The data key: encrypts jobs, artifacts, the topic, logs and function environments. */
  readonly encryptionKey: IKey;
  /** The lineage ledger. */
  readonly ledger: LedgerTable;
  /** Datasets bucket: labels, snapshots and the XGBoost channels. */
  readonly datasetsBucket: IBucket;
  /** Offline feature store bucket, read by BuildDataset. */
  readonly offlineBucket: IBucket;
  /** Model artifacts bucket: training and transform output under `runs/`. */
  readonly artifactsBucket: IBucket;
  /** Transient run state (approval task tokens), keyed by `runId`. */
  readonly runState: ITableV2;
  /** Prediction-log bucket: the endpoint's data capture goes under `capture/<useCase>/`. */
  readonly predictionLogsBucket: IBucket;
  /** The product's REST API; `POST /training/{useCase}/runs` is added to it. */
  readonly api: apigw.RestApi;
  /**
   * Folder holding the step handlers (the step table's `handler` files).
   * @default PIPELINE_FUNCTIONS_DIR (functions/pipeline)
   */
  readonly functionsDir?: string;
  /**
   * Code version written to the ledger with every run.
   * @default - `git rev-parse HEAD` at synth, or 'unknown' without git
   */
  readonly codeVersion?: string;
  /**
   * How long a run waits for an approver.
   * @default Duration.days(7)
   */
  readonly approvalTimeout?: Duration;
  /**
   * Deployment steps between ReadyToDeploy and RecordSuccess.
   * @default - the Deploy step: a nested run of this use case's deploy state machine
   */
  readonly deploy?: DeployStepsFactory;
}

/**
 * One use case's training pipeline: a Standard state machine (X-Ray, ALL-level logs to a
 * KMS-encrypted log group, execution data left out of the logs because it carries task tokens)
 * whose Lambda and SageMaker steps run with least-privilege roles.
 */
export class TrainingPipeline extends Construct {
  /** The state machine; start it with `{useCase, trigger, reason?, cutoff?}`. */
  readonly stateMachine: sfn.StateMachine;
  /** The functions of the step table's Lambda rows, by row key (an optional row's only when the use case turns it on). */
  readonly functions: ByLambdaStep<MlopsFunction>;
  /** Role SageMaker assumes for training, models and batch transform. */
  readonly sagemakerRole: iam.Role;
  /** The model registry group of the use case. */
  readonly modelPackageGroup: sagemaker.CfnModelPackageGroup;
  /** Name of the model package group. */
  readonly modelPackageGroupName: string;
  /** The use case's SageMaker endpoint (created by the first deployment). */
  readonly endpointName: string;
  /** The deploy state machine: the only way a model reaches the endpoint. */
  readonly deployment: ModelDeployment;
  /** Failure notifications (and approval requests) of the use case; KMS-encrypted, TLS-only. */
  readonly topic: sns.Topic;
  /** Image used for training and inference. */
  readonly imageUri: string;
  /** `POST /training/{useCase}/runs`. */
  readonly startRunMethod: apigw.Method;
  /**
   * The retraining schedule.
   * @default - none when the use case has no `trainingSchedule`
   */
  readonly schedule?: events.Rule;
  /** Every variable a pipeline function may receive; each function gets the subset its handler parses. */
  readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    // Check: every problem of the props at once.
    const { useCase, stage } = props;
    const region = Stack.of(this).region;
    const useCaseJson = JSON.stringify(useCase);
    const functionsDir = props.functionsDir ?? PIPELINE_FUNCTIONS_DIR;
    const approvalSegment = TRAINING_ROUTES.approval.path.split('/')[2];
    const problems = [
      ...(Token.isUnresolved(region)
        ? [`needs a stack with an explicit region (image URIs are regional), got ${region}`]
        : []),
      ...(useCase.name === approvalSegment
        ? [
            `use case name '${useCase.name}' collides with the /training/${approvalSegment} approval route; rename it`,
          ]
        : []),
      ...(useCaseJson.length > MAX_USE_CASE_JSON
        ? [
            `use case ${useCase.name} must fit in ${MAX_USE_CASE_JSON} characters of Lambda environment, got ${useCaseJson.length}`,
          ]
        : []),
      ...missingHandlers(functionsDir, STEP_HANDLER_FILES),
    ];
    throwIfProblems(this, problems);

    // Build: identity, registry, topic, role
    this.imageUri =
      useCase.model.algorithm.kind === 'xgboost'
        ? xgboostImageUri(region, useCase.model.algorithm.version)
        : useCase.model.algorithm.imageUri;
    this.modelPackageGroupName = modelPackageGroupNameOf(stage.name, useCase.name);
    this.endpointName = endpointNameOf(stage.name, useCase.name);
    this.modelPackageGroup = new sagemaker.CfnModelPackageGroup(this, 'ModelPackageGroup', {
      modelPackageGroupName: this.modelPackageGroupName,
      modelPackageGroupDescription: `mlops ${stage.name}: model versions of ${useCase.name}`,
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `mlops ${stage.name} ${useCase.name} training`,
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    const resources = new PipelineResources(this, {
      useCase,
      datasetsBucket: props.datasetsBucket,
      offlineBucket: props.offlineBucket,
      artifactsBucket: props.artifactsBucket,
      runState: props.runState,
      topic: this.topic,
      modelPackageGroupName: this.modelPackageGroupName,
      endpointName: this.endpointName,
      dataKey: props.encryptionKey,
    });
    const roleProblems: string[] = [];
    this.sagemakerRole = createSageMakerRole(
      this,
      {
        useCase,
        encryptionKey: props.encryptionKey,
        resources,
        captureObjects: `${bucketArnFor(this, props.predictionLogsBucket, 'PredictionLogs')}/${dataCapturePrefix(useCase.name)}*`,
      },
      roleProblems,
    );
    resources.bindSageMakerRole(this.sagemakerRole);
    throwIfProblems(this, roleProblems);

    // Build: the step functions, each given exactly the variables its handler parses.
    this.environment = {
      USE_CASE_CONFIG: useCaseJson,
      STAGE_REQUIRE_APPROVAL: String(stage.requireApproval),
      LEDGER_TABLE: props.ledger.table.tableName,
      LEDGER_SIGNING_KEY: props.ledger.signingKey.keyArn,
      DATASETS_BUCKET: props.datasetsBucket.bucketName,
      OFFLINE_BUCKET: props.offlineBucket.bucketName,
      ARTIFACTS_BUCKET: props.artifactsBucket.bucketName,
      RUN_STATE_TABLE: props.runState.tableName,
      MODEL_PACKAGE_GROUP: this.modelPackageGroupName,
      IMAGE_URI: this.imageUri,
      SAGEMAKER_ROLE_ARN: this.sagemakerRole.roleArn,
      CODE_VERSION: props.codeVersion ?? gitCodeVersion(),
      CONFIG_HASH: useCaseConfigHash(useCase),
      TOPIC_ARN: this.topic.topicArn,
      ENDPOINT_NAME: this.endpointName,
      DATA_KEY_ARN: props.encryptionKey.keyArn,
      DATA_CAPTURE_URI: `s3://${props.predictionLogsBucket.bucketName}/${dataCapturePrefix(useCase.name)}`,
    };
    const functionProblems: string[] = [];
    this.functions = createStepFunctions(
      this,
      {
        rows: LAMBDA_STEPS.filter(([, row]) => stepEnabled(row, useCase)),
        envs: STEP_ENV,
        useCaseName: useCase.name,
        stage,
        encryptionKey: props.encryptionKey,
        ledger: props.ledger,
        resources,
        functionsDir,
        available: this.environment,
      },
      functionProblems,
    );
    throwIfProblems(this, functionProblems);

    // Build: the deploy state machine the pipeline runs after ReadyToDeploy.
    this.deployment = new ModelDeployment(this, 'Deployment', {
      useCase,
      stage,
      encryptionKey: props.encryptionKey,
      ledger: props.ledger,
      resources,
      functionsDir,
      available: this.environment,
      endpointName: this.endpointName,
    });
    this.deployment.addRollbackRoute(props.api);

    // Build: the state machine.
    const definition = new TrainingDefinition(this, 'Definition', {
      useCase,
      stage,
      functions: Object.fromEntries(
        Object.entries(this.functions).map(([key, f]) => [key, f.fn]),
      ) as ByLambdaStep<MlopsFunction['fn']>,
      sagemakerRole: this.sagemakerRole,
      imageUri: this.imageUri,
      dataKey: props.encryptionKey,
      failureTopic: this.topic,
      approvalTimeout: props.approvalTimeout,
      deploy: props.deploy ?? this.deployment.pipelineStep,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.encryptionKey,
      retention: logRetentionOf(stage),
      removalPolicy: removalPolicyOf(stage),
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: trainingStateMachineName(stage.name, useCase.name),
      comment: `mlops ${stage.name}: train, evaluate, gate and register ${useCase.name}`,
      definitionBody: sfn.DefinitionBody.fromChainable(definition.start),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      // Execution data would copy approval task tokens into the logs, where a reader could approve.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    // NotifyFailure publishes to the KMS-encrypted topic.
    props.encryptionKey.grant(this.stateMachine, 'kms:Decrypt', 'kms:GenerateDataKey');
    this.acknowledgeStateMachine();

    // Wire: the start-run route and the optional retraining schedule.
    this.startRunMethod = addStartRunRoute(this, {
      api: props.api,
      stateMachine: this.stateMachine,
      useCaseName: useCase.name,
    });
    if (useCase.trainingSchedule !== undefined) {
      this.schedule = this.addSchedule(useCase.name, useCase.trainingSchedule, props.encryptionKey);
    }
  }

  /** The state machine role's findings: what the SageMaker and Lambda tasks add. */
  private acknowledgeStateMachine(): void {
    const finding = (resource: string) => iam5ResourceFinding(this, resource);
    const jobFinding = (type: string) =>
      finding(Stack.of(this).formatArn({ service: 'sagemaker', resource: type, resourceName: '*' }));
    Validations.of(this.stateMachine).acknowledge(
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray, CloudWatch Logs delivery and sagemaker:ListTags (added by the SageMaker tasks) support no resource-level permissions.',
      },
      {
        id: jobFinding('training-job'),
        reason: 'Training job names are per run ($.dataset.names.trainingJob), known only at run time.',
      },
      {
        id: jobFinding('transform-job'),
        reason: 'Transform job names are per run ($.dataset.names.*Transform), known only at run time.',
      },
      {
        id: jobFinding('model'),
        reason:
          'The candidate model name is per run ($.dataset.names.candidateModel), known only at run time.',
      },
      {
        id: finding(this.deployment.executionArnPattern()),
        reason:
          'Added by the .sync Deploy step: the pipeline waits on (DescribeExecution) or stops the executions of its own deploy state machine, whose names are given at run time.',
      },
      ...Object.values(this.functions).map((m) => ({
        id: finding(`${m.fn.functionArn}:*`),
        reason:
          'Added by LambdaInvoke: Step Functions may invoke any version of a step function this pipeline owns.',
      })),
      {
        id: 'NIST.800.53.R5-IAMNoInlinePolicy',
        reason:
          'The statements are generated per task and scoped to this state machine; a managed policy would not narrow them.',
      },
    );
  }

  /** A rule starting `{useCase, trigger: schedule}` runs, with a dead-letter queue for failed starts. */
  private addSchedule(useCaseName: string, expression: string, key: IKey): events.Rule {
    const deadLetters = new sqs.Queue(this, 'ScheduleDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(deadLetters).acknowledge(
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of the schedule target.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason: 'This queue is itself the dead-letter queue of the schedule target.',
      },
    );
    return new events.Rule(this, 'Schedule', {
      description: `Periodic retraining of ${useCaseName}`,
      schedule: events.Schedule.expression(expression),
      targets: [
        new targets.SfnStateMachine(this.stateMachine, {
          input: events.RuleTargetInput.fromObject({ useCase: useCaseName, trigger: 'schedule' }),
          deadLetterQueue: deadLetters,
          retryAttempts: 4,
        }),
      ],
    });
  }
}
