/**
 * The deploy state machine's step table: its Lambda rows, in the same form as the training
 * pipeline's (shared/pipeline/steps.ts), so the same construct code makes their functions, their
 * environment check at synth and their grants. The service-integration states (Create/Update/
 * DescribeEndpoint, the waits) are in pipelines/deploy/definition.ts.
 */
import * as z from 'zod';
import { PipelineEnvSchema } from '../pipeline/env.ts';
import { envSchemasOf, PASS_SAGEMAKER_ROLE, type StepGrant, type StepRow } from '../pipeline/steps.ts';
import {
  DeploymentPlanSchema,
  DeploymentResultSchema,
  ScalingResultSchema,
  WatchResultSchema,
} from './contracts.ts';

const LEDGER = { LEDGER_TABLE: true, LEDGER_CHAIN: true, LEDGER_SIGNING_KEY: true } as const;
const PACKAGES = "Limited to this use case's model package group; version numbers are assigned by SageMaker.";
const CONFIGS =
  "Limited to this endpoint's configs (<endpoint>-*); each deployment names its own, known only at run time.";

/** What reading the serving version takes (describeServing): the endpoint, its config, its models. */
const READ_WHAT_SERVES = [
  { sid: 'ReadEndpoint', actions: ['sagemaker:DescribeEndpoint'], on: ['endpoint'] },
  {
    sid: 'ReadServingConfigs',
    actions: ['sagemaker:DescribeEndpointConfig'],
    on: ['endpointConfigs'],
    why: CONFIGS,
  },
  {
    sid: 'ReadServingModels',
    actions: ['sagemaker:DescribeModel'],
    on: ['models'],
    why: 'Serving models are named after their package version, known only at run time.',
  },
] as const satisfies readonly StepGrant[];

