/**
 * The demo's bad release: a manual training run whose model crashes on every request once it
 * serves. The SageMaker emulator is told so before the run starts (its `InvokeModel:<model>` fault,
 * what a broken container does in AWS); the run trains, passes the gate and goes out as a canary,
 * the canary's share of live traffic fails, the stack's error alarm fires, and the deploy machine
 * puts the previous config back. The run then fails with DeploymentRolledBack, as it should.
 */
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { servingModelName } from '../../shared/deployment/names.ts';
import { packageVersions } from '../../shared/pipeline/find-champion.ts';
import { LOCAL_CREDENTIALS } from '../local/engines/credentials.ts';
import { signedFetch } from '../local/sigv4.ts';
import { startRun } from '../ops/runs.ts';
import { flightLabel } from './flights.ts';
import { type FollowedRun, followRun, type LoopContext } from './monitoring.ts';
import type { FlightSlice } from './seed.ts';
import { sampleFlights } from './traffic.ts';

/** What the bad canary did to live traffic, and how it ended. */
export interface BadCanary {
  readonly run: FollowedRun;
  /** Predictions sent while the run deployed (its canary, then the rollback), and how many failed. */
  readonly requests: number;
  readonly failures: number;
  /** The version answering once it was over. */
  readonly servingAfter?: string;
}

/** Runs the bad release; `slice` supplies the live traffic sent meanwhile. */
export async function badCanary(ctx: LoopContext, slice: FlightSlice): Promise<BadCanary> {
  const { cloud, useCase } = ctx;
  const group = cloud.assembly.modelPackageGroups.find((g) => g.name.endsWith(useCase.name))?.name;
  if (!group) throw new Error(`no model package group for ${useCase.name}`);
  const sm = new SageMakerClient({
    endpoint: cloud.endpoints.sagemaker,
    region: cloud.assembly.placement.region,
    credentials: LOCAL_CREDENTIALS,
  });
  const next = Math.max(0, ...(await packageVersions(sm, group)).map((v) => v.version)) + 1;
  sm.destroy();
  const model = servingModelName(group, next);
  cloud.sagemaker.faults.inject(`InvokeModel:${model}`, {
    error: 'ModelError',
    message: 'demo: this release crashes on every request',
    times: 1_000_000,
  });
  ctx.say(`the SageMaker emulator will make ${model} (version ${next}) fail every request`);
  const { sample } = await sampleFlights(slice, 200);
  const api = (path: string) => `${ctx.target.apiUrl}${path}`;
  const sign = { region: cloud.assembly.placement.region };
  let requests = 0;
  let failures = 0;
  let over = false;
  // Live traffic while the release goes out, once the run reaches its Deploy step (sooner, it
  // would only slow the training down): one request at a time from each of 2 clients.
  let deploying: () => void = () => {};
  const deployStarted = new Promise<void>((res) => {
    deploying = res;
  });
  const traffic = Promise.all(
    [0, 1].map(async (client) => {
      await deployStarted;
      for (let i = client; !over; i += 2) {
        const f = sample[i % sample.length];
        if (!f) return;
        const { entities, request } = flightLabel(f);
        const res = await signedFetch(api(`/predict/${useCase.name}`), 'POST', { entities, request }, sign);
        await res.arrayBuffer();
        requests++;
        if (res.status !== 200) failures++;
      }
    }),
  );
  try {
    const started = await startRun(ctx.target, {
      useCase: useCase.name,
      trigger: 'manual',
      reason: 'npm start demo: a release that crashes in production',
    });
    ctx.say(`manual run ${started.runId}:`);
    const run = await followRun(
      {
        ...ctx,
        say: (line) => {
          if (/\bDeploy\b/.test(line)) deploying();
          ctx.say(line);
        },
      },
      started.runId,
    );
    over = true;
    deploying();
    await traffic;
    let servingAfter: string | undefined;
    const probe = sample[0];
    if (probe) {
      const { entities, request } = flightLabel(probe);
      const res = await signedFetch(api(`/predict/${useCase.name}`), 'POST', { entities, request }, sign);
      servingAfter = ((await res.json()) as { modelVersion?: string }).modelVersion;
    }
    ctx.say(
      `${failures} of ${requests} live predictions failed during the canary; run ${run.status}${run.error ? ` (${run.error})` : ''}; now serving ${servingAfter ?? '—'}`,
    );
    return { run, requests, failures, ...(servingAfter ? { servingAfter } : {}) };
  } finally {
    over = true;
    deploying();
    await traffic;
    cloud.sagemaker.faults.clear();
  }
}
