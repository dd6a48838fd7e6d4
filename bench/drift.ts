/**
 * `npm run bench -- drift [--n N] [--quick]`: KS, PSI and the normalized Wasserstein distance on N
 * against N values (default 10^6; quick 10^4) in our code, and scipy's `ks_2samp` and
 * `wasserstein_distance` on the identical data in the same run (written to a temporary file as
 * float64), when a `python3` with scipy is present (Debian's python3-scipy): the ratio of the
 * times, and how far the answers are apart. Three repetitions each (quick: one).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32, quantile } from '../shared/features/stats.ts';
import { ks2Samp, psi, wassersteinNormalized } from '../shared/monitoring/statistics.ts';
import { benchArgs, type Figure, figure, progress, report } from './harness.ts';

const args = benchArgs();
const n = args.int('n', args.quick ? 10_000 : 1_000_000);
const repetitions = args.quick ? 1 : 3;

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

const ours: { ksMs: number; psiMs: number; wassersteinMs: number }[] = [];
let ks = ks2Samp(reference, current);
let psiValue = 0;
let w = 0;
for (let r = 0; r < repetitions; r++) {
  const t0 = performance.now();
  ks = ks2Samp(reference, current);
  const t1 = performance.now();
  psiValue = psi(histogram, current);
  const t2 = performance.now();
  w = wassersteinNormalized(reference, current);
  const t3 = performance.now();
  ours.push({ ksMs: t1 - t0, psiMs: t2 - t1, wassersteinMs: t3 - t2 });
  progress(
    `ours: KS ${(t1 - t0).toFixed(0)} ms, PSI ${(t2 - t1).toFixed(0)} ms, Wasserstein ${(t3 - t2).toFixed(0)} ms`,
  );
}

interface Scipy {
  readonly scipy: string;
  readonly statistic: number;
  readonly pValue: number;
  readonly wasserstein: number;
  readonly ksMs: number[];
  readonly wassersteinMs: number[];
}
const dir = mkdtempSync(join(tmpdir(), 'bench-drift-'));
let scipy: Scipy | undefined;
let scipyMissing = '';
try {
  writeFileSync(join(dir, 'reference.f64'), Buffer.from(reference.buffer));
  writeFileSync(join(dir, 'current.f64'), Buffer.from(current.buffer));
  const script = `
import json, sys, time
import numpy as np, scipy
from scipy import stats
a = np.fromfile(sys.argv[1], dtype=np.float64); b = np.fromfile(sys.argv[2], dtype=np.float64)
ks_ms, w_ms = [], []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter(); r = stats.ks_2samp(a, b); t1 = time.perf_counter()
    w = stats.wasserstein_distance(a, b) / max(np.std(a), 0.001); t2 = time.perf_counter()
    ks_ms.append((t1 - t0) * 1000); w_ms.append((t2 - t1) * 1000)
print(json.dumps({"scipy": scipy.__version__, "statistic": float(r.statistic), "pValue": float(r.pvalue), "wasserstein": float(w), "ksMs": ks_ms, "wassersteinMs": w_ms}))
`;
  const run = spawnSync(
    'python3',
    ['-c', script, join(dir, 'reference.f64'), join(dir, 'current.f64'), String(repetitions)],
    { encoding: 'utf8' },
  );
  if (run.status === 0) scipy = JSON.parse(run.stdout) as Scipy;
  else scipyMissing = (run.stderr || String(run.error)).trim().split('\n').at(-1) ?? 'python3 failed';
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const size = n.toExponential(0).replace('e+', 'e');
const figures: Figure[] = [
  figure(
    'drift',
    'ours-ms',
    `KS + PSI + Wasserstein, ${size} vs ${size} values (ours)`,
    'ms',
    ours.map((o) => o.ksMs + o.psiMs + o.wassersteinMs),
    {
      note: `KS p-value method ${ks.method}; PSI ${psiValue.toPrecision(3)}; Wasserstein ${w.toPrecision(3)}`,
    },
  ),
];
if (scipy) {
  const s = scipy;
  const rel = (a: number, b: number) => (b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b));
  figures.push(
    figure(
      'drift',
      'scipy-ms',
      `ks_2samp + wasserstein_distance (scipy ${s.scipy})`,
      'ms',
      s.ksMs.map((k, i) => k + (s.wassersteinMs[i] ?? 0)),
    ),
    figure(
      'drift',
      'ratio-vs-scipy',
      'KS + Wasserstein time, ours / scipy',
      'x',
      ours.map((o, i) => (o.ksMs + o.wassersteinMs) / ((s.ksMs[i] ?? 0) + (s.wassersteinMs[i] ?? 0))),
      { target: { op: '<=', value: 1 } },
    ),
    figure(
      'drift',
      'ks-ratio-vs-scipy',
      'KS time alone, ours / scipy',
      'x',
      ours.map((o, i) => o.ksMs / (s.ksMs[i] ?? Number.NaN)),
    ),
    figure(
      'drift',
      'max-relative-difference',
      'largest relative difference from scipy: KS statistic, p-value, Wasserstein',
      'ratio',
      Math.max(rel(ks.statistic, s.statistic), rel(ks.pValue, s.pValue), rel(w, s.wasserstein)),
      { target: { op: '<=', value: 1e-12 } },
    ),
  );
} else {
  progress(`scipy not run (${scipyMissing}): only our own times are reported`);
}
report(figures);
