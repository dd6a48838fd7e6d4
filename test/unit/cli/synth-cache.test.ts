/**
 * What makes `npm start` synthesize again rather than reuse cdk.out: any watched source, the
 * commit (baked into the pipeline as CODE_VERSION), the app's environment and the stage.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { synthInputsHash } from '../../../infra/cli/local.ts';

function project(): string {
  const root = mkdtempSync(join(tmpdir(), 'synth-cache-'));
  writeFileSync(join(root, 'cdk.json'), JSON.stringify({ app: 'x', watch: { include: ['src/**'] } }));
  mkdirSync(join(root, 'src', 'deep'), { recursive: true });
  writeFileSync(join(root, 'src', 'deep', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'notes.md'), 'not an input\n');
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: root, stdio: 'pipe' });
  git('init', '-q');
  git('add', '.');
  git('commit', '-q', '-m', 'one');
  return root;
}

describe('synthInputsHash', () => {
  it('changes with a watched source, the commit, the app environment and the stage, and only with them', () => {
    const root = project();
    const env = {};
    const base = synthInputsHash('dev', root, env);
    expect(synthInputsHash('dev', root, env)).toBe(base);
    expect(synthInputsHash('prod', root, env)).not.toBe(base);
    expect(synthInputsHash('dev', root, { CDK_DEPLOY_REGION: 'eu-west-1' })).not.toBe(base);

    writeFileSync(join(root, 'notes.md'), 'still not an input\n');
    expect(synthInputsHash('dev', root, env)).toBe(base);

    writeFileSync(join(root, 'src', 'deep', 'a.ts'), 'export const a = 2;\n');
    const edited = synthInputsHash('dev', root, env);
    expect(edited).not.toBe(base);

    // The same files under a new commit: the pipeline would bake a different CODE_VERSION.
    execFileSync('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-qam', 'two'], {
      cwd: root,
      stdio: 'pipe',
    });
    const committed = synthInputsHash('dev', root, env);
    expect(committed).not.toBe(edited);

    writeFileSync(join(root, 'cdk.context.json'), '{"k":"v"}');
    expect(synthInputsHash('dev', root, env)).not.toBe(committed);
  });
});
