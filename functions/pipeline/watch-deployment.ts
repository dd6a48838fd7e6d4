/** WatchDeployment step: verify the endpoint's config, then watch the alarms through the bake. */
import { deployPart, optionalDeployPart, WatchPayloadSchema } from '../../shared/deployment/contracts.ts';
import { DEPLOY_ENV } from '../../shared/deployment/steps.ts';
import { watchDeployment } from '../../shared/deployment/watch.ts';
import { cloudWatchClient } from '../shared/clients.ts';
import { loadEnv } from '../shared/observability.ts';
import { stepHandler } from './step-handler.ts';

loadEnv(DEPLOY_ENV.watch);
const cloudwatch = cloudWatchClient();

export const handler = stepHandler(WatchPayloadSchema, ({ state, phase }) => {
  const previous = optionalDeployPart(state, 'watch');
  return watchDeployment({
    cloudwatch,
    plan: deployPart(state, 'plan'),
    endpoint: deployPart(state, 'endpoint'),
    phase,
    ...(previous ? { previous } : {}),
  });
});
