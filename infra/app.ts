/** CDK entry point: `npx cdk synth|deploy --all -c stage=dev|prod`. */
import { App } from 'aws-cdk-lib';
import { buildApp } from './build-app.ts';
import { loadStage } from './config/stage.ts';
import { loadUseCases } from './config/use-cases.ts';

const app = new App();
buildApp(app, {
  stage: loadStage(app.node.tryGetContext('stage')),
  region: process.env.CDK_DEPLOY_REGION ?? String(app.node.tryGetContext('region')),
  account: process.env.CDK_DEPLOY_ACCOUNT ?? process.env.CDK_DEFAULT_ACCOUNT,
  useCases: await loadUseCases(),
});
app.synth();
