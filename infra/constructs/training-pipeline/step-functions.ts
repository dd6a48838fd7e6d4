/**
 * The training pipeline's Lambda functions, one per Lambda row of the step table: each configured
 * with exactly the variables its handler parses and granted exactly what its row lists, with the
 * acknowledgement of each wildcard written from the same grant.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { LAMBDA_STEPS, type LambdaStepRow, type StepGrant } from '../../../shared/pipeline/steps.ts';
import { logRetentionOf, removalPolicyOf, type StageConfig } from '../../config/stage.ts';
import { MlopsFunction } from '../mlops-function.ts';
import type { LedgerTable } from '../mlops-table.ts';
import { iam5ResourceFinding } from '../nag-ids.ts';
import type { PipelineResources } from './resources.ts';

/** Where the step handlers live in the repository. */
export const PIPELINE_FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', '..', 'functions', 'pipeline');

/** The step table's handler files. */
export const STEP_HANDLER_FILES: readonly string[] = LAMBDA_STEPS.map(([, row]) => row.handler);

/** A problem for each of `files` missing from `functionsDir`. */
export function missingHandlers(functionsDir: string, files: readonly string[]): string[] {
  return files
    .filter((file) => !existsSync(join(functionsDir, file)))
    .map((file) => `pipeline handler ${file} is missing from ${functionsDir}`);
}

/** `build-dataset.ts` → `BuildDataset`: the function's construct ID (and Powertools service name). */
export function functionId(handlerFile: string): string {
  return handlerFile
    .replace(/\.ts$/, '')
    .replace(/(^|-)([a-z0-9])/g, (_m, _d: string, c: string) => c.toUpperCase());
}

/**
 * The variables `schema` (a handler's environment contract) names, taken from `available`. A
 * variable the schema requires but the construct cannot supply is a problem reported at synth,
 * rather than at the function's first cold start.
 */
export function environmentFor(
  step: string,
  schema: { readonly shape: Readonly<Record<string, { safeParse(v: unknown): { success: boolean } }>> },
  available: Readonly<Record<string, string>>,
  problems: string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, variable] of Object.entries(schema.shape)) {
    const value = available[name];
    if (value !== undefined) out[name] = value;
    else if (!variable.safeParse(undefined).success) {
      problems.push(
        `pipeline function ${step} requires environment variable ${name}, which TrainingPipeline does not set`,
      );
    }
  }
  return out;
}

/** A handler's environment contract: a zod object whose shape names its variables. */
type EnvContract = Parameters<typeof environmentFor>[1];

export interface StepFunctionsProps<K extends string> {
  /** The Lambda rows of a step table, with their keys. */
  readonly rows: readonly (readonly [K, LambdaStepRow])[];
  /** Each row's environment contract (the table's `envSchemasOf`). */
  readonly envs: Readonly<Record<K, EnvContract>>;
  readonly useCaseName: string;
  readonly stage: StageConfig;
  readonly encryptionKey: IKey;
  readonly ledger: LedgerTable;
  readonly resources: PipelineResources;
  readonly functionsDir: string;
  /** Every variable the construct can give a function; each gets the subset its handler parses. */
  readonly available: Readonly<Record<string, string>>;
}

/** Creates the functions of a step table's Lambda rows in `scope`, with their grants. */
export function createStepFunctions<K extends string>(
  scope: Construct,
  props: StepFunctionsProps<K>,
  problems: string[],
): Record<K, MlopsFunction> {
  const out: Partial<Record<K, MlopsFunction>> = {};
  for (const [key, row] of props.rows) {
    const fn = new MlopsFunction(scope, functionId(row.handler), {
      entry: join(props.functionsDir, row.handler),
      description: `${props.useCaseName}: ${row.fn.description}`,
      encryptionKey: props.encryptionKey,
      timeout: Duration.seconds(row.fn.timeoutSeconds),
      memorySize: Math.max(props.stage.lambdaMemoryMb, row.fn.minMemoryMb ?? 0),
      logRetention: logRetentionOf(props.stage),
      logRemovalPolicy: removalPolicyOf(props.stage),
      environment: environmentFor(key, props.envs[key], props.available, problems),
      ...(row.fn.bundle ? { bundle: row.fn.bundle } : {}),
    });
    // Every step reads its KMS-encrypted environment and the data the pipeline encrypts.
    props.encryptionKey.grant(fn.fn, 'kms:Decrypt', 'kms:GenerateDataKey');
    for (const grant of row.grants) applyGrant(scope, fn, key, row, grant, props, problems);
    out[key] = fn;
  }
  return out as Record<K, MlopsFunction>;
}

const LEDGER_KEY_REASON =
  "Granted by LedgerTable.grantAppend (the key's encrypt/decrypt set) so the step can write the KMS-encrypted ledger; scoped to that one key.";

/** One grant of a row, as a construct method or a policy statement, with its acknowledgement beside it. */
function applyGrant<K extends string>(
  scope: Construct,
  target: MlopsFunction,
  key: K,
  row: LambdaStepRow,
  grant: StepGrant,
  props: StepFunctionsProps<K>,
  problems: string[],
): void {
  if ('ledger' in grant) {
    if (grant.ledger === 'read') {
      props.ledger.grantRead(target.fn);
      return;
    }
    props.ledger.grantAppend(target.fn);
    Validations.of(target).acknowledge(
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: LEDGER_KEY_REASON },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: LEDGER_KEY_REASON },
    );
    return;
  }
  if ('list' in grant) {
    const listing = props.resources.listing(grant.list);
    if (!listing) {
      problems.push(
        `grant ${grant.sid} of step ${key} lists targets in more than one bucket: ${grant.list.join(', ')}`,
      );
      return;
    }
    target.fn.addToRolePolicy(
      new iam.PolicyStatement({
        sid: grant.sid,
        actions: ['s3:ListBucket'],
        resources: [listing.bucketArn],
        conditions: { StringLike: { 's3:prefix': listing.prefixes } },
      }),
    );
    return;
  }
  const resources = grant.on.flatMap((t) => props.resources.arns(t));
  target.fn.addToRolePolicy(
    new iam.PolicyStatement({
      sid: grant.sid,
      actions: [...grant.actions],
      resources,
      conditions: grant.condition as iam.Conditions | undefined,
    }),
  );
  const wildcards = resources.filter((r) => r.includes('*'));
  if (wildcards.length === 0) return;
  if (grant.why === undefined) {
    problems.push(
      `grant ${grant.sid} of step ${key} (${row.handler}) has a wildcard resource and no why: say why it is as narrow as it can be`,
    );
    return;
  }
  const reason = grant.why;
  Validations.of(target).acknowledge(
    ...wildcards.map((r) => ({
      id: r === '*' ? 'AwsSolutions-IAM5[Resource::*]' : iam5ResourceFinding(scope, r),
      reason,
    })),
  );
}
