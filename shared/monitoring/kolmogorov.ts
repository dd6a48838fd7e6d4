/**
 * The null distributions behind the two-sample Kolmogorov-Smirnov p-value, ported from scipy 1.17.1
 * so that a p-value here is the double scipy returns: the one-sided Smirnov distribution
 * (`scipy.special.smirnov`), the two-sided Kolmogorov distribution (`scipy.stats.kstwo`) that the
 * asymptotic path reads, and the lattice-path counts of the exact path. They live apart from
 * statistics.ts because they are numerical machinery (double-double arithmetic, libm's frexp and
 * ldexp, matrix powers) that the drift tests call but never need to read; the choice between the
 * exact and the asymptotic path, as `ks_2samp` makes it, stays with the test in statistics.ts.
 */

// ---------------------------------------------------------------------------------------------
// numpy building blocks, reproduced so that sums and roundings land on the same bits.
// ---------------------------------------------------------------------------------------------

/**
 * numpy's float64 `add.reduce`: pairwise summation in blocks of at most 128 with 8 accumulators.
 * Exported for statistics.ts, whose sums must land on numpy's bits too; it sits here, below the
 * drift tests, so that neither module imports the other in a cycle.
 */
export function pairwiseSum(a: ArrayLike<number>, start = 0, n = a.length - start): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[start + i] ?? 0;
    return res;
  }
  if (n <= 128) {
    let r0 = a[start] ?? 0;
    let r1 = a[start + 1] ?? 0;
    let r2 = a[start + 2] ?? 0;
    let r3 = a[start + 3] ?? 0;
    let r4 = a[start + 4] ?? 0;
    let r5 = a[start + 5] ?? 0;
    let r6 = a[start + 6] ?? 0;
    let r7 = a[start + 7] ?? 0;
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      const s = start + i;
      r0 += a[s] ?? 0;
      r1 += a[s + 1] ?? 0;
      r2 += a[s + 2] ?? 0;
      r3 += a[s + 3] ?? 0;
      r4 += a[s + 4] ?? 0;
      r5 += a[s + 5] ?? 0;
      r6 += a[s + 6] ?? 0;
      r7 += a[s + 7] ?? 0;
    }
    let res = r0 + r1 + (r2 + r3) + (r4 + r5 + (r6 + r7));
    for (; i < n; i++) res += a[start + i] ?? 0;
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, start, n2) + pairwiseSum(a, start + n2, n - n2);
}

/** `np.round`: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  return Math.abs(x % 1) === 0.5 ? 2 * Math.round(x / 2) : Math.round(x);
}

/** `np.clip(p, 0, 1)`, letting NaN through as numpy does. */
function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

// ---------------------------------------------------------------------------------------------
// Double-double arithmetic and libm helpers, as in scipy's xsf `cephes/dd_real.h`. `two_prod` uses
// Dekker's split where xsf uses fma; both give the exact rounding error, so the results agree.
// ---------------------------------------------------------------------------------------------

interface DD {
  readonly hi: number;
  readonly lo: number;
}

const DD_SPLITTER = 134217729; // 2^27 + 1
const EPSILON = 2.220446049250313e-16;
// One float64 seen as its two 32-bit words (the platform's byte order: the high word is the one
// holding sign and exponent), for frexp without a DataView's per-call cost.
const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
/** 2^n for n in [-1022, 1023], exact, indexed by n + 1022. */
const POWERS_OF_TWO = Float64Array.from({ length: 2046 }, (_, i) => 2 ** (i - 1022));

function dd(hi: number, lo = 0): DD {
  return { hi, lo };
}

function quickTwoSum(a: number, b: number): DD {
  const s = a + b;
  return { hi: s, lo: b - (s - a) };
}

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const c = s - a;
  const d = b - c;
  const e = s - c;
  return { hi: s, lo: a - e + d };
}

