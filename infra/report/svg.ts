/**
 * Small, pure helpers for drawing SVG as strings: escaping, scales, axis ticks, numbers and text
 * that fits. No DOM: the report is generated in Node and viewed offline.
 */

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Escapes text for HTML and SVG, in element content and in quoted attributes alike. */
export function esc(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** A coordinate, short (one decimal). */
export function px(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 10) / 10) : '0';
}

/** Maps [d0, d1] onto [r0, r1] (a degenerate domain maps to the middle of the range). */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (x: number) => number {
  if (d1 === d0) return () => (r0 + r1) / 2;
  const k = (r1 - r0) / (d1 - d0);
  return (x) => r0 + (x - d0) * k;
}

/** About `count` round tick values within [lo, hi] (1, 2 or 5 times a power of ten apart). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw) as number;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TIME_STEPS = [
  10_000,
  30_000,
  MINUTE,
  2 * MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  30 * DAY,
  91 * DAY,
  365 * DAY,
];

/** Ticks of a UTC time axis over [lo, hi] (epoch ms), at most `maxTicks`, labelled for their step. */
export function timeTicks(lo: number, hi: number, maxTicks = 8): { at: number; label: string }[] {
  if (!(hi > lo)) return [{ at: lo, label: shortTime(new Date(lo).toISOString()) }];
  const step = TIME_STEPS.find((s) => (hi - lo) / s <= maxTicks) ?? (hi - lo) / maxTicks;
  const out: { at: number; label: string }[] = [];
  for (let at = Math.ceil(lo / step) * step; at <= hi; at += step) {
    const iso = new Date(at).toISOString();
    const label =
      step >= DAY
        ? iso.slice(0, 10)
        : step < MINUTE
          ? iso.slice(11, 19)
          : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
    out.push({ at, label });
  }
  return out;
}

/** `2025-03-01 12:00` from an ISO time (UTC). */
export function shortTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** A number for people: 3 significant digits, exponent below 0.001, thousands separated. */
export function fmtNum(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a < 1e-3) return x.toExponential(2);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  return String(Number(x.toPrecision(3)));
}

/** A share as a percentage: `12.5%`. */
export function fmtPct(x: number): string {
  const p = x * 100;
  return `${p >= 10 || p === 0 ? Math.round(p) : Number(p.toPrecision(2))}%`;
}

/** How text is set, for {@link textWidth}. */
export interface TextStyle {
  /** The report's monospace font (IDs, versions). */
  readonly mono?: boolean;
  readonly bold?: boolean;
}

/**
 * Estimated width of `text`, erring wide: the metrics are DejaVu Sans's (the widest of the usual
 * system fonts, and what headless Chromium falls back to on Linux), so text sized with it fits in
 * narrower fonts too.
 */
export function textWidth(text: string, fontSize: number, style: TextStyle = {}): number {
  let units = 0;
  for (const ch of text) {
    // Monospace advances are the same in bold.
    if (style.mono) units += 0.602;
    else if ("il.,:;|!'` ".includes(ch)) units += 0.3;
    else if ('mwMW@%'.includes(ch)) units += 0.9;
    else if (ch >= 'A' && ch <= 'Z') units += 0.72;
    else if (ch >= '0' && ch <= '9') units += 0.64;
    else units += 0.6;
  }
  return units * fontSize * (style.bold && !style.mono ? 1.08 : 1);
}

/** `text`, cut with an ellipsis so that it fits in `maxWidth`. */
export function fitText(text: string, maxWidth: number, fontSize: number, style: TextStyle = {}): string {
  if (textWidth(text, fontSize, style) <= maxWidth) return text;
  const chars = [...text];
  while (chars.length > 1 && textWidth(`${chars.join('')}…`, fontSize, style) > maxWidth) chars.pop();
  return `${chars.join('')}…`;
}

/** The largest of `sizes` at which `text` fits in `maxWidth`, else the smallest with the text cut. */
export function fitLabel(
  text: string,
  maxWidth: number,
  sizes: readonly number[],
  style: TextStyle = {},
): { readonly text: string; readonly size: number } {
  for (const size of sizes) {
    if (textWidth(text, size, style) <= maxWidth) return { text, size };
  }
  const size = sizes.at(-1) ?? 11;
  return { text: fitText(text, maxWidth, size, style), size };
}
