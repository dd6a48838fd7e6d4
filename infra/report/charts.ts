/**
 * The report's charts as inline SVG strings: a feature's reference-against-current distribution,
 * quality over time, the deployment timeline and the lineage graph. Pure: data in, markup out;
 * every string drawn is escaped, and every mark that states a fact links to its event.
 */
import type {
  Citation,
  DistributionChart,
  LineageEdge,
  LineageKind,
  LineageNode,
  QualityPoint,
  ServingSpan,
  TimelineItem,
  TimelineLane,
} from './model.ts';
import {
  esc,
  fitLabel,
  fitText,
  fmtNum,
  fmtPct,
  linearScale,
  niceTicks,
  px,
  shortTime,
  textWidth,
  timeTicks,
} from './svg.ts';

/** Ties marks to the events they come from, and records what was cited. */
export interface Citer {
  /** An SVG link around `inner` to the event, with `title` as its tooltip. */
  link(c: Citation, title: string, inner: string): string;
  /** The attributes that name the event on an element (` data-event="…" data-seq="…"`). */
  attrs(c: Citation): string;
}

/** The report's colours, shared by the CSS and the charts. */
export const COLORS = {
  ink: '#0f172a',
  muted: '#64748b',
  grid: '#e2e8f0',
  axis: '#94a3b8',
  reference: '#94a3b8',
  current: '#2563eb',
  drift: '#dc2626',
  good: '#16a34a',
  warn: '#d97706',
  bad: '#dc2626',
  info: '#2563eb',
  floor: '#dc2626',
} as const;