function twoProd(a: number, b: number): DD {
  const p = a * b;
  const ta = DD_SPLITTER * a;
  const aHi = ta - (ta - a);
  const aLo = a - aHi;
  const tb = DD_SPLITTER * b;
  const bHi = tb - (tb - b);
  const bLo = b - bHi;
  return { hi: p, lo: aHi * bHi - p + aHi * bLo + aLo * bHi + aLo * bLo };
}

function ddIsZero(a: DD): boolean {
  return a.hi === 0 && a.lo === 0;
}

function ddAdd(a: DD, b: DD): DD {
  const s = twoSum(a.hi, b.hi);
  const t = twoSum(a.lo, b.lo);
  const u = quickTwoSum(s.hi, s.lo + t.hi);
  return quickTwoSum(u.hi, u.lo + t.lo);
}

function ddSub(a: DD, b: DD): DD {
  return ddAdd(a, dd(-b.hi, -b.lo));
}

function ddAddD(a: DD, b: number): DD {
  const s = twoSum(a.hi, b);
  return quickTwoSum(s.hi, s.lo + a.lo);
}

function ddSubD(a: DD, b: number): DD {
  const s = twoSum(a.hi, -b);
  return quickTwoSum(s.hi, s.lo + a.lo);
}

function ddMul(a: DD, b: DD): DD {
  const p = twoProd(a.hi, b.hi);
  return quickTwoSum(p.hi, p.lo + (a.hi * b.lo + a.lo * b.hi));
}

function ddMulD(a: DD, b: number): DD {
  const p1 = twoProd(a.hi, b);
  const p2 = twoProd(a.lo, b);
  return quickTwoSum(p1.hi, p2.lo + p2.hi + p1.lo);
}

function ddDiv(a: DD, b: DD): DD {
  const q1 = a.hi / b.hi;
  let r = ddSub(a, ddMulD(b, q1));
  const q2 = r.hi / b.hi;
  r = ddSub(r, ddMulD(b, q2));
  const q3 = r.hi / b.hi;
  return ddAddD(quickTwoSum(q1, q2), q3);
}

function ddFloor(a: DD): DD {
  const hi = Math.floor(a.hi);
  if (hi !== a.hi) return dd(hi);
  return quickTwoSum(hi, Math.floor(a.lo));
}

/** C `frexp`: `x = mantissa * 2^exponent` with 0.5 <= |mantissa| < 1. */
function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  F64[0] = x;
  let biased = ((U32[HI] ?? 0) >>> 20) & 0x7ff;
  let shift = 0;
  if (biased === 0) {
    F64[0] = x * 2 ** 64;
    biased = ((U32[HI] ?? 0) >>> 20) & 0x7ff;
    shift = 64;
  }
  U32[HI] = ((U32[HI] ?? 0) & 0x800fffff) | (1022 << 20);
  return [F64[0] ?? Number.NaN, biased - 1022 - shift];
}

/** 2^n, exactly, for n in [-1022, 1023]. */
function powerOfTwo(n: number): number {
  return POWERS_OF_TWO[n + 1022] ?? Number.NaN;
}

/** C `ldexp` (musl's scalbn): scales in steps so a subnormal result is rounded only once. */
function ldexp(x: number, exponent: number): number {
  let y = x;
  let n = exponent;
  if (n > 1023) {
    y *= powerOfTwo(1023);
    n -= 1023;
    if (n > 1023) {
      y *= powerOfTwo(1023);
      n = Math.min(n - 1023, 1023);
    }
  } else if (n < -1022) {
    y *= powerOfTwo(-1022) * powerOfTwo(53);
    n += 1022 - 53;
    if (n < -1022) {
      y *= powerOfTwo(-1022) * powerOfTwo(53);
      n = Math.max(n + 1022 - 53, -1022);
    }
  }
  return y * powerOfTwo(n);
}

