/**
 * `npm run bench -- drift [--n N]`: KS, PSI and the normalized Wasserstein distance on N against N
 * values (default 10^6) in our code, and scipy's `ks_2samp` and `wasserstein_distance` on the
 * identical data in the same run (written to a temporary file as float64), when a `python3` with
 * scipy is present: the ratio of the times, and how far the answers are apart.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32, quantile } from '../../shared/features/stats.ts';
import { ks2Samp, psi, wassersteinNormalized } from '../../shared/monitoring/statistics.ts';

const args = process.argv.slice(2);
const nAt = args.indexOf('--n');
const n = nAt === -1 ? 1_000_000 : Number(args[nAt + 1]);
if (!Number.isInteger(n) || n < 10) throw new Error('--n takes a whole number >= 10');

function normals(count: number, mean: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const u = 1 - random();
    out[i] = mean + Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  }
  return out;
}

const reference = normals(n, 0, 1);
const current = normals(n, 0.005, 2);
// PSI on the reference's decile bins, as the training baseline keeps them.
const sortedRef = Array.from(Float64Array.from(reference).sort());
const edges = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map((q) => quantile(sortedRef, q));
const counts = new Array<number>(edges.length + 1).fill(0);
for (const v of reference) {
  let i = 0;
  while (i < edges.length && v > (edges[i] ?? Number.POSITIVE_INFINITY)) i++;
  counts[i] = (counts[i] ?? 0) + 1;
}
const histogram = { edges, shares: counts.map((c) => c / n) };

const t0 = performance.now();
const ks = ks2Samp(reference, current);
const t1 = performance.now();
const psiValue = psi(histogram, current);
const t2 = performance.now();
const w = wassersteinNormalized(reference, current);
const t3 = performance.now();
const ours = { ksMs: t1 - t0, psiMs: t2 - t1, wassersteinMs: t3 - t2, totalMs: t3 - t0 };

const dir = mkdtempSync(join(tmpdir(), 'bench-drift-'));
let scipy: Record<string, number | string> | undefined;
try {
  writeFileSync(join(dir, 'reference.f64'), Buffer.from(reference.buffer));
  writeFileSync(join(dir, 'current.f64'), Buffer.from(current.buffer));
  const script = `
import json, sys, time
import numpy as np, scipy
from scipy import stats
a = np.fromfile(sys.argv[1], dtype=np.float64); b = np.fromfile(sys.argv[2], dtype=np.float64)
t0 = time.perf_counter(); r = stats.ks_2samp(a, b); t1 = time.perf_counter()
w = stats.wasserstein_distance(a, b) / max(np.std(a), 0.001); t2 = time.perf_counter()
print(json.dumps({"scipy": scipy.__version__, "statistic": float(r.statistic), "pValue": float(r.pvalue), "wasserstein": float(w), "ksMs": (t1 - t0) * 1000, "wassersteinMs": (t2 - t1) * 1000}))
`;
  const run = spawnSync('python3', ['-c', script, join(dir, 'reference.f64'), join(dir, 'current.f64')], {
    encoding: 'utf8',
  });
  if (run.status === 0) scipy = JSON.parse(run.stdout) as Record<string, number | string>;
  else console.log(`scipy not run: ${(run.stderr || String(run.error)).trim().split('\n').at(-1)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const rel = (a: number, b: number) => (b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b));
console.log(
  JSON.stringify({
    bench: 'drift',
    n,
    ours: {
      ...ours,
      ksStatistic: ks.statistic,
      ksPValue: ks.pValue,
      method: ks.method,
      psi: psiValue,
      wasserstein: w,
    },
    ...(scipy
      ? {
          scipy,
          agreement: {
            ksStatisticEqual: ks.statistic === scipy.statistic,
            ksPValueRelative: rel(ks.pValue, Number(scipy.pValue)),
            wassersteinRelative: rel(w, Number(scipy.wasserstein)),
          },
          ratio: {
            ks: ours.ksMs / Number(scipy.ksMs),
            ksAndWasserstein:
              (ours.ksMs + ours.wassersteinMs) / (Number(scipy.ksMs) + Number(scipy.wassersteinMs)),
          },
        }
      : {}),
  }),
);
