/**
 * The training pipeline of one use case: its step functions, SageMaker execution role, model
 * package group, failure topic, state machine, optional retraining schedule and the
 * `POST /training/{useCase}/runs` route; plus `TrainingApprovals`, the one approval route shared
 * by every use case.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type DeployStepsFactory, TrainingDefinition } from '../../pipelines/training/definition.ts';
import type { UseCase } from '../../shared/config/use-case.ts';
import { canonicalJson, sha256Hex } from '../../shared/ledger/canonical.ts';
import { xgboostImageUri } from '../../shared/models/xgboost-image.ts';
import { StartRunBodySchema } from '../../shared/pipeline/contracts.ts';
import { STEP_ENV } from '../../shared/pipeline/env.ts';
import { apiGatewayModelSchema } from '../api/json-schema.ts';
import { functionLogDefaults, logRetentionOf, removalPolicyOf, type StageConfig } from '../config/stage.ts';
import { MlopsFunction } from './mlops-function.ts';
import type { LedgerTable } from './mlops-table.ts';
import { bucketArnFor, iam5ResourceFinding } from './nag-ids.ts';

/** Where the step handlers live in the repository. */
export const PIPELINE_FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions', 'pipeline');

/** The handler files of the pipeline, by role. */
export const PIPELINE_HANDLER_FILES = {
  buildDataset: 'build-dataset.ts',
  validateData: 'validate-data.ts',
  findChampion: 'find-champion.ts',
  evaluate: 'evaluate.ts',
  register: 'register.ts',
  requestApproval: 'request-approval.ts',
  record: 'record.ts',
  approvalApi: 'approval-api.ts',
} as const;

/** Lambda environment variables are limited to 4 KB in total; the use case must leave room for the rest. */
const MAX_USE_CASE_JSON = 3000;

/** Training output and batch-transform output live under this prefix of the artifacts bucket. */
const RUNS_PREFIX = 'runs/';