function ddFrexp(a: DD): [DD, number] {
  const [man0, e0] = frexp(a.hi);
  let man = man0;
  let b1 = ldexp(a.lo, -e0);
  let e = e0;
  if (Math.abs(man) === 0.5 && man * b1 < 0) {
    man *= 2;
    b1 *= 2;
    e -= 1;
  }
  return [dd(man, b1), e];
}

function ddLdexp(a: DD, exponent: number): DD {
  return dd(ldexp(a.hi, exponent), ldexp(a.lo, exponent));
}

/** cephes `expm1` (xsf `cephes/unity.h`), which xsf's Smirnov code calls instead of libm's. */
function cephesExpm1(x: number): number {
  if (!Number.isFinite(x)) return Number.isNaN(x) || x > 0 ? x : -1;
  if (x < -0.5 || x > 0.5) return Math.exp(x) - 1;
  const xx = x * x;
  const r0 = x * ((0.00012617719307481058 * xx + 0.030299440770744195) * xx + 1.0);
  const q = ((3.0019850513866446e-6 * xx + 0.002524483403496841) * xx + 0.22726554820815503) * xx + 2.0;
  const r = r0 / (q - r0);
  return r + r;
}

// ---------------------------------------------------------------------------------------------
// Smirnov's one-sided distribution: scipy.special.smirnov, ported from xsf `cephes/kolmogorov.h`
// (`_smirnov`, its survival function only).
// ---------------------------------------------------------------------------------------------

const SMIRNOV_MAX_COMPUTE_N = 1_000_000;
const SM_UPPER_MAX_TERMS = 3;
const SM_UPPERSUM_MIN_N = 10;
const SM_MAX_EXPONENT = 960;
/** cephes MINLOG, log(2^-1075). */
const MINLOG = -745.1332191019412;

function powD(a: DD, m: number): DD {
  if (m <= 0) return m === 0 ? dd(1) : ddDiv(dd(1), powD(a, -m));
  if (ddIsZero(a)) return dd(0);
  const ans = a.hi ** m;
  const r = a.lo / a.hi;
  let adj = m * r;
  if (Math.abs(adj) > 1e-8) {
    if (Math.abs(adj) < 1e-4) adj += m * r * (((m - 1) / 2.0) * r);
    else adj = cephesExpm1(m * Math.log1p(r));
  }
  return ddAddD(dd(ans), ans * adj);
}

function pow2(a: number, b: number, m: number): number {
  return powD(ddAddD(dd(a), b), m).hi;
}

/** xsf's `nextPowerOf2`, kept as written: it only nudges x up by one ulp-ish step. */
function nextPowerOf2(x: number): number {
  const q = ldexp(x, 1 - 53);
  let L = Math.abs(q + x);
  if (L === 0) L = Math.abs(x);
  else {
    const int = Math.trunc(L);
    if (int === L) L = int;
  }
  return L;
}

/** a^m as (significand, exponent), so that huge and tiny powers neither overflow nor underflow. */
function pow2ScaledD(a: DD, m: number): [DD, number] {
  if (m <= 0) {
    if (m === 0) return [dd(1), 0];
    const [ans, e1] = pow2ScaledD(a, -m);
    const [inv, e2] = ddFrexp(ddDiv(dd(1), ans));
    return [inv, -e1 + e2];
  }
  const [y, yE] = ddFrexp(a);
  if (m === 1) return [y, yE];
  let maxExpt = SM_MAX_EXPONENT;
  if ((m * (y.hi - 1)) / y.hi < -SM_MAX_EXPONENT * Math.LN2) {
    const lg2y = Math.log(y.hi) / Math.LN2;
    if (m * lg2y <= -SM_MAX_EXPONENT) maxExpt = Math.trunc(nextPowerOf2(-SM_MAX_EXPONENT / lg2y + 1) / 2);
  }
  if (m <= maxExpt) {
    const [ans, ansE] = ddFrexp(powD(y, m));
    return [ans, ansE + m * yE];
  }
  const q = Math.trunc(m / maxExpt);
  const r = m % maxExpt;
  const [y2r, y2rE] = pow2ScaledD(y, r);
  const [y2m, y2mE] = pow2ScaledD(y, maxExpt);
  const [y2mq, y2mqE0] = pow2ScaledD(y2m, q);
  const [ans, ansE] = ddFrexp(ddMul(y2r, y2mq));
  const y2mqE = y2mqE0 + y2mE * q;
  return [ans, ansE + y2mqE + y2rE + m * yE];
}

