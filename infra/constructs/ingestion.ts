/**
 * What the ingestion constructs (features, labels) share: an API function and a bulk-file
 * function built the same way, IAM-authorized routes with their path parameters validated by API
 * Gateway, and a drop zone whose files trigger a function through EventBridge with retries and a
 * dead-letter queue.
 */
import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import { AuthorizationType, LambdaIntegration } from 'aws-cdk-lib/aws-apigateway';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { UseCase } from '../../shared/config/use-case.ts';
import { functionLogDefaults, type StageConfig } from '../config/stage.ts';
import { ConstructConfigError } from './errors.ts';
import { MlopsFunction } from './mlops-function.ts';
import { iam5ResourceFinding } from './nag-ids.ts';

/** Adds each route to `api`, answered by `fn`, IAM-authorized, with its path parameters required. */
export function addIamRoutes(
  api: apigw.RestApi,
  fn: MlopsFunction,
  validator: { readonly id: string; readonly name: string },
  routes: readonly { readonly method: string; readonly path: string }[],
): void {
  const integration = new LambdaIntegration(fn.fn);
  const requestValidator = api.addRequestValidator(validator.id, {
    requestValidatorName: validator.name,
    validateRequestParameters: true,
    validateRequestBody: false,
  });
  for (const route of routes) {
    const requestParameters = Object.fromEntries(
      [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => [`method.request.path.${m[1]}`, true]),
    );
    api.root.resourceForPath(route.path).addMethod(route.method, integration, {
      authorizationType: AuthorizationType.IAM,
      requestParameters,
      requestValidator,
    });
  }
}

/** Runs `fn` (asynchronously invoked, so it has a DLQ) for each object created under `prefix` of `bucket`. */
export function onFileDropped(
  scope: Construct,
  id: string,
  props: {
    readonly bucket: IBucket;
    readonly prefix: string;
    readonly fn: MlopsFunction;
    readonly description: string;
  },
): events.Rule {
  const deadLetters = props.fn.deadLetterQueue;
  if (!deadLetters) throw new ConstructConfigError(props.fn, ['the function must have a dead-letter queue']);
  return new events.Rule(scope, id, {
    description: props.description,
    eventPattern: {
      source: ['aws.s3'],
      detailType: ['Object Created'],
      detail: {
        bucket: { name: [props.bucket.bucketName] },
        object: { key: [{ prefix: props.prefix }] },
      },
    },
    targets: [new targets.LambdaFunction(props.fn.fn, { deadLetterQueue: deadLetters, retryAttempts: 4 })],
  });
}

/** The two functions of an ingestion construct: `<dir>/api.ts` for its routes and `<dir>/bulk.ts` for dropped files. */
export function ingestionFunctions(
  scope: Construct,
  props: {
    /** Folder of the two handlers. */
    readonly dir: string;
    readonly stage: StageConfig;
    /** Encrypts the functions' logs, environment and dead-letter queue. */
    readonly encryptionKey: IKey;
    readonly environment: Readonly<Record<string, string>>;
    readonly apiDescription: string;
    readonly bulkDescription: string;
  },
): { readonly api: MlopsFunction; readonly bulk: MlopsFunction } {
  const common = {
    encryptionKey: props.encryptionKey,
    ...functionLogDefaults(props.stage),
    environment: { ...props.environment },
  };
  return {
    api: new MlopsFunction(scope, 'Api', {
      ...common,
      entry: join(props.dir, 'api.ts'),
      description: props.apiDescription,
      timeout: Duration.seconds(29),
      memorySize: props.stage.lambdaMemoryMb,
    }),
    // A bulk file may hold millions of rows: the longest timeout, and memory for 500-row chunks.
    bulk: new MlopsFunction(scope, 'Bulk', {
      ...common,
      entry: join(props.dir, 'bulk.ts'),
      description: props.bulkDescription,
      timeout: Duration.minutes(15),
      memorySize: 1024,
      invocation: 'async',
    }),
  };
}