/** The deploy machine's Lambda steps. */
export const DEPLOY_STEPS = {
  prepare: {
    state: 'PrepareDeployment',
    comment:
      'Refuse an unapproved package; read what serves; create the serving model and the endpoint configs; record DeploymentStarted.',
    result: 'plan',
    output: DeploymentPlanSchema,
    handler: 'prepare-deployment.ts',
    env: {
      USE_CASE_CONFIG: true,
      ...LEDGER,
      ENDPOINT_NAME: true,
      MODEL_PACKAGE_GROUP: true,
      SAGEMAKER_ROLE_ARN: true,
      DATA_KEY_ARN: true,
      DATA_CAPTURE_URI: true,
    },
    fn: { description: 'plans a deployment and creates its model and configs', timeoutSeconds: 60 },
    grants: [
      { ledger: 'append' },
      {
        sid: 'DescribePackage',
        actions: ['sagemaker:DescribeModelPackage'],
        on: ['modelPackages'],
        why: PACKAGES,
      },
      {
        sid: 'ReadEndpoint',
        actions: ['sagemaker:DescribeEndpoint'],
        on: ['endpoint'],
      },
      {
        sid: 'CreateServingConfigs',
        actions: ['sagemaker:CreateEndpointConfig', 'sagemaker:DescribeEndpointConfig'],
        on: ['endpointConfigs'],
        why: CONFIGS,
      },
      {
        sid: 'CreateServingModel',
        actions: ['sagemaker:CreateModel', 'sagemaker:DescribeModel'],
        on: ['models'],
        why: 'Serving models are named after their package version, known only at run time; CreateModel can only pass the SageMaker role.',
      },
      PASS_SAGEMAKER_ROLE,
      {
        sid: 'EncryptVolumes',
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        on: ['dataKey'],
        condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
      },
    ],
  },
  watch: {
    state: 'WatchDeployment',
    comment: 'Verify the endpoint serves the config asked for; through the bake, check the watched alarms.',
    result: 'watch',
    output: WatchResultSchema,
    handler: 'watch-deployment.ts',
    env: { USE_CASE_CONFIG: true },
    fn: { description: 'verifies the endpoint and watches its alarms', timeoutSeconds: 30 },
    grants: [
      {
        sid: 'ReadAlarms',
        actions: ['cloudwatch:DescribeAlarms'],
        on: ['alarms'],
        why: "Limited to the alarms of this use case's endpoint (<endpoint>-*), which the stack defines.",
      },
    ],
  },
  finish: {
    state: 'FinishDeployment',
    comment:
      'Verify what serves and record DeploymentCompleted, or DeploymentRolledBack naming why; a rolled-back package is rejected.',
    result: 'result',
    output: DeploymentResultSchema,
    handler: 'finish-deployment.ts',
    env: { USE_CASE_CONFIG: true, ...LEDGER, ENDPOINT_NAME: true },
    fn: { description: 'verifies and records how a deployment ended', timeoutSeconds: 60 },
    grants: [
      { ledger: 'append' },
      ...READ_WHAT_SERVES,
      {
        sid: 'RejectRolledBack',
        actions: ['sagemaker:UpdateModelPackage'],
        on: ['modelPackages'],
        why: PACKAGES,
      },
    ],
  },
  scale: {
    state: 'ScaleEndpoint',
    comment:
      'Target-tracking autoscaling (invocations per instance) on the variant that serves, none on the other slot.',
    result: 'scaling',
    output: ScalingResultSchema,
    handler: 'scale-endpoint.ts',
    env: { USE_CASE_CONFIG: true, ENDPOINT_NAME: true },
    fn: { description: 'keeps autoscaling on the serving variant', timeoutSeconds: 60 },
    grants: [
      ...READ_WHAT_SERVES,
      {
        sid: 'ScaleServingVariant',
        actions: [
          'application-autoscaling:RegisterScalableTarget',
          'application-autoscaling:DeregisterScalableTarget',
          'application-autoscaling:DescribeScalableTargets',
          'application-autoscaling:PutScalingPolicy',
        ],
        on: ['*'],
        why: 'Application Auto Scaling names a scalable target by its resource ID (endpoint/<name>/variant/<slot>); its ARNs are random IDs a policy cannot name in advance.',
      },
      {
        // What Application Auto Scaling requires of its caller for a SageMaker variant.
        sid: 'LetAutoScalingActOnTheEndpoint',
        actions: ['sagemaker:UpdateEndpointWeightsAndCapacities'],
        on: ['endpoint'],
      },
      {
        sid: 'TargetTrackingAlarms',
        actions: ['cloudwatch:PutMetricAlarm', 'cloudwatch:DescribeAlarms', 'cloudwatch:DeleteAlarms'],
        on: ['scalingAlarms'],
        why: 'Only the target-tracking alarms Application Auto Scaling names after this endpoint (TargetTracking-endpoint/<endpoint>/*).',
      },
      {
        sid: 'AutoScalingServiceRole',
        actions: ['iam:CreateServiceLinkedRole'],
        on: ['autoscalingRole'],
        condition: {
          StringLike: { 'iam:AWSServiceName': 'sagemaker.application-autoscaling.amazonaws.com' },
        },
      },
    ],
  },
} as const satisfies Readonly<Record<string, StepRow>>;

/** Keys of the deploy machine's Lambda rows. */
export type DeployStepKey = keyof typeof DEPLOY_STEPS;

/** The environment schema of each deploy step's handler. */
export const DEPLOY_ENV = envSchemasOf(DEPLOY_STEPS);

/** The rollback route's function: what it reads to choose a version and start the deploy machine. */
export const ROLLBACK_ENV = PipelineEnvSchema.pick({
  USE_CASE_CONFIG: true,
  ENDPOINT_NAME: true,
  MODEL_PACKAGE_GROUP: true,
}).extend({
  DEPLOY_STATE_MACHINE_ARN: z.string().regex(/^arn:aws[a-z-]*:states:/, 'must be a state machine ARN'),
});

/** The rollback route's handler file (functions/deployment/). */
export const ROLLBACK_HANDLER_FILE = 'rollback-api.ts';

/** Names of the deploy machine's states, shared by the definition, the CLI and the tests. */
export const DEPLOY_STATE_NAMES = {
  prepare: DEPLOY_STEPS.prepare.state,
  finish: DEPLOY_STEPS.finish.state,
  scale: DEPLOY_STEPS.scale.state,
  createEndpoint: 'CreateEndpoint',
  updateEndpoint: 'StartUpdate',
  promote: 'PromoteToFull',
  restore: 'RestorePrevious',
  deployed: 'Deployed',
  rolledBack: 'RolledBack',
  failed: 'DeploymentFailed',
} as const;