function pow4D(a: number, b: number, c: number, d: number, m: number): DD {
  if (m <= 0) return m === 0 ? dd(1) : pow4D(c, d, a, b, -m);
  const A = ddAddD(dd(a), b);
  const C = ddAddD(dd(c), d);
  if (ddIsZero(A)) return ddIsZero(C) ? dd(Number.NaN, Number.NaN) : dd(0);
  if (ddIsZero(C))
    return A.hi < 0 || (A.hi === 0 && A.lo < 0) ? dd(-Infinity, -Infinity) : dd(Infinity, Infinity);
  return powD(ddDiv(A, C), m);
}

/** One term of the Smirnov sum: Binomial(n, v) * (1 - x - v/n)^(n-v) * (x + v/n)^(v-1). */
function smirnovTerm(n: number, x: number, v: number, cMan: DD, cExpt: number): DD {
  const [t2, t2E] = pow2ScaledD(ddSubD(ddDiv(dd(n - v), dd(n)), x), n - v);
  const [t1, t1E] = pow2ScaledD(ddAddD(ddDiv(dd(v), dd(n)), x), v - 1);
  return ddLdexp(ddMul(ddMul(t1, t2), cMan), cExpt + t1E + t2E);
}

/** scipy.special.smirnov(n, x): P(D+_n >= x) for the one-sided one-sample statistic. */
function smirnov(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;

  // floor(n*x) and its remainder, exactly.
  const nxD = twoProd(n, x);
  const nxFloorD = ddFloor(nxD);
  let alpha = ddSub(nxD, nxFloorD).hi;
  let nxfl = Math.trunc(nxFloorD.hi);
  if (alpha === 1) {
    nxfl += 1;
    alpha = 0;
  }
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  let n1mxceil = n - nxfl;
  if (alpha === 0) {
    n1mxfl -= 1;
    n1mxceil += 1;
  }
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) return 1 - x * pow2(1, x, n - 1);
  if (-2 * n * x * x < MINLOG) return 0;
  if (nxfl >= n - 1) return pow2(1, -x, n);
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const base = 6.0 * n * x + 1;
    const logp = -(base * base) / 18.0 / n;
    if (logp < -Math.LN2) return Math.exp(logp);
    const cdf = -cephesExpm1(logp);
    return 1 - cdf;
  }

  const nUpperTerms = n - n1mxceil + 1;
  const useUpperSum =
    (nUpperTerms <= 1 && x < 0.5) ||
    (n >= SM_UPPERSUM_MIN_N && nUpperTerms <= SM_UPPER_MAX_TERMS && x <= 0.5 / Math.sqrt(n));
  const start = useUpperSum ? n : 0;
  const step = useUpperSum ? -1 : 1;
  const nTerms = useUpperSum ? n - n1mxceil + 1 : n1mxfl + 1;
  const vmid = Math.trunc(n / 2);
  let term = useUpperSum ? pow4D(1, x, 1, 0, n - 1) : ddDiv(pow4D(1, -x, 1, 0, n), dd(x));
  let sum = ddAdd(dd(0), term);
  let cMan = dd(1);
  let cExpt = 0;
  const updateBinomial = (j: number): void => {
    const [man, expt] = ddFrexp(ddMul(cMan, ddDiv(dd(n - j), dd(j + 1.0))));
    cMan = man;
    cExpt += expt;
  };
  updateBinomial(0);
  for (let j = 1; j < nTerms; j++) {
    term = smirnovTerm(n, x, start + j * step, cMan, cExpt);
    const zero = ddIsZero(term);
    if (Number.isFinite(term.hi) && !zero) sum = ddAdd(sum, term);
    if (!zero) {
      if (4 * (nTerms - j) * Math.abs(term.hi) < EPSILON * sum.hi && j !== nTerms - 1) break;
    } else if (j > vmid) break;
    updateBinomial(j);
  }
  const prob = ddMulD(sum, x).hi;
  const sf = step < 0 ? 1 - prob : prob;
  return Math.min(Math.max(sf, 0), 1);
}

