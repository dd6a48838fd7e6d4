/**
 * `POST /training/{useCase}/runs`: API Gateway starts the execution itself (StartExecution, no
 * Lambda in between), with the body checked against the same zod schema as the pipeline input.
 */
import { Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { StartRunBodySchema, TRAINING_ROUTES } from '../../../shared/pipeline/contracts.ts';
import { apiGatewayModelSchema } from '../../api/json-schema.ts';

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

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_m, _d: string, c: string) => c.toUpperCase());
}

export interface StartRunRouteProps {
  readonly api: apigw.RestApi;
  readonly stateMachine: sfn.IStateMachine;
  readonly useCaseName: string;
}

/** Adds the route; its role (`StartRunRole` in `scope`) may only start this state machine. */
export function addStartRunRoute(scope: Construct, props: StartRunRouteProps): apigw.Method {
  const { api, useCaseName } = props;
  const startRole = new iam.Role(scope, 'StartRunRole', {
    assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com'),
    description: `API Gateway: start ${useCaseName} training runs`,
  });
  props.stateMachine.grantStartExecution(startRole);
  Validations.of(startRole).acknowledge({
    id: 'NIST.800.53.R5-IAMNoInlinePolicy',
    reason: 'One statement: StartExecution on this one state machine.',
  });
  const integration = new apigw.AwsIntegration({
    service: 'states',
    action: 'StartExecution',
    integrationHttpMethod: 'POST',
    options: {
      credentialsRole: startRole,
      passthroughBehavior: apigw.PassthroughBehavior.NEVER,
      requestTemplates: {
        'application/json': startExecutionTemplate(props.stateMachine.stateMachineArn, useCaseName),
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
  const model = api.addModel(`StartTrainingRun${pascal(useCaseName)}`, {
    contentType: 'application/json',
    schema: START_RUN_BODY_SCHEMA,
  });
  const validator = api.addRequestValidator(`StartTrainingRunBody${pascal(useCaseName)}`, {
    validateRequestBody: true,
    validateRequestParameters: false,
  });
  const route = TRAINING_ROUTES.startRun;
  return api.root
    .resourceForPath(route.path.replace('{useCase}', useCaseName))
    .addMethod(route.method, integration, {
      authorizationType: apigw.AuthorizationType.IAM,
      requestModels: { 'application/json': model },
      requestValidator: validator,
      methodResponses: [{ statusCode: '202' }, { statusCode: '409' }, { statusCode: '500' }],
    });
}
