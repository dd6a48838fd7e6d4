import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cdk = join(root, 'node_modules', '.bin', 'cdk');

/** Runs a command in a fresh network namespace: only a loopback interface, which is down. */
function offline(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync('unshare', ['--net', '--', cmd, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
      CDK_DISABLE_VERSION_CHECK: '1',
      CDK_DISABLE_CLI_TELEMETRY: '1',
      HOME: mkdtempSync(join(tmpdir(), 'synth-home-')),
      ...env,
    },
    timeout: 300_000,
  });
}

describe('offline synth', () => {
  it('really has no network inside the namespace', () => {
    const probe = offline(process.execPath, [
      '-e',
      "require('node:dns').lookup('registry.npmjs.org', (e) => process.exit(e ? 3 : 0))",
    ]);
    expect(probe.status).toBe(3);
  });

  it.each(['dev', 'prod'])('synthesizes every %s stack with networking disabled', (stage) => {
    const out = mkdtempSync(join(tmpdir(), `cdk-out-${stage}-`));
    const run = offline(cdk, ['synth', '--quiet', '-c', `stage=${stage}`, '-o', out]);
    expect(run.stderr).not.toMatch(/ENOTFOUND|EAI_AGAIN|ECONNREFUSED/);
    expect(run.status, run.stderr).toBe(0);
    const templates = readdirSync(out).filter((f) => f.endsWith('.template.json'));
    expect(templates).toContain(`Mlops-${stage}-Data.template.json`);
  });

  it('fails synth with a clear message on a bad stage', () => {
    const run = offline(cdk, [
      'synth',
      '--quiet',
      '-c',
      'stage=qa',
      '-o',
      mkdtempSync(join(tmpdir(), 'cdk-out-')),
    ]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('context.stage: must be one of "dev", "prod", got "qa"');
  });
});

describe('the unshare tool itself', () => {
  it('is available (the offline proof above depends on it)', () => {
    expect(existsSync('/usr/bin/unshare')).toBe(true);
    expect(() => execFileSync('unshare', ['--net', 'true'])).not.toThrow();
  });
});