// ---------------------------------------------------------------------------------------------
// The two-sided one-sample Kolmogorov distribution: scipy.stats.kstwo, ported from
// scipy/stats/_ksstats.py (`_kolmogn` with cdf=False and the methods it picks, after Simard and
// L'Ecuyer 2011).
// ---------------------------------------------------------------------------------------------

// numpy's values of these constants, so no libm difference creeps in.
const SQRT2PI = 2.5066282746310002;
const LOG_2PI = 1.8378770664093453;
const SQRT3 = 1.7320508075688772;
const PI_SQUARED = 9.869604401089358;
const PI_FOUR = 97.40909103400242;
const PI_SIX = 961.3891935753043;
const MIN_LOG = -708;
const E128 = 128;
const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const STIRLING_COEFFS = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417,
  -0.0005952380952380953, 0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
];

/** log(n! / n^n) by Stirling's series, with n log n removed up front to avoid cancellation. */
function logNFactorialDivNPowN(n: number): number {
  const rn = 1.0 / n;
  let poly = 0;
  for (const c of STIRLING_COEFFS) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const c = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k] ?? 0;
      for (let j = 0; j < m; j++) c[i * m + j] = (c[i * m + j] ?? 0) + aik * (b[k * m + j] ?? 0);
    }
  }
  return c;
}

/** P(D_n <= d) by Durbin's matrix method as Marsaglia, Tsang and Wang compute it (`_kolmogn_DMTW`). */
function kolmognDurbin(n: number, d: number): number {
  if (d >= 1.0) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1.0;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1.0 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1.0, 0) ** m - 2 * h ** m;
  v[m - 1] = (1.0 + tt) * fac;
  let H = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1] ?? 0;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r] ?? 0;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c] ?? 0;

  let power = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let hExpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      power = matmul(power, H, m);
      expnt += hExpnt;
    }
    H = matmul(H, H, m);
    hExpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)] ?? 0) > EP128) {
      for (let i = 0; i < H.length; i++) H[i] = (H[i] ?? 0) / EP128;
      hExpnt += E128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = power[(k - 1) * m + (k - 1)] ?? 0;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      expnt -= E128;
    }
  }
  if (expnt !== 0) p = ldexp(p, expnt);
  return clip01(p);
}

function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Python's `a[start:stop]` on a 1-D array, negative indices included. */
function pySlice(a: Float64Array, start: number, stop: number): Float64Array {
  const norm = (i: number): number => Math.min(Math.max(i < 0 ? i + a.length : i, 0), a.length);
  const s = norm(start);
  return a.slice(s, Math.max(norm(stop), s));
}

/** `np.convolve(a, v)` in 'full' mode. */
function convolve(a: Float64Array, v: Float64Array): Float64Array {
  const out = new Float64Array(a.length + v.length - 1);
  for (let k = 0; k < out.length; k++) {
    let s = 0;
    for (let i = Math.max(0, k - v.length + 1); i <= Math.min(k, a.length - 1); i++) {
      s += (a[i] ?? 0) * (v[k - i] ?? 0);
    }
    out[k] = s;
  }
  return out;
}