/** Colours of model versions, in order of first appearance. */
export const VERSION_COLORS = ['#2563eb', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#ea580c', '#475569'];

const FONT = 'font-family="inherit"';

function svgOpen(width: number, height: number, label: string, cls: string): string {
  return `<svg class="${cls}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(label)}" xmlns="http://www.w3.org/2000/svg" ${FONT}>`;
}

function text(
  x: number,
  y: number,
  content: string,
  o: {
    size?: number;
    anchor?: 'start' | 'middle' | 'end';
    fill?: string;
    weight?: number;
    cls?: string;
  } = {},
): string {
  return `<text x="${px(x)}" y="${px(y)}" font-size="${o.size ?? 11}"${o.anchor && o.anchor !== 'start' ? ` text-anchor="${o.anchor}"` : ''} fill="${o.fill ?? COLORS.muted}"${o.weight ? ` font-weight="${o.weight}"` : ''}${o.cls ? ` class="${o.cls}"` : ''}>${esc(content)}</text>`;
}

// ---------------------------------------------------------------------------------------------
// Distributions.
// ---------------------------------------------------------------------------------------------

/** A feature's reference (grey) and current (blue, red when drifted) distributions. */
export function distributionSvg(
  chart: DistributionChart,
  o: { readonly name: string; readonly drifted: boolean; readonly width?: number },
): string {
  const width = o.width ?? 520;
  const color = o.drifted ? COLORS.drift : COLORS.current;
  const bars = chart.kind === 'bars' ? chart : undefined;
  const bands = bars ? bars.labels.length : 0;
  const m = { l: 44, r: 12, t: 14, b: 28 };
  const plotW = width - m.l - m.r;
  const band = bands > 0 ? plotW / bands : 0;
  const labelSize = 10;
  const rotate = bars ? bars.labels.some((l) => textWidth(l, labelSize) > band - 6) : false;
  if (rotate) m.b = 62;
  const height = 150 + m.t + m.b;
  const plotH = height - m.t - m.b;
  const top = Math.max(0.0001, ...chart.reference, ...chart.current) * 1.12;
  const y = linearScale(0, top, m.t + plotH, m.t);
  const parts: string[] = [svgOpen(width, height, `${o.name}: reference and current distributions`, 'dist')];
  // Grid and y axis (shares).
  for (const t of niceTicks(0, top, 3)) {
    parts.push(
      `<line x1="${m.l}" x2="${width - m.r}" y1="${px(y(t))}" y2="${px(y(t))}" stroke="${COLORS.grid}"/>`,
      text(m.l - 6, y(t) + 3.5, fmtPct(t), { anchor: 'end', size: 10 }),
    );
  }
  const baseY = m.t + plotH;
  if (chart.kind === 'histogram') {
    const lo = chart.edges[0] ?? 0;
    const hi = chart.edges.at(-1) ?? 1;
    const x = linearScale(lo, hi, m.l, width - m.r);
    const rect = (i: number, share: number, fill: string, opacity: number, cls: string) => {
      const x0 = x(chart.edges[i] ?? lo);
      const x1 = x(chart.edges[i + 1] ?? hi);
      if (share <= 0) return '';
      return `<rect class="${cls}" x="${px(x0 + 0.5)}" y="${px(y(share))}" width="${px(Math.max(1, x1 - x0 - 1))}" height="${px(baseY - y(share))}" fill="${fill}" fill-opacity="${opacity}"/>`;
    };
    chart.reference.forEach((s, i) => {
      parts.push(rect(i, s, COLORS.reference, 0.55, 'ref'));
    });
    chart.current.forEach((s, i) => {
      parts.push(rect(i, s, color, 0.42, 'cur'));
    });
    // The current distribution's outline keeps its shape readable where the bars overlap.
    let d = `M${px(x(lo))},${px(baseY)}`;
    chart.current.forEach((s, i) => {
      d += ` L${px(x(chart.edges[i] ?? lo))},${px(y(s))} L${px(x(chart.edges[i + 1] ?? hi))},${px(y(s))}`;
    });
    d += ` L${px(x(hi))},${px(baseY)}`;
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    const ticks = niceTicks(lo, hi, 6).filter((t) => t >= lo && t <= hi);
    for (const t of ticks) {
      parts.push(
        `<line x1="${px(x(t))}" x2="${px(x(t))}" y1="${px(baseY)}" y2="${px(baseY + 4)}" stroke="${COLORS.axis}"/>`,
        text(x(t), baseY + 16, fmtNum(t), { anchor: 'middle', size: 10 }),
      );
    }
  } else {
    const bw = Math.min(22, band * 0.36);
    chart.labels.forEach((label, i) => {
      const cx = m.l + band * (i + 0.5);
      const ref = chart.reference[i] ?? 0;
      const cur = chart.current[i] ?? 0;
      if (ref > 0) {
        parts.push(
          `<rect class="ref" x="${px(cx - bw - 1)}" y="${px(y(ref))}" width="${px(bw)}" height="${px(baseY - y(ref))}" fill="${COLORS.reference}" fill-opacity="0.75"/>`,
        );
      }
      if (cur > 0) {
        parts.push(
          `<rect class="cur" x="${px(cx + 1)}" y="${px(y(cur))}" width="${px(bw)}" height="${px(baseY - y(cur))}" fill="${color}" fill-opacity="0.8"/>`,
        );
      }
      const shown = fitText(label, rotate ? m.b - 14 : band - 4, labelSize);
      parts.push(
        rotate
          ? `<text x="${px(cx)}" y="${px(baseY + 12)}" font-size="${labelSize}" text-anchor="end" fill="${COLORS.muted}" transform="rotate(-40 ${px(cx)} ${px(baseY + 12)})">${esc(shown)}</text>`
          : text(cx, baseY + 16, shown, { anchor: 'middle', size: labelSize }),
      );
    });
  }
  parts.push(
    `<line x1="${m.l}" x2="${width - m.r}" y1="${px(baseY)}" y2="${px(baseY)}" stroke="${COLORS.axis}"/>`,
    '</svg>',
  );
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Quality over time.
// ---------------------------------------------------------------------------------------------

/** Realized (solid) and estimated (dashed) AUC per window end, one colour per version, and the floors. */
export function qualitySvg(
  points: readonly QualityPoint[],
  floors: { readonly realized: number; readonly estimated: number },
  colorOf: (modelVersion: string) => string,
  citer: Citer,
  width = 1120,
): string {
  const height = 320;
  const m = { l: 52, r: 200, t: 18, b: 40 };
  const times = points.map((p) => Date.parse(p.windowEnd));
  let lo = Math.min(...times);
  let hi = Math.max(...times);
  // A lone point, or windows minutes apart (a demo), still get an axis of their own scale.
  if (hi - lo < 60_000) {
    lo -= 60_000;
    hi += 60_000;
  }
  const pad = (hi - lo) * 0.03;
  lo -= pad;
  hi += pad;
  const values = [
    ...points.flatMap((p) => [p.realized, p.estimated].filter((v): v is number => v !== undefined)),
    floors.realized,
    floors.estimated,
  ];
  const yLo = Math.max(0, Math.floor((Math.min(...values) - 0.03) * 20) / 20);
  const yHi = Math.min(1, Math.ceil((Math.max(...values) + 0.03) * 20) / 20);
  const plotR = width - m.r;
  const x = linearScale(lo, hi, m.l, plotR);
  const y = linearScale(yLo, yHi, height - m.b, m.t);
  const parts: string[] = [
    svgOpen(width, height, 'Realized and estimated AUC per monitoring window', 'quality'),
  ];
  for (const t of niceTicks(yLo, yHi, 5)) {
    parts.push(
      `<line x1="${m.l}" x2="${plotR}" y1="${px(y(t))}" y2="${px(y(t))}" stroke="${COLORS.grid}"/>`,
      text(m.l - 8, y(t) + 4, t.toFixed(2), { anchor: 'end', size: 11 }),
    );
  }
  for (const t of timeTicks(lo, hi, 7)) {
    parts.push(
      `<line x1="${px(x(t.at))}" x2="${px(x(t.at))}" y1="${height - m.b}" y2="${height - m.b + 5}" stroke="${COLORS.axis}"/>`,
      text(x(t.at), height - m.b + 19, t.label, { anchor: 'middle', size: 11 }),
    );
  }
  parts.push(
    `<line x1="${m.l}" x2="${plotR}" y1="${height - m.b}" y2="${height - m.b}" stroke="${COLORS.axis}"/>`,
    `<text x="14" y="${px(m.t + (height - m.t - m.b) / 2)}" font-size="11" text-anchor="middle" fill="${COLORS.muted}" transform="rotate(-90 14 ${px(m.t + (height - m.t - m.b) / 2)})">AUC</text>`,
  );
  // Floors, labelled at the right end of the plot.
  const floorLines =
    floors.realized === floors.estimated
      ? [{ value: floors.realized, label: `quality floor ${floors.realized}`, dash: '6 4' }]
      : [
          { value: floors.realized, label: `realized floor ${floors.realized}`, dash: '6 4' },
          { value: floors.estimated, label: `estimated floor ${floors.estimated}`, dash: '2 3' },
        ];
  for (const f of floorLines) {
    parts.push(
      `<line class="floor" x1="${m.l}" x2="${plotR}" y1="${px(y(f.value))}" y2="${px(y(f.value))}" stroke="${COLORS.floor}" stroke-width="1.5" stroke-dasharray="${f.dash}"/>`,
      text(plotR - 4, y(f.value) - 5, f.label, { anchor: 'end', size: 10.5, fill: COLORS.floor }),
    );
  }
  const versions = [...new Set(points.map((p) => p.modelVersion))];
  for (const v of versions) {
    const mine = points.filter((p) => p.modelVersion === v);
    const color = colorOf(v);
    for (const kind of ['estimated', 'realized'] as const) {
      const pts = mine.filter((p) => p[kind] !== undefined);
      if (pts.length === 0) continue;
      const d = pts
        .map((p, i) => `${i === 0 ? 'M' : 'L'}${px(x(Date.parse(p.windowEnd)))},${px(y(p[kind] ?? 0))}`)
        .join(' ');
      if (pts.length > 1) {
        parts.push(
          `<path class="series ${kind}" d="${d}" fill="none" stroke="${color}" stroke-width="${kind === 'realized' ? 2.2 : 1.6}"${kind === 'estimated' ? ' stroke-dasharray="5 4"' : ''}/>`,
        );
      }
      for (const p of pts) {
        const value = p[kind] ?? 0;
        const title = `${v}, window ending ${shortTime(p.windowEnd)}: ${kind} AUC ${value.toFixed(4)}${kind === 'realized' && p.labeled !== undefined ? ` (${p.labeled} labeled)` : ''} — event #${p.cite.seq} ${p.cite.eventId}`;
        const cx = px(x(Date.parse(p.windowEnd)));
        const cy = px(y(value));
        parts.push(
          citer.link(
            p.cite,
            title,
            kind === 'realized'
              ? `<circle class="point realized" cx="${cx}" cy="${cy}" r="4.5" fill="${color}" stroke="#fff" stroke-width="1.5"/>`
              : `<circle class="point estimated" cx="${cx}" cy="${cy}" r="4" fill="#fff" stroke="${color}" stroke-width="2"/>`,
          ),
        );
      }
    }
  }
  // Legend: versions, then the line styles.
  const lx = plotR + 24;
  let ly = m.t + 8;
  parts.push(text(lx, ly, 'Model version', { size: 11, weight: 600, fill: COLORS.ink }));
  for (const v of versions) {
    ly += 20;
    parts.push(
      `<rect x="${lx}" y="${ly - 9}" width="12" height="12" rx="3" fill="${colorOf(v)}"/>`,
      text(lx + 18, ly + 1, fitText(v, m.r - 46, 11), { size: 11, fill: COLORS.ink }),
    );
  }
  ly += 32;
  parts.push(text(lx, ly, 'Lines', { size: 11, weight: 600, fill: COLORS.ink }));
  const key = [
    { label: 'realized AUC (feedback)', line: `stroke="${COLORS.ink}" stroke-width="2.2"` },
    {
      label: 'estimated AUC (CBPE)',
      line: `stroke="${COLORS.ink}" stroke-width="1.6" stroke-dasharray="5 4"`,
    },
    { label: 'floor', line: `stroke="${COLORS.floor}" stroke-width="1.5" stroke-dasharray="6 4"` },
  ];
  for (const k of key) {
    ly += 20;
    parts.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly - 3}" y2="${ly - 3}" ${k.line}/>`,
      text(lx + 30, ly + 1, k.label, { size: 11, fill: COLORS.ink }),
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Deployment timeline.
// ---------------------------------------------------------------------------------------------

const LANES: readonly { readonly id: 'serving' | TimelineLane; readonly label: string }[] = [
  { id: 'serving', label: 'Serving' },
  { id: 'deployment', label: 'Deployments' },
  { id: 'approval', label: 'Approvals' },
  { id: 'retraining', label: 'Retraining' },
  { id: 'incident', label: 'Drift & incidents' },
];

function marker(item: TimelineItem, cx: number, cy: number): string {
  const c = COLORS[item.tone];
  const x = px(cx);
  const y = px(cy);
  switch (item.cite.type) {
    case 'DeploymentStarted':
      return `<circle class="mark" cx="${x}" cy="${y}" r="5.5" fill="#fff" stroke="${c}" stroke-width="2.2"/>`;
    case 'DeploymentCompleted':
      return `<circle class="mark" cx="${x}" cy="${y}" r="6" fill="${c}" stroke="#fff" stroke-width="1.5"/>`;
    case 'DeploymentRolledBack':
      return `<circle class="mark" cx="${x}" cy="${y}" r="7.5" fill="#fff" stroke="${c}" stroke-width="1.5"/><path d="M${px(cx - 3.5)},${px(cy - 3.5)} L${px(cx + 3.5)},${px(cy + 3.5)} M${px(cx + 3.5)},${px(cy - 3.5)} L${px(cx - 3.5)},${px(cy + 3.5)}" stroke="${c}" stroke-width="2.2" stroke-linecap="round"/>`;
    case 'ApprovalRecorded':
      return `<path class="mark" d="M${x},${px(cy - 7)} L${px(cx + 7)},${y} L${x},${px(cy + 7)} L${px(cx - 7)},${y} Z" fill="${c}" stroke="#fff" stroke-width="1.5"/>`;
    case 'RetrainingTriggered':
      return `<rect class="mark" x="${px(cx - 6)}" y="${px(cy - 6)}" width="12" height="12" rx="3" fill="${c}" stroke="#fff" stroke-width="1.5"/>`;
    case 'DriftDetected':
      return `<path class="mark" d="M${x},${px(cy - 7)} L${px(cx + 7)},${px(cy + 5.5)} L${px(cx - 7)},${px(cy + 5.5)} Z" fill="#fff" stroke="${c}" stroke-width="2"/>`;
    default:
      return `<path class="mark" d="M${x},${px(cy - 7.5)} L${px(cx + 7.5)},${px(cy + 6)} L${px(cx - 7.5)},${px(cy + 6)} Z" fill="${c}" stroke="#fff" stroke-width="1.5"/>`;
  }
}

/** Deployments, approvals, retraining and incidents on one time axis, above what served when. */
export function timelineSvg(
  items: readonly TimelineItem[],
  spans: readonly ServingSpan[],
  colorOf: (modelVersion: string) => string,
  citer: Citer,
  width = 1120,
): string {
  const laneH = 60;
  const m = { l: 128, r: 24, t: 8, b: 34 };
  const height = m.t + LANES.length * laneH + m.b;
  const times = [...items.map((i) => Date.parse(i.time)), ...spans.map((s) => Date.parse(s.from))];
  let lo = Math.min(...times);
  let hi = Math.max(...times, ...spans.flatMap((s) => (s.to ? [Date.parse(s.to)] : [])));
  if (hi - lo < 60_000) {
    lo -= 30_000;
    hi += 30_000;
  }
  const pad = (hi - lo) * 0.04;
  const x = linearScale(lo - pad, hi + pad, m.l, width - m.r);
  const laneY = (id: string) => m.t + LANES.findIndex((l) => l.id === id) * laneH + laneH / 2;
  const parts: string[] = [svgOpen(width, height, 'Deployment timeline', 'timeline')];
  LANES.forEach((lane, i) => {
    const top = m.t + i * laneH;
    if (i % 2 === 0) parts.push(`<rect x="0" y="${top}" width="${width}" height="${laneH}" fill="#f8fafc"/>`);
    parts.push(text(12, top + laneH / 2 + 4, lane.label, { size: 11.5, weight: 600, fill: COLORS.ink }));
  });
  const axisY = m.t + LANES.length * laneH;
  for (const t of timeTicks(lo - pad, hi + pad, 8)) {
    parts.push(
      `<line x1="${px(x(t.at))}" x2="${px(x(t.at))}" y1="${m.t}" y2="${axisY + 4}" stroke="${COLORS.grid}"/>`,
      text(x(t.at), axisY + 18, t.label, { anchor: 'middle', size: 10.5 }),
    );
  }
  // What served when: one band per deployment decision.
  const sy = laneY('serving');
  for (const s of spans) {
    const x0 = x(Date.parse(s.from));
    const x1 = s.to ? x(Date.parse(s.to)) : width - m.r;
    const color = s.modelVersion ? colorOf(s.modelVersion) : COLORS.muted;
    const label = s.modelVersion ?? 'nothing served';
    const title = `${label} from ${shortTime(s.from)}${s.to ? ` to ${shortTime(s.to)}` : ' on'} — event #${s.cite.seq} ${s.cite.eventId}`;
    const w = Math.max(2, x1 - x0);
    const shown = w > 40 ? fitText(label, w - 12, 11) : '';
    parts.push(
      citer.link(
        s.cite,
        title,
        `<rect class="span" x="${px(x0)}" y="${px(sy - 11)}" width="${px(w)}" height="22" rx="4" fill="${color}" fill-opacity="${s.modelVersion ? 0.18 : 0.08}" stroke="${color}" stroke-width="1.2"/>${shown ? text(x0 + 6, sy + 4, shown, { size: 11, fill: COLORS.ink, weight: 600 }) : ''}`,
      ),
    );
  }
  // Marks, and their labels where they fit: above the mark, else below, else only in the tooltip.
  for (const lane of LANES.slice(1)) {
    const cy = laneY(lane.id);
    const taken: [number, number][][] = [[], []];
    const mine = items.filter((i) => i.lane === lane.id);
    for (const item of mine) {
      const cx = x(Date.parse(item.time));
      const title = `${shortTime(item.time)} — ${item.detail} — event #${item.cite.seq} ${item.cite.eventId}`;
      const label = fitText(item.label, 150, 10.5);
      const w = textWidth(label, 10.5);
      const x0 = Math.min(Math.max(m.l + 2, cx - w / 2), width - m.r - w);
      const row = taken.findIndex((r) => r.every(([a, b]) => x0 + w + 8 < a || x0 > b + 8));
      let labelSvg = '';
      if (row >= 0) {
        taken[row]?.push([x0, x0 + w]);
        labelSvg = text(x0, row === 0 ? cy - 13 : cy + 22, label, { size: 10.5, fill: COLORS.ink });
      }
      parts.push(citer.link(item.cite, title, `${marker(item, cx, cy)}${labelSvg}`));
    }
  }
  parts.push(
    `<line x1="${m.l}" x2="${width - m.r}" y1="${axisY}" y2="${axisY}" stroke="${COLORS.axis}"/>`,
    '</svg>',
  );
  return parts.join('');
}

// ---------------------------------------------------------------------------------------------
// Lineage graph.
// ---------------------------------------------------------------------------------------------

/** Where each kind of node sits: column, row. The story reads left to right on the first row. */
const GRID: Readonly<Record<LineageKind, readonly [number, number]>> = {
  dataset: [0, 0],
  run: [1, 0],
  model: [2, 0],
  approval: [3, 0],
  endpoint: [4, 0],
  trigger: [1, 1],
  champion: [2, 1],
};

const KIND_COLORS: Readonly<Record<LineageKind, string>> = {
  dataset: '#0891b2',
  trigger: '#d97706',
  run: '#7c3aed',
  model: '#2563eb',
  champion: '#64748b',
  approval: '#16a34a',
  endpoint: '#0f172a',
};

/** The serving model's lineage: nodes on a grid, edges as curves with arrowheads. */
export function lineageSvg(
  nodes: readonly LineageNode[],
  edges: readonly LineageEdge[],
  citer: Citer,
  width = 1120,
): string {
  const nodeW = 172;
  const nodeH = 112;
  const rowGap = 56;
  const margin = 16;
  const columns = [...new Set(nodes.map((n) => GRID[n.kind][0]))].sort((a, b) => a - b);
  const rows = Math.max(...nodes.map((n) => GRID[n.kind][1])) + 1;
  const pitch = columns.length > 1 ? (width - 2 * margin - nodeW) / (columns.length - 1) : 0;
  const height = margin * 2 + rows * nodeH + (rows - 1) * rowGap;
  const pos = new Map<string, { x: number; y: number }>();
  for (const n of nodes) {
    const [col, row] = GRID[n.kind];
    const x = columns.length > 1 ? margin + columns.indexOf(col) * pitch : (width - nodeW) / 2;
    pos.set(n.id, { x, y: margin + row * (nodeH + rowGap) });
  }
  const parts: string[] = [
    svgOpen(width, height, 'Lineage of the serving model', 'lineage'),
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 Z" fill="${COLORS.axis}"/></marker></defs>`,
  ];
  // Edges first, so that nodes sit on top of them.
  const inbound = new Map<string, number>();
  for (const e of edges) inbound.set(`${e.to}`, (inbound.get(e.to) ?? 0) + 1);
  const seenInbound = new Map<string, number>();
  for (const e of edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const k = seenInbound.get(e.to) ?? 0;
    seenInbound.set(e.to, k + 1);
    let d: string;
    let lx: number;
    let ly: number;
    let anchor: 'middle' | 'start' = 'middle';
    if (Math.abs(a.x - b.x) < 1) {
      // Same column: from the top of the lower node to the bottom of the upper one.
      const cx = a.x + nodeW / 2;
      const [y0, y1] = a.y > b.y ? [a.y, b.y + nodeH] : [a.y + nodeH, b.y];
      d = `M${px(cx)},${px(y0)} L${px(cx)},${px(y1 + (a.y > b.y ? 2 : -2))}`;
      lx = cx + 8;
      ly = (y0 + y1) / 2 + 4;
      anchor = 'start';
    } else if (Math.abs(a.y - b.y) < 1 || a.x > b.x) {
      // Same row (either way), or backwards: straight between the facing sides.
      const forward = a.x < b.x;
      const x0 = forward ? a.x + nodeW : a.x;
      const x1 = forward ? b.x - 2 : b.x + nodeW + 2;
      const y0 = a.y + nodeH / 2;
      const y1 = b.y + nodeH / 2;
      d = `M${px(x0)},${px(y0)} L${px(x1)},${px(y1)}`;
      lx = (x0 + x1) / 2;
      ly = (y0 + y1) / 2 - 7;
    } else {
      // Diagonal, forwards: a curve into the target's side, offset when several edges arrive.
      const spread = (inbound.get(e.to) ?? 1) > 1 ? (k - ((inbound.get(e.to) ?? 1) - 1) / 2) * 16 : 0;
      const x0 = a.x + nodeW;
      const y0 = a.y + nodeH / 2;
      const x1 = b.x - 2;
      const y1 = b.y + nodeH / 2 + spread;
      const mid = (x0 + x1) / 2;
      d = `M${px(x0)},${px(y0)} C${px(mid)},${px(y0)} ${px(mid)},${px(y1)} ${px(x1)},${px(y1)}`;
      lx = mid + 6;
      ly = (y0 + y1) / 2;
      anchor = 'start';
    }
    parts.push(
      `<path class="edge" data-from="${esc(e.from)}" data-to="${esc(e.to)}" d="${d}" fill="none" stroke="${COLORS.axis}" stroke-width="1.6"${e.dashed ? ' stroke-dasharray="5 4"' : ''} marker-end="url(#arrow)"/>`,
      `<text x="${px(lx)}" y="${px(ly)}" font-size="10" fill="${COLORS.muted}"${anchor === 'middle' ? ' text-anchor="middle"' : ''} class="edge-label" paint-order="stroke" stroke="#fff" stroke-width="4">${esc(e.label)}</text>`,
    );
  }
  for (const n of nodes) {
    const p = pos.get(n.id);
    if (!p) continue;
    const color = KIND_COLORS[n.kind];
    const inner: string[] = [
      `<rect class="node-box" x="${px(p.x)}" y="${px(p.y)}" width="${nodeW}" height="${nodeH}" rx="10" fill="#fff" stroke="${n.cite ? color : COLORS.bad}" stroke-width="1.5"${n.cite ? '' : ' stroke-dasharray="4 3"'}/>`,
      `<rect x="${px(p.x)}" y="${px(p.y)}" width="6" height="${nodeH}" rx="3" fill="${color}"/>`,
      text(p.x + 16, p.y + 19, n.title.toUpperCase(), { size: 9.5, weight: 700, fill: color }),
      (() => {
        const label = fitLabel(n.label, nodeW - 26, [13, 12, 11, 10], { mono: true, bold: true });
        return `<text x="${px(p.x + 16)}" y="${px(p.y + 38)}" font-size="${label.size}" font-weight="700" fill="${COLORS.ink}" class="mono">${esc(label.text)}</text>`;
      })(),
    ];
    n.details.slice(0, 3).forEach((detail, i) => {
      const cy = p.y + 57 + i * 15;
      const tag = detail.cite ? ` #${detail.cite.seq}` : '';
      const room = nodeW - 26 - (tag ? textWidth(tag, 10) + 4 : 0);
      const line = `${text(p.x + 16, cy, fitText(detail.text, room, 10.5), { size: 10.5 })}`;
      inner.push(
        detail.cite
          ? citer.link(
              detail.cite,
              `${detail.text} — event #${detail.cite.seq} ${detail.cite.eventId}`,
              `${line}${text(p.x + nodeW - 10, cy, tag.trim(), { size: 10, anchor: 'end', fill: COLORS.info, cls: 'cite-tag' })}`,
            )
          : line,
      );
    });
    const footY = p.y + nodeH - 10;
    const summary = `${n.title} ${n.label}: ${n.details.map((d) => d.text).join('; ')}`;
    if (n.cite) {
      const foot = fitText(`#${n.cite.seq} · ${n.cite.type}`, nodeW - 26, 10);
      inner.push(
        citer.link(
          n.cite,
          `${n.cite.type} ${n.cite.eventId}`,
          text(p.x + 16, footY, foot, { size: 10, fill: COLORS.info, cls: 'cite-tag' }),
        ),
      );
    } else {
      inner.push(text(p.x + 16, footY, 'no event in the ledger', { size: 10, fill: COLORS.bad }));
    }
    // The node names its event; its links (the footer, a detail's own event) are inside it.
    parts.push(
      `<g class="node${n.cite ? '' : ' missing'}" data-kind="${n.kind}"${n.cite ? citer.attrs(n.cite) : ''}><title>${esc(n.cite ? `${summary} — event #${n.cite.seq} ${n.cite.eventId}` : summary)}</title>${inner.join('')}</g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}
