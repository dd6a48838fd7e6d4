/**
 * Stage configuration: what differs between dev and prod. Chosen with `-c stage=dev|prod`.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as z from 'zod';
import { formatProblems, toFieldProblems } from '../../shared/validation.ts';

export const StageNameSchema = z.enum(['dev', 'prod']);
export type StageName = z.infer<typeof StageNameSchema>;

export const StageConfigSchema = z.strictObject({
  name: StageNameSchema,
  /** What happens to buckets and non-ledger tables when the stack is deleted. The ledger is always kept. */
  removal: z.enum(['destroy', 'retain']),
  /** Deletion protection on tables other than the ledger (the ledger always has it). */
  tableDeletionProtection: z.boolean(),
  /** Training runs wait for a human approval before deployment. */
  requireApproval: z.boolean(),
  /** Object Lock mode of the audit archive: GOVERNANCE can be lifted by a privileged user, COMPLIANCE cannot. */
  auditLockMode: z.enum(['GOVERNANCE', 'COMPLIANCE']),
  auditRetentionDays: z.number().int().min(1).max(3650),
  /** Days to keep Lambda and Step Functions logs. */
  logRetentionDays: z.union([z.literal(7), z.literal(30), z.literal(90), z.literal(365)]),
  /** Memory of the API and pipeline functions. */
  lambdaMemoryMb: z.number().int().min(128).max(10240),
  /** Multiplies each use case's endpoint instance count (dev runs smaller). */
  endpointCapacityFactor: z.number().positive().max(1),
  /** API Gateway throttling of every route of the stage (steady requests per second, and burst). */
  apiThrottle: z.strictObject({
    rateLimit: z.number().int().min(1),
    burstLimit: z.number().int().min(1),
  }),
});
export type StageConfig = z.infer<typeof StageConfigSchema>;

const STAGES: Record<StageName, StageConfig> = {
  dev: {
    name: 'dev',
    removal: 'destroy',
    tableDeletionProtection: false,
    requireApproval: false,
    auditLockMode: 'GOVERNANCE',
    auditRetentionDays: 30,
    logRetentionDays: 30,
    lambdaMemoryMb: 512,
    endpointCapacityFactor: 0.5,
    apiThrottle: { rateLimit: 50, burstLimit: 100 },
  },
  prod: {
    name: 'prod',
    removal: 'retain',
    tableDeletionProtection: true,
    requireApproval: true,
    auditLockMode: 'COMPLIANCE',
    auditRetentionDays: 2555,
    logRetentionDays: 365,
    lambdaMemoryMb: 1024,
    endpointCapacityFactor: 1,
    apiThrottle: { rateLimit: 500, burstLimit: 1000 },
  },
};

/** Thrown at synth when the stage or a use case is invalid; the message lists every problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Resolves the `stage` context value to its configuration, or fails synth naming the bad value. */
export function loadStage(value: unknown): StageConfig {
  const parsed = StageNameSchema.safeParse(value ?? 'dev', { reportInput: true });
  if (!parsed.success) {
    const problems = toFieldProblems(parsed.error).map((p) => ({ ...p, field: 'context.stage' }));
    throw new ConfigError(
      `Invalid stage configuration:\n${formatProblems(problems, '  ')}\nFix: pass -c stage=dev or -c stage=prod.`,
    );
  }
  return STAGES[parsed.data];
}

/** What the stage does to stateful resources when a stack is deleted. */
export function removalPolicyOf(stage: StageConfig): RemovalPolicy {
  return stage.removal === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
}

/** How long the stage keeps logs. */
export function logRetentionOf(stage: StageConfig): logs.RetentionDays {
  return stage.logRetentionDays as logs.RetentionDays;
}

/** The stage's log settings for an MlopsFunction (retention, and what happens to the group on delete). */
export function functionLogDefaults(stage: StageConfig): {
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
} {
  return { logRetention: logRetentionOf(stage), logRemovalPolicy: removalPolicyOf(stage) };
}