/** P(D_n <= x) by Pomeranz's recursion (`_kolmogn_Pomeranz`). */
function kolmognPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = 1.0 * (t - ll);
  const g = Math.min(f, 1.0 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1.0;
  twogpower[0] = 1.0;
  onem2gpower[0] = 1.0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = ((gpower[m - 1] ?? 0) * gOverN) / m;
    twogpower[m] = ((twogpower[m - 1] ?? 0) * twoGOverN) / m;
    onem2gpower[m] = ((onem2gpower[m - 1] ?? 0) * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let expnt = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [V0, V1] = [V1, V0];
    [V0s, V1s] = [V1s, V0s];
    V1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const conv = convolve(pySlice(V0, k1 - V0s, k1 - V0s + ln2), pySlice(pwrs, 0, ln2));
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      V1.set(pySlice(conv, convStart, convStart + convLen).subarray(0, Math.max(convLen, 0)));
      let max = Number.NEGATIVE_INFINITY;
      for (const value of V1) if (value > max) max = value;
      if (max > 0 && max < EM128) {
        for (let j = 0; j < V1.length; j++) V1[j] = (V1[j] ?? 0) * EP128;
        expnt -= E128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  const at = n - V1s;
  let ans = V1[at < 0 ? at + V1.length : at] ?? Number.NaN;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > EP128) {
      ans *= EM128;
      expnt += E128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ldexp(ans, expnt);
  return clip01(ans);
}

/** P(D_n <= x) by the Pelz-Good asymptotic series (`_kolmogn_PelzGood`). */
function kolmognPelzGood(n: number, x: number): number {
  if (x <= 0.0) return 0;
  if (x >= 1.0) return 1;
  const z = Math.sqrt(n) * x;
  const zsquared = z * z;
  const zthree = z ** 3;
  const zfour = z ** 4;
  const zsix = z ** 6;
  const qlog = -PI_SQUARED / 8 / zsquared;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);

  const k1a = -zsquared;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * zsix + 2 * zfour;
  const k2b = ((2 * zfour - 5 * zsquared) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * zsquared)) / 16;
  const k3d = (PI_SIX * (5 - 30 * zsquared)) / 64;
  const k3c = (PI_FOUR * (-60 * zsquared + 212 * zfour)) / 16;
  const k3b = (PI_SQUARED * (135 * zfour - 96 * zsix)) / 4;
  const k3a = -30 * zsix - 90 * z ** 8;

  const K = [0, 0, 0, 0];
  // Horner in q over the odd integers.
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const msquared = m * m;
    const mfour = m ** 4;
    const msix = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [
      1.0,
      k1a + k1b * msquared,
      k2a + k2b * msquared + k2c * mfour,
      k3a + k3b * msquared + k3c * mfour + k3d * msix,
    ];
    for (let i = 0; i < 4; i++) K[i] = (K[i] ?? 0) * qpower + (coeffs[i] ?? 0);
  }
  const divisors = [z, 6 * zfour, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) K[i] = ((K[i] ?? 0) * q * SQRT2PI) / (divisors[i] ?? 1);

  // The other sum, over all integers k, for K2 and K3.
  q = Math.exp(-PI_SQUARED / 2 / zsquared);
  const sqrt3z = SQRT3 * z;
  const k2terms = new Float64Array(maxk);
  const k3terms = new Float64Array(maxk);
  for (let i = 0; i < maxk; i++) {
    const k = maxk - i;
    const ksquared = k * k;
    const kspi = Math.PI * k;
    const qpwer = q ** ksquared;
    k2terms[i] = ksquared * qpwer;
    k3terms[i] = (sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwer;
  }
  K[2] = (K[2] ?? 0) + pairwiseSum(k2terms) * ((PI_SQUARED * SQRT2PI) / (-36 * zthree));
  K[3] = (K[3] ?? 0) + pairwiseSum(k3terms) * ((PI_SQUARED * SQRT2PI) / (216 * zsix));
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += (K[i] ?? 0) / (n * 1.0) ** (i / 2.0);
  return sum;
}

