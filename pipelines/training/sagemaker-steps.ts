/**
 * The SageMaker steps of the training pipeline: Train (`createTrainingJob.sync`), the candidate's
 * model, and batch transform of the test split by the candidate and, when there is one, the
 * champion. Every job is encrypted with the data key and named from `$.dataset.names`.
 */
import { Duration, Size } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { ConstructConfigError } from '../../infra/constructs/errors.ts';
import type { UseCase } from '../../shared/config/use-case.ts';
import { PIPELINE_STEPS, statePath } from '../../shared/pipeline/steps.ts';
import type { FailurePath } from './failure.ts';

/**
 * SageMaker errors worth retrying: throttling and capacity limits reported by the API call.
 * Step Functions names most SageMaker API errors `SageMaker.AmazonSageMakerException` (it also
 * covers a ValidationException, which retries in vain but does no harm within the backoff cap).
 */
export const SAGEMAKER_RETRY_ERRORS = [
  'SageMaker.AmazonSageMakerException',
  'SageMaker.ResourceLimitExceededException',
  'SageMaker.ThrottlingException',
] as const;

/** What every SageMaker step needs. */
export interface SageMakerStepProps {
  /** The validated use case: instance sizing, hyperparameters, seed, run time. */
  readonly useCase: UseCase;
  /** Training and inference image URI. */
  readonly imageUri: string;
  /** Execution role SageMaker assumes for jobs and models. */
  readonly role: iam.IRole;
  /** Encrypts training volumes, model artifacts and transform output. */
  readonly dataKey: IKey;
  /** Failure chain every step catches into. */
  readonly failure: FailurePath;
}

/**
 * An S3 location read from the state at run time. Unlike `S3Location.fromJsonExpression`, it grants
 * nothing: that one gives the SageMaker role S3 reads and writes on `*`, while the pipeline grants
 * its role exact prefixes itself.
 */
class StateS3Location extends tasks.S3Location {
  constructor(private readonly path: string) {
    super();
  }

  override bind(): tasks.S3LocationConfig {
    return { uri: sfn.JsonPath.stringAt(this.path) };
  }
}

function retryOnThrottling(state: sfn.TaskStateBase): void {
  state.addRetry({
    errors: [...SAGEMAKER_RETRY_ERRORS],
    interval: Duration.seconds(15),
    maxAttempts: 5,
    backoffRate: 2,
    maxDelay: Duration.minutes(5),
  });
}

/** `ml.m5.large` → the CDK instance type the tasks render back as `ml.m5.large`. */
function instanceType(scope: Construct, mlType: string): ec2.InstanceType {
  if (!mlType.startsWith('ml.')) {
    throw new ConstructConfigError(scope, [`instance type must start with ml., got ${mlType}`]);
  }
  return new ec2.InstanceType(mlType.slice('ml.'.length));
}

/**
 * Train: a `.sync` training job on the run's train and validation channels, with the run's
 * hyperparameters and output path from BuildDataset; keeps name and artifacts at `$.trained`.
 */
export function trainStep(scope: Construct, props: SageMakerStepProps): tasks.SageMakerCreateTrainingJob {
  const { useCase } = props;
  const channel = (channelName: 'train' | 'validation'): tasks.Channel => ({
    channelName,
    contentType: 'text/csv',
    dataSource: {
      s3DataSource: {
        s3DataType: tasks.S3DataType.S3_PREFIX,
        s3Location: new StateS3Location(statePath('dataset', 'channels', channelName)),
      },
    },
  });
  const row = PIPELINE_STEPS.train;
  const train = new tasks.SageMakerCreateTrainingJob(scope, row.state, {
    comment: row.comment,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    trainingJobName: sfn.JsonPath.stringAt(statePath('dataset', 'names', 'trainingJob')),
    role: props.role,
    algorithmSpecification: {
      trainingImage: tasks.DockerImage.fromRegistry(props.imageUri),
      trainingInputMode: tasks.InputMode.FILE,
    },
    // BuildDataset resolves them (the use case's, or those a reproduce run pins) as strings with the
    // seed, and records them in the ledger; taking them from the state keeps the two identical.
    hyperparameters: sfn.JsonPath.objectAt(statePath('dataset', 'hyperparameters')) as unknown as Record<
      string,
      string
    >,
    inputDataConfig: [channel('train'), channel('validation')],
    outputDataConfig: {
      s3OutputLocation: new StateS3Location(statePath('dataset', 'trainingOutputPath')),
      encryptionKey: props.dataKey,
    },
    resourceConfig: {
      instanceCount: useCase.model.instanceCount,
      instanceType: instanceType(scope, useCase.model.instanceType),
      volumeSize: Size.gibibytes(useCase.model.volumeSizeGb),
      volumeEncryptionKey: props.dataKey,
    },
    stoppingCondition: { maxRuntime: Duration.seconds(useCase.model.maxRuntimeSeconds) },
    resultSelector: {
      jobName: sfn.JsonPath.stringAt('$.TrainingJobName'),
      modelArtifacts: sfn.JsonPath.stringAt('$.ModelArtifacts.S3ModelArtifacts'),
    },
    resultPath: statePath(row.result),
  });
  retryOnThrottling(train);
  props.failure.catchFor(train, row.state);
  return train;
}

