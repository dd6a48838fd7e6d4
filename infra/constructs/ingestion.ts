/**
 * What the ingestion constructs (features, labels) share: IAM-authorized routes with their path
 * parameters validated by API Gateway, and a drop zone whose files trigger a function through
 * EventBridge with retries and a dead-letter queue.
 */
import type * as apigw from 'aws-cdk-lib/aws-apigateway';
import { AuthorizationType, LambdaIntegration } from 'aws-cdk-lib/aws-apigateway';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { MlopsFunction } from './mlops-function.ts';

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
  if (!deadLetters) throw new Error(`${scope.node.path}/${id}: the function must have a dead-letter queue`);
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
