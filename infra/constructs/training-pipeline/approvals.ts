/**
 * `POST /training/runs/{runId}/approval`: one route for every use case (a run ID is unique across
 * them). Its handler reads the run's task token from the run-state table and sends the decision
 * to the waiting Approval step.
 */
import { join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { TRAINING_ROUTES } from '../../../shared/pipeline/contracts.ts';
import { APPROVAL_API_ENV } from '../../../shared/pipeline/env.ts';
import { functionLogDefaults, type StageConfig } from '../../config/stage.ts';
import { throwIfProblems } from '../errors.ts';
import { MlopsFunction } from '../mlops-function.ts';
import { environmentFor, missingHandlers, PIPELINE_FUNCTIONS_DIR } from './step-functions.ts';

/** The approval route's handler, in the pipeline functions' folder. */
export const APPROVAL_HANDLER_FILE = 'approval-api.ts';

export interface TrainingApprovalsProps {
  /** Transient run state holding each waiting run's task token. */
  readonly runState: ITableV2;
  /** Key of the table; also encrypts the function's logs and environment. */
  readonly encryptionKey: IKey;
  /** The product's REST API; `POST /training/runs/{runId}/approval` is added to it. */
  readonly api: apigw.RestApi;
  /** Stage settings: log retention, removal policy, memory. */
  readonly stage: StageConfig;
  /** Every use case's pipeline state machine; the route may answer the runs of any of them. */
  readonly pipelines: readonly { readonly stateMachine: sfn.IStateMachine }[];
  /**
   * Folder holding `approval-api.ts`.
   * @default PIPELINE_FUNCTIONS_DIR (functions/pipeline)
   */
  readonly functionsDir?: string;
}

/** The approval route and its function, which may only send task success to the pipelines. */
export class TrainingApprovals extends Construct {
  /** The function behind the route. */
  readonly handler: MlopsFunction;
  /** The IAM-authorized POST method; grant `execute-api:Invoke` on it to approvers. */
  readonly method: apigw.Method;

  constructor(scope: Construct, id: string, props: TrainingApprovalsProps) {
    super(scope, id);
    // Check
    const functionsDir = props.functionsDir ?? PIPELINE_FUNCTIONS_DIR;
    const problems = [
      ...(props.pipelines.length === 0 ? ['TrainingApprovals needs at least one pipeline, got none'] : []),
      ...missingHandlers(functionsDir, [APPROVAL_HANDLER_FILE]),
    ];
    const environment = environmentFor(
      'approvalApi',
      APPROVAL_API_ENV,
      { RUN_STATE_TABLE: props.runState.tableName },
      problems,
    );
    throwIfProblems(this, problems);

    // Build
    this.handler = new MlopsFunction(this, 'Api', {
      entry: join(functionsDir, APPROVAL_HANDLER_FILE),
      description: 'POST /training/runs/{runId}/approval: sends the decision to the waiting run',
      encryptionKey: props.encryptionKey,
      timeout: Duration.seconds(29),
      memorySize: props.stage.lambdaMemoryMb,
      ...functionLogDefaults(props.stage),
      environment,
    });

    // Wire
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

    // Expose
    const validator = props.api.addRequestValidator('ApprovalParams', {
      requestValidatorName: 'approval-parameters',
      validateRequestParameters: true,
      validateRequestBody: false,
    });
    const route = TRAINING_ROUTES.approval;
    this.method = props.api.root
      .resourceForPath(route.path)
      .addMethod(route.method, new apigw.LambdaIntegration(this.handler.fn), {
        authorizationType: apigw.AuthorizationType.IAM,
        requestParameters: { 'method.request.path.runId': true },
        requestValidator: validator,
      });
  }
}