/** CreateCandidateModel: a SageMaker model of the trained artifacts; `$.candidate = {modelName}`. */
export function createCandidateModelStep(scope: Construct, props: SageMakerStepProps): sfn.Chain {
  const row = PIPELINE_STEPS.createCandidateModel;
  const create = new tasks.SageMakerCreateModel(scope, row.state, {
    comment: row.comment,
    modelName: sfn.JsonPath.stringAt(statePath('dataset', 'names', 'candidateModel')),
    primaryContainer: new tasks.ContainerDefinition({
      image: tasks.DockerImage.fromRegistry(props.imageUri),
      modelS3Location: new StateS3Location(statePath('trained', 'modelArtifacts')),
    }),
    role: props.role,
    resultSelector: { modelArn: sfn.JsonPath.stringAt('$.ModelArn') },
    resultPath: statePath(row.result),
  });
  retryOnThrottling(create);
  props.failure.catchFor(create, row.state);
  // A ResultSelector sees only the API response, so the model's name is added from the state.
  const named = new sfn.Pass(scope, 'CandidateModelNamed', {
    comment: `Keep the candidate model name next to its ARN at ${statePath(row.result)}.`,
    parameters: {
      modelName: sfn.JsonPath.stringAt(statePath('dataset', 'names', 'candidateModel')),
      modelArn: sfn.JsonPath.stringAt(statePath(row.result, 'modelArn')),
    },
    resultPath: statePath(row.result),
  });
  return create.next(named);
}

function transformJob(
  scope: Construct,
  props: SageMakerStepProps,
  id: string,
  which: 'candidate' | 'champion',
  modelNamePath: string,
  jobNamePath: string,
): tasks.SageMakerCreateTransformJob {
  const job = new tasks.SageMakerCreateTransformJob(scope, id, {
    comment: `Score the test features with the ${which} model.`,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    transformJobName: sfn.JsonPath.stringAt(jobNamePath),
    modelName: sfn.JsonPath.stringAt(modelNamePath),
    // Only so the task's PassRole statement names our role instead of creating a broad one.
    role: props.role,
    transformInput: {
      transformDataSource: {
        s3DataSource: {
          s3Uri: sfn.JsonPath.stringAt(statePath('dataset', 'channels', 'testFeatures')),
          s3DataType: tasks.S3DataType.S3_PREFIX,
        },
      },
      contentType: 'text/csv',
      splitType: tasks.SplitType.LINE,
    },
    transformOutput: {
      s3OutputPath: sfn.JsonPath.format(
        `{}/${which}/`,
        sfn.JsonPath.stringAt(statePath('dataset', 'transformOutputPrefix')),
      ),
      encryptionKey: props.dataKey,
      assembleWith: tasks.AssembleWith.LINE,
      accept: 'text/csv',
    },
    transformResources: {
      instanceCount: 1,
      instanceType: instanceType(scope, props.useCase.model.instanceType),
      volumeEncryptionKey: props.dataKey,
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryOnThrottling(job);
  return job;
}

/**
 * BatchTransform: a Parallel that scores the test split with the candidate and, when FindChampion
 * found one, the champion, on the same rows. Errors of either branch fail the Parallel, whose
 * Catch routes them to the failure path.
 */
export function batchTransformStep(scope: Construct, props: SageMakerStepProps): sfn.Parallel {
  const row = PIPELINE_STEPS.transform;
  const parallel = new sfn.Parallel(scope, row.state, {
    comment: row.comment,
    resultPath: sfn.JsonPath.DISCARD,
  });
  parallel.branch(
    transformJob(
      scope,
      props,
      'TransformCandidate',
      'candidate',
      statePath('candidate', 'modelName'),
      statePath('dataset', 'names', 'candidateTransform'),
    ),
  );
  const champion = transformJob(
    scope,
    props,
    'TransformChampion',
    'champion',
    statePath('champion', 'modelName'),
    statePath('dataset', 'names', 'championTransform'),
  );
  parallel.branch(
    new sfn.Choice(scope, 'HasChampion', {
      comment: 'Only a use case with an approved model has a champion.',
    })
      .when(sfn.Condition.booleanEquals(statePath('champion', 'exists'), true), champion)
      .otherwise(
        new sfn.Pass(scope, 'NoChampion', { comment: 'First model of the use case: nothing to compare.' }),
      ),
  );
  props.failure.catchFor(parallel, row.state);
  return parallel;
}
