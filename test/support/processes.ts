/**
 * Finds the processes a command left behind: every process whose environment carries a marker
 * variable the test gave the command (children inherit it, wherever they are reparented). Linux
 * only (/proc). Run directly, `tsx test/support/processes.ts NAME=VALUE` waits up to 10 s for them
 * to end, lists what is left and exits 1 when anything is, for shell scripts such as .ci/run.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One live process and its command line. */
export interface FoundProcess {
  readonly pid: number;
  readonly command: string;
}

/** Live processes (other than this one) whose environment has `name=value`. */
export function processesWithMarker(name: string, value: string): FoundProcess[] {
  const wanted = `${name}=${value}`;
  const found: FoundProcess[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      if (!environ.includes(wanted)) continue;
      // A zombie has exited; only its parent's bookkeeping is left.
      const state = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]?.[0];
      if (state === 'Z') continue;
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      found.push({ pid, command });
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [name, value] = (process.argv[2] ?? '').split('=');
  if (!name || value === undefined) {
    console.error('usage: tsx test/support/processes.ts NAME=VALUE');
    process.exit(2);
  }
  // Children get a few seconds to be reaped after their parent exits.
  let left = processesWithMarker(name, value);
  for (let i = 0; i < 20 && left.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 500));
    left = processesWithMarker(name, value);
  }
  for (const p of left) console.error(`left running: pid ${p.pid}: ${p.command.slice(0, 200)}`);
  console.log(`${left.length} process(es) left with ${name}=${value}`);
  process.exit(left.length === 0 ? 0 : 1);
}
