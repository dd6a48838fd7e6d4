/**
 * Builds the whole CDK app for one stage. Shared by `app.ts` (the CLI entry) and the tests, so
 * what is tested is what is deployed.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks } from 'cdk-nag';
import type { UseCase } from '../shared/config/use-case.ts';
import type { StageConfig } from './config/stage.ts';
import { DataStack } from './stacks/data-stack.ts';
import { ServiceStack } from './stacks/service-stack.ts';

export interface BuildAppProps {
  readonly stage: StageConfig;
  /** Region every stack deploys to (table keys and image URIs are region-specific). */
  readonly region: string;
  /**
   * Account to deploy to.
   * @default - resolved by the CDK CLI from the credentials at deploy time
   */
  readonly account?: string;
  readonly useCases: readonly UseCase[];
}

/** Every stack of one stage. */
export interface MlopsStacks {
  readonly data: DataStack;
  readonly service: ServiceStack;
}

/** Adds every stack of the product to `app` and turns on the compliance checks. */
export function buildApp(app: App, props: BuildAppProps): MlopsStacks {
  const prefix = `Mlops-${props.stage.name}`;
  const data = new DataStack(app, `${prefix}-Data`, {
    stage: props.stage,
    env: { region: props.region, account: props.account },
    description: `mlops ${props.stage.name}: keys, buckets and tables (stateful)`,
  });
  const service = new ServiceStack(app, `${prefix}-Service`, {
    stage: props.stage,
    env: { region: props.region, account: props.account },
    description: `mlops ${props.stage.name}: the API, feature store, training pipelines and audit routes (stateless)`,
    encryptionKey: data.key,
    ledger: data.ledger,
    auditArchive: data.auditArchive,
    onlineFeatures: data.onlineFeatures.table,
    offlineFeatures: data.offlineFeatures,
    datasets: data.datasets,
    artifacts: data.artifacts,
    runState: data.runState.table,
    predictionLogs: data.predictionLogs,
    servedRequests: data.servedRequests.table,
    useCases: props.useCases,
  });
  applyComplianceChecks(app);
  return { data, service };
}

/** cdk-nag packs that run on every synth; an unacknowledged finding fails synth. */
export function applyComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true }),
    new ServerlessChecks(app, { verbose: true }),
    new NIST80053R5Checks(app, { verbose: true }),
  );
}
