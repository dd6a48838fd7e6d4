/**
 * The training pipeline functions' environment, as the TrainingPipeline construct sets it. Each
 * handler picks the variables it needs, so a function is granted (and configured with) no more.
 */
import * as z from 'zod';
import { UseCaseSchema } from '../config/use-case.ts';
import { jsonText } from '../validation.ts';

const name = z.string().min(1);

/** Every variable a pipeline function may read. */
export const PipelineEnvSchema = z.object({
  /** JSON of the validated use case (defaults applied). */
  USE_CASE_CONFIG: jsonText(UseCaseSchema, 'a valid use case'),
  /** Whether a registered model waits for a human decision. */
  STAGE_REQUIRE_APPROVAL: z.enum(['true', 'false']).transform((v) => v === 'true'),
  LEDGER_TABLE: name,
  /** Chain the pipeline appends to. @default 'main' */
  LEDGER_CHAIN: name.default('main'),
  /** ARN of the ledger's signing key (ECC_NIST_P256): every appended event's hash is signed with it. */
  LEDGER_SIGNING_KEY: z.string().regex(/^arn:aws[a-z-]*:kms:/, 'must be a KMS key ARN'),
  DATASETS_BUCKET: name,
  OFFLINE_BUCKET: name,
  ARTIFACTS_BUCKET: name,
  /** Pending approvals: partition key `runId`, TTL attribute `expiresAt`. */
  RUN_STATE_TABLE: name,
  MODEL_PACKAGE_GROUP: name,
  /** Training and serving image (the built-in XGBoost image of the region, or a custom one). */
  IMAGE_URI: name,
  SAGEMAKER_ROLE_ARN: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN'),
  CODE_VERSION: z.string().min(1).max(200),
  CONFIG_HASH: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256'),
  TOPIC_ARN: z.string().regex(/^arn:aws[a-z-]*:sns:/, 'must be an SNS topic ARN'),
  /** The use case's SageMaker endpoint (whether it exists yet or not). */
  ENDPOINT_NAME: name,
  /** ARN of the data key: encrypts the endpoint's storage volumes. */
  DATA_KEY_ARN: z.string().regex(/^arn:aws[a-z-]*:kms:/, 'must be a KMS key ARN'),
  /** Where SageMaker data capture writes (`s3://<prediction-log bucket>/capture/<useCase>/`). */
  DATA_CAPTURE_URI: z.string().regex(/^s3:\/\/[^/]+\/.+\/$/, 'must be an s3:// folder URI ending in /'),
});
export type PipelineEnv = z.infer<typeof PipelineEnvSchema>;

/** The variables of the approval route's handler (the pipeline steps' are in the step table, steps.ts). */
export const APPROVAL_API_ENV = PipelineEnvSchema.pick({ RUN_STATE_TABLE: true });
