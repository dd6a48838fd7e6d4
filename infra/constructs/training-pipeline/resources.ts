/**
 * What the step table's grants name (GrantTarget), resolved for one use case: the ARN patterns of
 * its prefixes, registry and tables, and the bucket and prefixes an `s3:ListBucket` grant needs.
 */
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { UseCase } from '../../../shared/config/use-case.ts';
import type { GrantTarget, ObjectTarget } from '../../../shared/pipeline/steps.ts';
import { bucketArnFor } from '../nag-ids.ts';

/** Training output and batch-transform output live under this prefix of their buckets. */
export const RUNS_PREFIX = 'runs/';
/** Published edge models live under `edge/<useCase>/` of the artifacts bucket. */
export const EDGE_PREFIX = 'edge/';

export interface PipelineResourcesProps {
  readonly useCase: UseCase;
  readonly datasetsBucket: IBucket;
  readonly offlineBucket: IBucket;
  readonly artifactsBucket: IBucket;
  readonly runState: ITableV2;
  readonly topic: sns.ITopic;
  readonly modelPackageGroupName: string;
  /** The use case's endpoint (deployments create and update it). */
  readonly endpointName: string;
  /** The data key. */
  readonly dataKey: IKey;
}

/** An object prefix: the bucket's ARN and the `s3:prefix` patterns under it. */
interface ObjectPrefixes {
  readonly bucketArn: string;
  readonly prefixes: readonly string[];
}

/** The use case's resources, by the names the step table uses. */
export class PipelineResources {
  /** Bucket ARNs as the pipeline's stack can use them. */
  readonly datasetsArn: string;
  readonly artifactsArn: string;
  /** CloudWatch log groups SageMaker jobs write to. */
  readonly sagemakerLogGroups: string;
  private readonly objects: Readonly<Record<ObjectTarget, ObjectPrefixes>>;
  private readonly others: Record<Exclude<GrantTarget, ObjectTarget | 'sagemakerRole'>, readonly string[]>;
  private sagemakerRoleArn: string | undefined;

  constructor(scope: Construct, props: PipelineResourcesProps) {
    const stack = Stack.of(scope);
    const { useCase } = props;
    this.datasetsArn = bucketArnFor(scope, props.datasetsBucket, 'Datasets');
    const offlineArn = bucketArnFor(scope, props.offlineBucket, 'OfflineFeatures');
    this.artifactsArn = bucketArnFor(scope, props.artifactsBucket, 'Artifacts');
    this.objects = {
      featureHistory: {
        bucketArn: offlineArn,
        prefixes: useCase.featureGroups.map((g) => `features/${g.name}/*`),
      },
      labels: { bucketArn: this.datasetsArn, prefixes: [`labels/${useCase.name}/*`] },
      snapshots: { bucketArn: this.datasetsArn, prefixes: [`snapshots/${useCase.name}/*`] },
      // BuildDataset writes each run's channels under runs/<runId>/, transform writes under .../transform/.
      runData: { bucketArn: this.datasetsArn, prefixes: [`${RUNS_PREFIX}*`] },
      artifacts: { bucketArn: this.artifactsArn, prefixes: [`${RUNS_PREFIX}*`] },
      // ExportEdge publishes each version's file and manifest under edge/<useCase>/<version>/.
      edgeModels: { bucketArn: this.artifactsArn, prefixes: [`${EDGE_PREFIX}${useCase.name}/*`] },
    };
    const sagemakerArn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'sagemaker', resource, resourceName });
    this.others = {
      modelPackageGroup: [sagemakerArn('model-package-group', props.modelPackageGroupName)],
      modelPackages: [sagemakerArn('model-package', `${props.modelPackageGroupName}/*`)],
      models: [sagemakerArn('model', '*')],
      runState: [props.runState.tableArn],
      topic: [props.topic.topicArn],
      endpoint: [sagemakerArn('endpoint', props.endpointName)],
      endpointConfigs: [sagemakerArn('endpoint-config', `${props.endpointName}-*`)],
      alarms: [
        stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `${props.endpointName}-*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      dataKey: [props.dataKey.keyArn],
      scalingAlarms: [
        stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: `TargetTracking-endpoint/${props.endpointName}/*`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      autoscalingRole: [
        stack.formatArn({
          service: 'iam',
          region: '',
          resource: 'role',
          resourceName:
            'aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
        }),
      ],
      '*': ['*'],
    };
    this.sagemakerLogGroups = `arn:${stack.partition}:logs:${stack.region}:${stack.account}:log-group:/aws/sagemaker/*`;
  }

  /** Names the SageMaker execution role, which is made from these resources and then granted to steps. */
  bindSageMakerRole(role: iam.IRole): void {
    this.sagemakerRoleArn = role.roleArn;
  }

  /** The resource ARNs (or patterns) a target stands for. */
  arns(target: GrantTarget): readonly string[] {
    if (target === 'sagemakerRole') {
      if (this.sagemakerRoleArn === undefined)
        throw new Error('the SageMaker role is granted before it is bound');
      return [this.sagemakerRoleArn];
    }
    if (target in this.objects) {
      const { bucketArn, prefixes } = this.objects[target as ObjectTarget];
      return prefixes.map((p) => `${bucketArn}/${p}`);
    }
    return this.others[target as Exclude<GrantTarget, ObjectTarget | 'sagemakerRole'>];
  }

  /** The bucket and `s3:prefix` patterns of object targets (which must share one bucket). */
  listing(targets: readonly ObjectTarget[]): { bucketArn: string; prefixes: string[] } | undefined {
    const buckets = new Set(targets.map((t) => this.objects[t].bucketArn));
    if (buckets.size !== 1) return undefined;
    const [bucketArn] = [...buckets] as [string];
    return { bucketArn, prefixes: targets.flatMap((t) => this.objects[t].prefixes) };
  }
}
