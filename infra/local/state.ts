/**
 * The state file a running local cloud describes itself in (`.local/cloud.json`): its endpoints,
 * resources and pid. The cloud writes it; every client (the CLI, the demo, tests) reads it here.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LocalCloudState } from './cloud.ts';

/** Where a running `mlops local up` describes itself (MLOPS_LOCAL_STATE overrides it, for tests). */
export const STATE_FILE =
  process.env.MLOPS_LOCAL_STATE ?? join(resolve(import.meta.dirname, '..', '..'), '.local', 'cloud.json');

/** Reads the state file of a running cloud, or explains how to start one. */
export function readState(file = STATE_FILE): LocalCloudState {
  if (!existsSync(file))
    throw new Error(`no local cloud is running (no ${file}); start one with: npm run mlops -- local up`);
  const state = JSON.parse(readFileSync(file, 'utf8')) as LocalCloudState;
  if (!processAlive(state.pid)) {
    rmSync(file, { force: true });
    throw new Error(
      `the local cloud of pid ${state.pid} is not running (it left a stale ${file}, now removed)`,
    );
  }
  return state;
}

/** The state of a cloud that is really running, if any (a stale file is removed). */
export function runningState(file = STATE_FILE): LocalCloudState | undefined {
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as LocalCloudState;
  if (processAlive(state.pid)) return state;
  rmSync(file, { force: true });
  return undefined;
}

/** Whether a process exists (signal 0 checks without sending anything). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