/** What every ingestion construct is given. */
export interface IngestionStoreProps {
  /** Bucket whose drop zone receives bulk files (EventBridge notifications must be on). */
  readonly datasetsBucket: IBucket;
  /** Key of the stores; also encrypts the functions' logs, environment and queues. */
  readonly encryptionKey: IKey;
  /** The product's REST API; the construct's routes are added to it. */
  readonly api: apigw.RestApi;
  readonly stage: StageConfig;
  /** Every use case of the deployment. */
  readonly useCases: readonly UseCase[];
}

/** Lambda environment variables are limited to 4 KB in total; this is what one JSON value may take. */
export const MAX_ENVIRONMENT_JSON = 3000;

/** `value` as JSON for a function's environment, or a synth error naming `what` when it is too long. */
export function environmentJson(scope: Construct, what: string, value: unknown): string {
  const json = JSON.stringify(value);
  if (json.length > MAX_ENVIRONMENT_JSON) {
    throw new ConstructConfigError(scope, [
      `${what} must fit in ${MAX_ENVIRONMENT_JSON} characters of Lambda environment, got ${json.length}`,
    ]);
  }
  return json;
}

/** Where an ingestion construct's functions read and write, as ARNs usable in its stack (see nag-ids.ts). */
export interface IngestionGrants {
  /** The bucket the validated rows are appended to, and the prefix they go under (`features/`). */
  readonly store: { readonly bucketArn: string; readonly prefix: string; readonly reason: string };
  /** The datasets bucket, whose `drop` prefix receives files and whose `quarantine` prefix gets their reports. */
  readonly datasetsArn: string;
  readonly drop: string;
  readonly quarantine: string;
  readonly encryptionKey: IKey;
}

/**
 * The S3 and KMS grants of an ingestion construct's two functions, least privilege written out
 * per action, each wildcard acknowledged next to its grant:
 * - both append content-addressed objects under the store's prefix and check for a replay
 *   (HeadObject, answered by GetObject, and ListBucket so an absent key is a 404, not a 403);
 * - the bulk function reads the drop zone and writes the quarantine.
 */
export function grantIngestion(
  scope: Construct,
  fns: { readonly api: MlopsFunction; readonly bulk: MlopsFunction },
  g: IngestionGrants,
): void {
  const storeObjects = `${g.store.bucketArn}/${g.store.prefix}*`;
  const dropObjects = `${g.datasetsArn}/${g.drop}*`;
  const quarantineObjects = `${g.datasetsArn}/${g.quarantine}*`;
  for (const fn of [fns.api, fns.bulk]) {
    // Without ListBucket, HeadObject answers 403 instead of 404 for a key not written yet. A
    // prefix condition would not help: HeadObject carries no s3:prefix, so it would 403 again.
    fn.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'TellAbsentFromForbidden',
        actions: ['s3:ListBucket'],
        resources: [g.store.bucketArn],
      }),
    );
    fn.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AppendAndCheckReplay',
        // GetObject also answers HeadObject, which detects a replayed request.
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [storeObjects],
      }),
    );
    g.encryptionKey.grant(fn.fn, 'kms:Decrypt', 'kms:GenerateDataKey');
    Validations.of(fn).acknowledge({ id: iam5ResourceFinding(scope, storeObjects), reason: g.store.reason });
  }
  fns.bulk.fn.addToRolePolicy(
    new iam.PolicyStatement({ sid: 'ReadDroppedFiles', actions: ['s3:GetObject'], resources: [dropObjects] }),
  );
  fns.bulk.fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'WriteQuarantine',
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [quarantineObjects],
    }),
  );
  Validations.of(fns.bulk).acknowledge(
    {
      id: iam5ResourceFinding(scope, dropObjects),
      reason: `Read-only, limited to the ${g.drop} drop zone of the datasets bucket, whose file names are chosen by the data producers.`,
    },
    {
      id: iam5ResourceFinding(scope, quarantineObjects),
      reason: `Write-only, limited to the ${g.quarantine} prefix where each dropped file gets its own report.`,
    },
  );
}
