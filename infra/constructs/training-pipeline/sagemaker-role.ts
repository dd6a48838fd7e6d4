/**
 * The role SageMaker assumes for one use case's training jobs, models and batch transforms: it
 * reads run channels and model artifacts and writes only under runs/. Each statement carries the
 * acknowledgement of its own wildcard.
 */
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { UseCase } from '../../../shared/config/use-case.ts';
import { iam5ResourceFinding } from '../nag-ids.ts';
import { type PipelineResources, RUNS_PREFIX } from './resources.ts';

export interface SageMakerRoleProps {
  readonly useCase: UseCase;
  readonly encryptionKey: IKey;
  readonly resources: PipelineResources;
  /** The objects the endpoint's data capture writes (an ARN pattern). */
  readonly captureObjects: string;
}

/** `123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/model:tag` → the repository's ARN, or a problem. */
export function ecrRepositoryArn(imageUri: string, partition: string): string | undefined {
  const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)/.exec(imageUri);
  return m ? `arn:${partition}:ecr:${m[2]}:${m[1]}:repository/${m[3]}` : undefined;
}

/** The role, created as `SageMakerRole` in `scope`, with its statements and acknowledgements. */
export function createSageMakerRole(
  scope: Construct,
  props: SageMakerRoleProps,
  problems: string[],
): iam.Role {
  const { useCase, resources: r } = props;
  const role = new iam.Role(scope, 'SageMakerRole', {
    assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
    description: `SageMaker jobs and models of ${useCase.name}: read run channels, write only under runs/`,
  });
  const allow = (
    sid: string,
    actions: string[],
    resourceArns: readonly string[],
    why?: string,
    conditions?: iam.Conditions,
  ) => {
    role.addToPolicy(new iam.PolicyStatement({ sid, actions, resources: [...resourceArns], conditions }));
    if (why === undefined) return;
    Validations.of(role).acknowledge(
      ...resourceArns
        .filter((arn) => arn.includes('*'))
        .map((arn) => ({
          id: arn === '*' ? 'AwsSolutions-IAM5[Resource::*]' : iam5ResourceFinding(scope, arn),
          reason: why,
        })),
    );
  };
  const [runData] = r.arns('runData') as [string];
  const [artifacts] = r.arns('artifacts') as [string];
  allow(
    'ReadRunChannels',
    ['s3:GetObject'],
    [runData],
    'Read-only (training and transform input). Limited to the runs/ prefix of the datasets bucket, where each run keeps its channels under its own run ID.',
  );
  allow('ListRunChannels', ['s3:ListBucket'], [r.datasetsArn], undefined, {
    StringLike: { 's3:prefix': [`${RUNS_PREFIX}*`] },
  });
  allow(
    'WriteTransformOutput',
    ['s3:PutObject', 's3:AbortMultipartUpload'],
    [`${r.datasetsArn}/${RUNS_PREFIX}*/transform/*`],
    "Write-only, limited to the transform/ folder of a run's data under runs/.",
  );
  allow(
    'ReadWriteRunArtifacts',
    ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload'],
    [artifacts],
    'Limited to the runs/ prefix of the artifacts bucket, where each run and job writes under its own name.',
  );
  allow(
    'WriteDataCapture',
    ['s3:PutObject'],
    [props.captureObjects],
    "Write-only, limited to this use case's data capture prefix, where SageMaker names each object by endpoint, variant and time.",
  );
  // Encrypt: data capture writes its objects with the data key (DataCaptureConfig.KmsKeyId).
  props.encryptionKey.grant(role, 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey', 'kms:Encrypt');
  // Transform jobs encrypt their volumes through a grant, as training jobs do.
  allow('GrantVolumeEncryption', ['kms:CreateGrant'], [props.encryptionKey.keyArn], undefined, {
    Bool: { 'kms:GrantIsForAWSResource': 'true' },
  });
  const kmsGrantReason =
    'Granted by SageMakerCreateTrainingJob for output encryption with the data key; scoped to that one key.';
  Validations.of(role).acknowledge(
    { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: kmsGrantReason },
    { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: kmsGrantReason },
  );
  allow(
    'WriteJobLogs',
    ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
    [r.sagemakerLogGroups],
    'SageMaker writes job logs to log groups under /aws/sagemaker/, with one stream per job.',
  );
  const noResourceLevel =
    'cloudwatch:PutMetricData (conditioned on the /aws/sagemaker/ namespaces) and ecr:GetAuthorizationToken support no resource-level permissions.';
  allow('PutJobMetrics', ['cloudwatch:PutMetricData'], ['*'], noResourceLevel, {
    StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' },
  });
  if (useCase.model.algorithm.kind === 'custom-image') {
    const repository = ecrRepositoryArn(useCase.model.algorithm.imageUri, Stack.of(scope).partition);
    if (repository === undefined) {
      problems.push(`custom image must be an ECR image URI, got ${useCase.model.algorithm.imageUri}`);
    } else {
      allow(
        'PullImage',
        ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
        [repository],
      );
      allow('EcrLogin', ['ecr:GetAuthorizationToken'], ['*'], noResourceLevel);
    }
  }
  Validations.of(role).acknowledge({
    id: 'NIST.800.53.R5-IAMNoInlinePolicy',
    reason:
      'Statements are scoped to this use case and owned by this one role; a managed policy would not narrow them.',
  });
  return role;
}