/** The code version baked into the functions: the commit being synthesized. */
export function gitCodeVersion(cwd: string = join(import.meta.dirname, '..', '..')): string {
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

/** Start-run body the route accepts (strict, like the contract's PipelineInput minus useCase/trigger). */
/** API Gateway's model of the start-run body, from the same zod schema as the pipeline input. */
const START_RUN_BODY_SCHEMA = apiGatewayModelSchema(StartRunBodySchema, 'StartTrainingRun');

/**
 * The StartExecution request built from a validated body. The execution name (the run ID) is the
 * API request ID; the input is `{useCase, trigger}` followed by the body's own fields, spliced in
 * as JSON so no field is re-encoded by hand. `trigger` is `reproduce` when `reproduceOf` is given.
 */
function startExecutionTemplate(stateMachineArn: string, useCase: string): string {
  return [
    "#set($body = $input.json('$').trim())",
    '#set($fields = $body.substring(1, $body.length()).trim())',
    "#if($fields == '}')#set($sep = '')#else#set($sep = ',')#end",
    "#if(\"$!input.path('$.reproduceOf')\" != '')#set($trigger = 'reproduce')#else#set($trigger = 'manual')#end",
    `#set($execInput = '{"useCase":"${useCase}","trigger":"' + $trigger + '"' + $sep + $fields)`,
    '{',
    `  "stateMachineArn": "${stateMachineArn}",`,
    '  "name": "$context.requestId",',
    `  "input": "$util.escapeJavaScript($execInput).replaceAll("\\\\'", "'")"`,
    '}',
  ].join('\n');
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
  /** The product's REST API; `POST /training/{useCase}/runs` is added to it. */
  readonly api: apigw.RestApi;
  /**
   * Folder holding the step handlers (see PIPELINE_HANDLER_FILES).
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
   * @default - none
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
  /** The step handlers, by role. */
  readonly functions: Readonly<Record<StepKey, MlopsFunction>>;
  /** Role SageMaker assumes for training, models and batch transform. */
  readonly sagemakerRole: iam.Role;
  /** The model registry group of the use case. */
  readonly modelPackageGroup: sagemaker.CfnModelPackageGroup;
  /** Name of the model package group. */
  readonly modelPackageGroupName: string;
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
    // Check
    const { useCase, stage } = props;
    const region = Stack.of(this).region;
    if (Token.isUnresolved(region)) {
      throw new Error(
        `TrainingPipeline ${useCase.name} needs a stack with an explicit region (image URIs are regional), got ${region}`,
      );
    }
    if (useCase.name === 'runs') {
      throw new Error("use case name 'runs' collides with the /training/runs approval route; rename it");
    }
    const useCaseJson = JSON.stringify(useCase);
    if (useCaseJson.length > MAX_USE_CASE_JSON) {
      throw new Error(
        `use case ${useCase.name} must fit in ${MAX_USE_CASE_JSON} characters of Lambda environment, got ${useCaseJson.length}`,
      );
    }
    const functionsDir = props.functionsDir ?? PIPELINE_FUNCTIONS_DIR;
    for (const file of Object.values(PIPELINE_HANDLER_FILES)) {
      if (!existsSync(join(functionsDir, file))) {
        throw new Error(`pipeline handler ${file} is missing from ${functionsDir}`);
      }
    }

    // Build: identity, registry, topic
    this.imageUri =
      useCase.model.algorithm.kind === 'xgboost'
        ? xgboostImageUri(region, useCase.model.algorithm.version)
        : useCase.model.algorithm.imageUri;
    this.modelPackageGroupName = `mlops-${stage.name}-${useCase.name}`;
    this.modelPackageGroup = new sagemaker.CfnModelPackageGroup(this, 'ModelPackageGroup', {
      modelPackageGroupName: this.modelPackageGroupName,
      modelPackageGroupDescription: `mlops ${stage.name}: model versions of ${useCase.name}`,
    });
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: `mlops ${stage.name} ${useCase.name} training`,
      masterKey: props.encryptionKey,
      enforceSSL: true,
    });
    this.sagemakerRole = new iam.Role(this, 'SageMakerRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `SageMaker jobs and models of ${useCase.name}: read run channels, write only under runs/`,
    });

    const removal = removalPolicyOf(stage);
    const stack = Stack.of(this);
    const datasetsArn = bucketArnFor(this, props.datasetsBucket, 'Datasets');
    const offlineArn = bucketArnFor(this, props.offlineBucket, 'OfflineFeatures');
    const artifactsArn = bucketArnFor(this, props.artifactsBucket, 'Artifacts');
    const snapshotsPrefix = `snapshots/${useCase.name}/`;
    const labelsPrefix = `labels/${useCase.name}/`;
    const resources: PipelineResources = {
      snapshotObjects: `${datasetsArn}/${snapshotsPrefix}*`,
      labelObjects: `${datasetsArn}/${labelsPrefix}*`,
      // BuildDataset writes each run's channels under runs/<runId>/, transform writes under .../transform/.
      runDataObjects: `${datasetsArn}/${RUNS_PREFIX}*`,
      transformObjects: `${datasetsArn}/${RUNS_PREFIX}*/transform/*`,
      artifactObjects: `${artifactsArn}/${RUNS_PREFIX}*`,
      featureObjects: useCase.featureGroups.map((g) => `${offlineArn}/features/${g.name}/*`),
      sagemakerLogGroups: `arn:${stack.partition}:logs:${region}:${stack.account}:log-group:/aws/sagemaker/*`,
      packageArns: stack.formatArn({
        service: 'sagemaker',
        resource: 'model-package',
        resourceName: `${this.modelPackageGroupName}/*`,
      }),
      modelArns: stack.formatArn({ service: 'sagemaker', resource: 'model', resourceName: '*' }),
    };
    const groupArn = stack.formatArn({
      service: 'sagemaker',
      resource: 'model-package-group',
      resourceName: this.modelPackageGroupName,
    });

    const available: Record<string, string> = {
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
    };
    this.environment = available;

    // Build: the step handlers, all invoked synchronously by the state machine, each configured
    // with exactly the variables its handler parses (STEP_ENV).
    const fn = (key: StepKey, description: string, timeout: Duration, memorySize = stage.lambdaMemoryMb) =>
      new MlopsFunction(this, `${key.charAt(0).toUpperCase()}${key.slice(1)}`, {
        entry: join(functionsDir, PIPELINE_HANDLER_FILES[key]),
        description: `${useCase.name}: ${description}`,
        encryptionKey: props.encryptionKey,
        timeout,
        memorySize,
        logRetention: logRetentionOf(stage),
        logRemovalPolicy: removal,
        environment: stepEnvironment(key, available),
      });
    this.functions = {
      // The channels are encoded from a local copy of the snapshot.
      buildDataset: fn(
        'buildDataset',
        'point-in-time dataset, snapshot, manifest and channels',
        Duration.minutes(15),
        Math.max(stage.lambdaMemoryMb, 2048),
      ),
      validateData: fn('validateData', 'data quality gate on the snapshot', Duration.minutes(5)),
      findChampion: fn('findChampion', 'finds the approved champion model', Duration.minutes(1)),
      evaluate: fn(
        'evaluate',
        'scores candidate and champion on the test split',
        Duration.minutes(5),
        Math.max(stage.lambdaMemoryMb, 1024),
      ),
      register: fn('register', 'registers the model package version', Duration.minutes(1)),
      requestApproval: fn('requestApproval', 'stores the approval task token', Duration.seconds(30)),
      record: fn('record', 'appends run outcomes to the ledger', Duration.minutes(2)),
    };
    const f = this.functions;

    // Wire: the SageMaker role reads run channels and model artifacts, writes only under runs/.
    const sagemakerPolicy = (
      sid: string,
      actions: string[],
      resourceArns: string[],
      conditions?: iam.Conditions,
    ) =>
      this.sagemakerRole.addToPolicy(
        new iam.PolicyStatement({ sid, actions, resources: resourceArns, conditions }),
      );
    sagemakerPolicy('ReadRunChannels', ['s3:GetObject'], [resources.runDataObjects]);
    sagemakerPolicy('ListRunChannels', ['s3:ListBucket'], [datasetsArn], {
      StringLike: { 's3:prefix': [`${RUNS_PREFIX}*`] },
    });
    sagemakerPolicy(
      'WriteTransformOutput',
      ['s3:PutObject', 's3:AbortMultipartUpload'],
      [resources.transformObjects],
    );
    sagemakerPolicy(
      'ReadWriteRunArtifacts',
      ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
      [resources.artifactObjects],
    );
    props.encryptionKey.grant(this.sagemakerRole, 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
    // Transform jobs encrypt their volumes through a grant, as training jobs do.
    sagemakerPolicy('GrantVolumeEncryption', ['kms:CreateGrant'], [props.encryptionKey.keyArn], {
      Bool: { 'kms:GrantIsForAWSResource': 'true' },
    });
    sagemakerPolicy(
      'WriteJobLogs',
      ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      [resources.sagemakerLogGroups],
    );
    sagemakerPolicy('PutJobMetrics', ['cloudwatch:PutMetricData'], ['*'], {
      StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' },
    });
    if (useCase.model.algorithm.kind === 'custom-image') {
      sagemakerPolicy(
        'PullImage',
        ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
        [ecrRepositoryArn(useCase.model.algorithm.imageUri, stack.partition)],
      );
      sagemakerPolicy('EcrLogin', ['ecr:GetAuthorizationToken'], ['*']);
    }

    // Wire: each function gets the exact actions of its step.
    const allow = (
      target: MlopsFunction,
      sid: string,
      actions: string[],
      resourceArns: string[],
      conditions?: iam.Conditions,
    ) =>
      target.fn.addToRolePolicy(
        new iam.PolicyStatement({ sid, actions, resources: resourceArns, conditions }),
      );
    // Steps that append events; the ones that also look up a run's earlier events read the byRun index.
    for (const writer of [f.buildDataset, f.evaluate, f.register, f.record])
      props.ledger.grantAppend(writer.fn);
    for (const reader of [f.buildDataset, f.register, f.record]) props.ledger.grantRead(reader.fn);
    for (const target of Object.values(f)) {
      props.encryptionKey.grant(target.fn, 'kms:Decrypt', 'kms:GenerateDataKey');
    }

    allow(f.buildDataset, 'ReadFeatureHistory', ['s3:GetObject'], [...resources.featureObjects]);
    allow(f.buildDataset, 'ListFeatureHistory', ['s3:ListBucket'], [offlineArn], {
      StringLike: { 's3:prefix': useCase.featureGroups.map((g) => `features/${g.name}/*`) },
    });
    allow(f.buildDataset, 'ReadLabels', ['s3:GetObject'], [resources.labelObjects]);
    allow(
      f.buildDataset,
      'ReadWriteSnapshots',
      ['s3:GetObject', 's3:GetObjectVersion', 's3:PutObject', 's3:AbortMultipartUpload'],
      [resources.snapshotObjects],
    );
    allow(
      f.buildDataset,
      'WriteRunChannels',
      ['s3:PutObject', 's3:AbortMultipartUpload'],
      [resources.runDataObjects],
    );
    allow(f.buildDataset, 'ListDatasets', ['s3:ListBucket'], [datasetsArn], {
      StringLike: { 's3:prefix': [`${labelsPrefix}*`, `${snapshotsPrefix}*`] },
    });
    allow(f.validateData, 'ReadManifest', ['s3:GetObject'], [resources.snapshotObjects]);
    allow(f.evaluate, 'ReadLabelsAndPredictions', ['s3:GetObject'], [resources.runDataObjects]);
    allow(f.evaluate, 'ListPredictions', ['s3:ListBucket'], [datasetsArn], {
      StringLike: { 's3:prefix': [`${RUNS_PREFIX}*`] },
    });
    // ListModelPackages has no resource type: it is authorized on * only.
    allow(f.findChampion, 'ListVersions', ['sagemaker:ListModelPackages'], ['*']);
    allow(f.findChampion, 'DescribeChampion', ['sagemaker:DescribeModelPackage'], [resources.packageArns]);
    allow(
      f.findChampion,
      'CreateChampionModel',
      ['sagemaker:CreateModel', 'sagemaker:DescribeModel'],
      [resources.modelArns],
    );
    allow(f.findChampion, 'PassSageMakerRole', ['iam:PassRole'], [this.sagemakerRole.roleArn], {
      StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' },
    });
    allow(f.register, 'RegisterVersion', ['sagemaker:CreateModelPackage'], [groupArn, resources.packageArns]);
    allow(f.register, 'DescribeVersion', ['sagemaker:DescribeModelPackage'], [resources.packageArns]);
    allow(f.register, 'WriteEvaluationReport', ['s3:PutObject', 's3:GetObject'], [resources.artifactObjects]);
    allow(f.record, 'SetApprovalStatus', ['sagemaker:UpdateModelPackage'], [resources.packageArns]);
    allow(f.record, 'HashModelArtifacts', ['s3:GetObject'], [resources.artifactObjects]);
    allow(f.requestApproval, 'StoreTaskToken', ['dynamodb:PutItem'], [props.runState.tableArn]);
    allow(f.requestApproval, 'NotifyApprovers', ['sns:Publish'], [this.topic.topicArn]);

    // Build: the state machine.
    const definition = new TrainingDefinition(this, 'Definition', {
      useCase,
      requireApproval: stage.requireApproval,
      functions: {
        buildDataset: f.buildDataset.fn,
        validateData: f.validateData.fn,
        findChampion: f.findChampion.fn,
        evaluate: f.evaluate.fn,
        register: f.register.fn,
        requestApproval: f.requestApproval.fn,
        record: f.record.fn,
      },
      sagemakerRole: this.sagemakerRole,
      imageUri: this.imageUri,
      dataKey: props.encryptionKey,
      failureTopic: this.topic,
      approvalTimeout: props.approvalTimeout,
      deploy: props.deploy,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      encryptionKey: props.encryptionKey,
      retention: logRetentionOf(stage),
      removalPolicy: removal,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: `mlops-${stage.name}-${useCase.name}-training`,
      comment: `mlops ${stage.name}: train, evaluate, gate and register ${useCase.name}`,
      definitionBody: sfn.DefinitionBody.fromChainable(definition.start),
      stateMachineType: sfn.StateMachineType.STANDARD,
      tracingEnabled: true,
      // Execution data would copy approval task tokens into the logs, where a reader could approve.
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });
    // NotifyFailure publishes to the KMS-encrypted topic.
    props.encryptionKey.grant(this.stateMachine, 'kms:Decrypt', 'kms:GenerateDataKey');

    // Wire: the start-run route (StartExecution, no Lambda in between).
    const startRole = new iam.Role(this, 'StartRunRole', {
      assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
      description: `API Gateway: start ${useCase.name} training runs`,
    });
    this.stateMachine.grantStartExecution(startRole);
    const integration = new apigw.AwsIntegration({
      service: 'states',
      action: 'StartExecution',
      integrationHttpMethod: 'POST',
      options: {
        credentialsRole: startRole,
        passthroughBehavior: apigw.PassthroughBehavior.NEVER,
        requestTemplates: {
          'application/json': startExecutionTemplate(this.stateMachine.stateMachineArn, useCase.name),
        },
        integrationResponses: [
          {
            statusCode: '202',
            responseTemplates: {
              'application/json':
                '{"runId":"$context.requestId","executionArn":"$util.escapeJavaScript($input.path(\'$.executionArn\'))"}',
            },
          },
          {
            selectionPattern: '4\\d{2}',
            statusCode: '409',
            responseTemplates: {
              'application/json':
                '{"message":"the run could not be started; retry later or check running executions"}',
            },
          },
          {
            selectionPattern: '5\\d{2}',
            statusCode: '500',
            responseTemplates: { 'application/json': '{"message":"internal error"}' },
          },
        ],
      },
    });
    const model = props.api.addModel(`StartTrainingRun${pascal(useCase.name)}`, {
      contentType: 'application/json',
      schema: START_RUN_BODY_SCHEMA,
    });
    const validator = props.api.addRequestValidator(`StartTrainingRunBody${pascal(useCase.name)}`, {
      validateRequestBody: true,
      validateRequestParameters: false,
    });
    this.startRunMethod = props.api.root
      .resourceForPath(`/training/${useCase.name}/runs`)
      .addMethod('POST', integration, {
        authorizationType: apigw.AuthorizationType.IAM,
        requestModels: { 'application/json': model },
        requestValidator: validator,
        methodResponses: [{ statusCode: '202' }, { statusCode: '409' }, { statusCode: '500' }],
      });

    // Wire: the optional retraining schedule.
    if (useCase.trainingSchedule !== undefined) {
      const deadLetters = new sqs.Queue(this, 'ScheduleDeadLetters', {
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: props.encryptionKey,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      this.schedule = new events.Rule(this, 'Schedule', {
        description: `Periodic retraining of ${useCase.name}`,
        schedule: events.Schedule.expression(useCase.trainingSchedule),
        targets: [
          new targets.SfnStateMachine(this.stateMachine, {
            input: events.RuleTargetInput.fromObject({ useCase: useCase.name, trigger: 'schedule' }),
            deadLetterQueue: deadLetters,
            retryAttempts: 4,
          }),
        ],
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
    }

    // Expose: acknowledgements next to the grants they concern.
    this.acknowledgeFindings(resources, startRole);
  }

  private acknowledgeFindings(r: PipelineResources, startRole: iam.Role): void {
    const f = this.functions;
    const finding = (resource: string) => iam5ResourceFinding(this, resource);
    const snapshots = {
      id: finding(r.snapshotObjects),
      reason:
        "Limited to this use case's snapshots/ prefix, whose keys are content hashes of each dataset, unknown in advance.",
    };
    const runData = {
      id: finding(r.runDataObjects),
      reason:
        'Limited to the runs/ prefix of the datasets bucket, where each run keeps its channels under its own run ID.',
    };
    const artifacts = {
      id: finding(r.artifactObjects),
      reason:
        'Limited to the runs/ prefix of the artifacts bucket, where each run and job writes under its own name.',
    };
    const packages = {
      id: finding(r.packageArns),
      reason: "Limited to this use case's model package group; version numbers are assigned by SageMaker.",
    };
    const kmsGrantReason =
      'Granted by SageMakerCreateTrainingJob for output encryption with the data key; scoped to that one key.';
    const inlineReason = {
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason:
        'Statements are scoped to this use case and owned by this one role; a managed policy would not narrow them.',
    };
    Validations.of(this.sagemakerRole).acknowledge(
      { ...runData, reason: `Read-only (training and transform input). ${runData.reason}` },
      {
        id: finding(r.transformObjects),
        reason: "Write-only, limited to the transform/ folder of a run's data under runs/.",
      },
      artifacts,
      {
        id: finding(r.sagemakerLogGroups),
        reason: 'SageMaker writes job logs to log groups under /aws/sagemaker/, with one stream per job.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:PutMetricData (conditioned on the /aws/sagemaker/ namespaces) and ecr:GetAuthorizationToken support no resource-level permissions.',
      },
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: kmsGrantReason },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: kmsGrantReason },
      inlineReason,
    );
    const ledgerKeyReason =
      "Granted by LedgerTable.grantAppend (the key's encrypt/decrypt set) so the step can write the KMS-encrypted ledger; scoped to that one key.";
    for (const writer of [f.buildDataset, f.evaluate, f.register, f.record]) {
      Validations.of(writer).acknowledge(
        { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: ledgerKeyReason },
        { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: ledgerKeyReason },
      );
    }
    Validations.of(f.buildDataset).acknowledge(
      { ...snapshots, reason: `Read and write. ${snapshots.reason}` },
      { ...runData, reason: `Write-only (the run's channels). ${runData.reason}` },
      {
        id: finding(r.labelObjects),
        reason: "Read-only, limited to this use case's labels/ prefix, partitioned by day.",
      },
      ...r.featureObjects.map((o) => ({
        id: finding(o),
        reason: "Read-only, limited to the offline history of one of this use case's feature groups.",
      })),
    );
    Validations.of(f.validateData).acknowledge({
      ...snapshots,
      reason: `Read-only (manifests). ${snapshots.reason}`,
    });
    Validations.of(f.evaluate).acknowledge({
      ...runData,
      reason: `Read-only (test labels and batch transform output). ${runData.reason}`,
    });
    Validations.of(f.register).acknowledge(packages, {
      ...artifacts,
      reason: `Writes the evaluation report next to the model. ${artifacts.reason}`,
    });
    Validations.of(f.record).acknowledge(packages, {
      ...artifacts,
      reason: `Read-only (hashes the model archive). ${artifacts.reason}`,
    });
    Validations.of(f.findChampion).acknowledge(
      packages,
      {
        id: finding(r.modelArns),
        reason:
          'The champion model is created under a name derived from its package version at run time; CreateModel can only pass the SageMaker role.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray PutTraceSegments/PutTelemetryRecords and sagemaker:ListModelPackages support no resource-level permissions; every other grant is scoped.',
      },
    );

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
      ...Object.values(f).map((m) => ({
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
    Validations.of(startRole).acknowledge({
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason: 'One statement: StartExecution on this one state machine.',
    });
  }
}

/** The step functions of a pipeline, by role. */
type StepKey = Exclude<keyof typeof PIPELINE_HANDLER_FILES, 'approvalApi'>;

/** Resource patterns the grants and their acknowledgements share. */
interface PipelineResources {
  readonly snapshotObjects: string;
  readonly labelObjects: string;
  readonly runDataObjects: string;
  readonly transformObjects: string;
  readonly artifactObjects: string;
  readonly featureObjects: readonly string[];
  readonly sagemakerLogGroups: string;
  readonly packageArns: string;
  readonly modelArns: string;
}

/**
 * The variables `key`'s handler parses (STEP_ENV), taken from `available`. A variable the schema
 * requires but the construct cannot supply stops synth, rather than the function's first cold start.
 */
function stepEnvironment(key: StepKey | 'approvalApi', available: Readonly<Record<string, string>>) {
  const out: Record<string, string> = {};
  for (const [name, schema] of Object.entries(STEP_ENV[key].shape)) {
    const value = available[name];
    if (value !== undefined) out[name] = value;
    else if (!schema.safeParse(undefined).success) {
      throw new Error(
        `pipeline function ${key} requires environment variable ${name}, which TrainingPipeline does not set`,
      );
    }
  }
  return out;
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_m, _d: string, c: string) => c.toUpperCase());
}

/** `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model:tag` → the repository's ARN. */
function ecrRepositoryArn(imageUri: string, partition: string): string {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(imageUri);
  if (!m) throw new Error(`custom image must be an ECR image URI, got ${imageUri}`);
  return `arn:${partition}:ecr:${m[2]}:${m[1]}:repository/${m[3]}`;
}

export interface TrainingApprovalsProps {
  /** Transient run state holding each waiting run's task token. */
  readonly runState: ITableV2;
  /** Key of the table; also encrypts the function's logs and environment. */
  readonly encryptionKey: IKey;
  /** The product's REST API; `POST /training/runs/{runId}/approval` is added to it. */
  readonly api: apigw.RestApi;
  /** Stage settings: log retention, removal policy, memory. */
  readonly stage: StageConfig;
  /** Every use case's pipeline; the route may answer the runs of any of them. */
  readonly pipelines: readonly TrainingPipeline[];
  /**
   * Folder holding `approval-api.ts`.
   * @default PIPELINE_FUNCTIONS_DIR (functions/pipeline)
   */
  readonly functionsDir?: string;
}

/**
 * `POST /training/runs/{runId}/approval`: one route for every use case (a run ID is unique across
 * them). Its handler reads the run's task token from the run-state table and sends the decision
 * to the waiting Approval step.
 */
export class TrainingApprovals extends Construct {
  /** The function behind the route. */
  readonly handler: MlopsFunction;
  /** The IAM-authorized POST method; grant `execute-api:Invoke` on it to approvers. */
  readonly method: apigw.Method;

  constructor(scope: Construct, id: string, props: TrainingApprovalsProps) {
    super(scope, id);
    if (props.pipelines.length === 0)
      throw new Error('TrainingApprovals needs at least one pipeline, got none');
    const functionsDir = props.functionsDir ?? PIPELINE_FUNCTIONS_DIR;
    const entry = join(functionsDir, PIPELINE_HANDLER_FILES.approvalApi);
    if (!existsSync(entry))
      throw new Error(
        `pipeline handler ${PIPELINE_HANDLER_FILES.approvalApi} is missing from ${functionsDir}`,
      );

    this.handler = new MlopsFunction(this, 'Api', {
      entry,
      description: 'POST /training/runs/{runId}/approval: sends the decision to the waiting run',
      encryptionKey: props.encryptionKey,
      timeout: Duration.seconds(29),
      memorySize: props.stage.lambdaMemoryMb,
      ...functionLogDefaults(props.stage),
      environment: stepEnvironment('approvalApi', { RUN_STATE_TABLE: props.runState.tableName }),
    });
    this.handler.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ClaimTaskToken',
        // The decision is claimed with a conditional put, so two approvers cannot both decide.
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem'],
        resources: [props.runState.tableArn],
      }),
    );
    props.encryptionKey.grant(this.handler.fn, 'kms:Decrypt', 'kms:GenerateDataKey');
    for (const p of props.pipelines) {
      this.handler.fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['states:SendTaskSuccess'],
          resources: [p.stateMachine.stateMachineArn],
        }),
      );
    }

    const validator = props.api.addRequestValidator('ApprovalParams', {
      requestValidatorName: 'approval-parameters',
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    this.method = props.api.root
      .resourceForPath('/training/runs/{runId}/approval')
      .addMethod('POST', new apigw.LambdaIntegration(this.handler.fn), {
        authorizationType: apigw.AuthorizationType.IAM,
        requestParameters: { 'method.request.path.runId': true },
        requestValidator: validator,
      });
  }
}