/** The survival function of `_kolmogn`, which picks the method by n and n*x^2. */
function kolmognSf(n: number, x: number): number {
  if (x >= 1.0) return 0;
  if (x <= 0.0) return 1;
  const t = n * x;
  if (t <= 1.0) {
    // Ruben-Gambino: 1/2n <= x <= 1/n.
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      const c = 2 * t - 1;
      for (let i = 1; i <= n; i++) prob *= i * (1.0 / n) * c;
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1.0 - prob);
  }
  if (t >= n - 1) return clip01(2 * (1.0 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnov(n, x));

  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip01(1.0 - kolmognDurbin(n, x));
    if (nxsquared <= 4) return clip01(1.0 - kolmognPomeranz(n, x));
    return clip01(2 * smirnov(n, x));
  }
  if (nxsquared >= 370.0) return 0;
  if (nxsquared >= 2.2) return clip01(2 * smirnov(n, x));
  const cdf = n <= 100000 && n * x ** 1.5 <= 1.4 ? kolmognDurbin(n, x) : kolmognPelzGood(n, x);
  return clip01(1.0 - cdf);
}

/**
 * `scipy.stats.kstwo.sf(x, n)`: P(D_n >= x) for the two-sided one-sample Kolmogorov-Smirnov
 * statistic, including the distribution's support rules (1 at or below 1/(2n), 0 at or above 1, NaN
 * for a non-integral n).
 */
export function kstwoSf(x: number, n: number): number {
  if (!(n >= 1) || n !== roundHalfEven(n) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0.5 / n) return 1;
  if (x >= 1) return 0;
  return kolmognSf(n, x);
}

// ---------------------------------------------------------------------------------------------
// The two-sample p-values of `ks_2samp`: exact by counting lattice paths (scipy/stats/_stats_py.py
// and _stats_pythran.py), asymptotic through kstwo.
// ---------------------------------------------------------------------------------------------

/** `_compute_prob_outside_square`: P(D_{n,n} >= h/n), by a Horner-like alternating sum. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0.0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1.0;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1.0 - P);
  }
  return 2 * P;
}

/**
 * `_compute_outer_prob_inside_method` (scipy/stats/_stats_pythran.py): the share of lattice paths
 * that leave the band |x/m - y/n| < h/lcm, by Viehmann's recursion for 1 - p. Costs O(m * n * d).
 */
function outerProbInsideMethod(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const A = new Float64Array(Math.min(2 * maxj + 2, n + 1)).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1.0;
    let val = minj === 0 ? 0.0 : 1.0;
    const offset = minj - lastminj;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + offset] ?? Number.NaN) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1] ?? Number.NaN;
}

/**
 * `_attempt_exact_2kssamp` for the two-sided alternative: the statistic rounded to the lattice
 * h / lcm(n1, n2) and its exact p-value. `ok` is false where scipy falls back to the asymptotic
 * path (a p-value outside [0, 1]); when `ok`, `prob` is already in [0, 1].
 */
export function exactTwoSided(n1: number, n2: number, d: number): { ok: boolean; d: number; prob: number } {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const rounded = h / lcm;
  if (h === 0) return { ok: true, d: rounded, prob: 1.0 };
  const prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInsideMethod(n1, n2, g, h);
  return { ok: prob >= 0 && prob <= 1, d: rounded, prob };
}

/**
 * The asymptotic two-sided p-value of `ks_2samp` (scipy/stats/_stats_py.py, method='asymp'):
 * `kstwo.sf(d, round(m*n/(m+n)))` with m >= n the sample sizes, clipped to [0, 1].
 */
export function asymptoticTwoSided(n1: number, n2: number, d: number): number {
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  return clip01(kstwoSf(d, roundHalfEven(en)));
}
