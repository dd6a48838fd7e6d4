import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readState, runningState } from '../../../infra/local/state.ts';

function stateFile(pid: number): string {
  const file = join(mkdtempSync(join(tmpdir(), 'state-')), 'cloud.json');
  writeFileSync(file, JSON.stringify({ pid, apiEndpoint: 'http://127.0.0.1:1', endpoints: {}, tables: [] }));
  return file;
}

describe('the local cloud state file', () => {
  it('is trusted while its process runs', () => {
    const file = stateFile(process.pid);
    expect(runningState(file)?.pid).toBe(process.pid);
    expect(readState(file).pid).toBe(process.pid);
  });

  it('is removed, with a clear message, when its process is gone', () => {
    // 2^22 + 1 is above Linux's default pid_max (2^22), so no process has it.
    const dead = 4_194_305;
    expect(runningState(stateFile(dead))).toBeUndefined();
    const file = stateFile(dead);
    expect(() => readState(file)).toThrow(`the local cloud of pid ${dead} is not running`);
    expect(existsSync(file)).toBe(false);
  });
});
