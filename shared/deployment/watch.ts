/**
 * WatchDeployment: after each Create/UpdateEndpoint has settled, checks that the endpoint serves
 * the config that was asked for (SageMaker may have rolled its own update back), then, through the
 * bake, whether a watched alarm has fired. It decides; the state machine acts on the verdict.
 */
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  type DeploymentPlan,
  type EndpointState,
  WATCH_INTERVAL_SECONDS,
  type WatchPhase,
  type WatchResult,
} from './contracts.ts';

/** What WatchDeployment needs. */
export interface WatchDeploymentOptions {
  readonly cloudwatch: CloudWatchClient;
  readonly plan: DeploymentPlan;
  /** DescribeEndpoint as the last wait loop left it. */
  readonly endpoint: EndpointState;
  readonly phase: WatchPhase;
  /** The previous watch, when it watched the same phase. */
  readonly previous?: WatchResult;
}

/** The config each phase must leave on the endpoint. */
export function expectedConfig(plan: DeploymentPlan, phase: WatchPhase): string {
  if (phase === 'first') return plan.firstConfig;
  if (phase === 'full') return plan.fullConfig;
  if (!plan.previous) throw new Error('restore watched for a deployment with no previous version');
  return plan.previous.configName;
}

/** The watched alarms now in ALARM. */
export async function firingAlarms(
  cloudwatch: CloudWatchClient,
  names: readonly string[],
): Promise<string[]> {
  const firing: string[] = [];
  // DescribeAlarms takes at most 100 names per call.
  for (let i = 0; i < names.length; i += 100) {
    let token: string | undefined;
    do {
      const out = await cloudwatch.send(
        new DescribeAlarmsCommand({
          AlarmNames: names.slice(i, i + 100),
          StateValue: 'ALARM',
          AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
          NextToken: token,
        }),
      );
      for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
        if (a.AlarmName) firing.push(a.AlarmName);
      }
      token = out.NextToken;
    } while (token);
  }
  return firing.sort();
}

/** Runs WatchDeployment. */
export async function watchDeployment(o: WatchDeploymentOptions): Promise<WatchResult> {
  const round = o.previous?.phase === o.phase ? o.previous.round + 1 : 1;
  // Restoring carries forward why it was needed (the alarms of the bake it ended).
  const carried = o.phase === 'restore' && o.previous ? o.previous : undefined;
  const base = { phase: o.phase, round, alarms: carried?.alarms ?? [] };
  if (o.endpoint.EndpointStatus === 'Failed') {
    return { ...base, verdict: 'failed', reason: o.endpoint.FailureReason ?? 'the endpoint failed' };
  }
  const expected = expectedConfig(o.plan, o.phase);
  if (o.endpoint.EndpointConfigName !== expected) {
    if (o.phase === 'restore') {
      return {
        ...base,
        verdict: 'failed',
        reason: `restoring ${expected} left the endpoint on ${o.endpoint.EndpointConfigName ?? '(none)'}: ${o.endpoint.FailureReason ?? 'no reason given'}`,
      };
    }
    return {
      ...base,
      verdict: 'rolled-back',
      reason:
        o.endpoint.FailureReason ??
        `SageMaker left the endpoint on config ${o.endpoint.EndpointConfigName ?? '(none)'}, not ${expected}`,
    };
  }
  // Restoring and the last shift are verified, not baked: the canary's bake already passed.
  const bakeRounds = Math.ceil(o.plan.strategy.bakeSeconds / WATCH_INTERVAL_SECONDS);
  if (o.phase !== 'first' || bakeRounds === 0) {
    return { ...base, verdict: 'baked', ...(carried?.reason ? { reason: carried.reason } : {}) };
  }
  const firing = await firingAlarms(o.cloudwatch, o.plan.alarms);
  if (firing.length > 0) {
    return {
      ...base,
      verdict: 'alarm',
      alarms: firing,
      reason: `alarm ${firing.join(', ')} in ALARM during the bake`,
    };
  }
  // Round 1 is the moment the update settled; the bake has passed after bakeRounds intervals.
  return { ...base, verdict: round > bakeRounds ? 'baked' : 'baking' };
}
