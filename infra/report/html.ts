/**
 * The report as one self-contained HTML page: inline CSS, inline SVG, no script and nothing
 * fetched when it is viewed (its Content-Security-Policy forbids it). Every fact links to the
 * ledger event that states it (`#seq`, with the event ID in `data-event` and the tooltip), and the
 * events cited are listed at the end. Pure: data in, markup out, every string escaped.
 */
import { P_VALUE_TESTS } from '../../shared/config/use-case.ts';
import {
  type Citer,
  COLORS,
  distributionSvg,
  lineageSvg,
  qualitySvg,
  timelineSvg,
  VERSION_COLORS,
} from './charts.ts';
import type { Citation, DriftCheckView, DriftReportView, ReportData } from './model.ts';
import { esc, fmtNum, fmtPct, shortTime } from './svg.ts';

/** The events a page cites, in the order of the chain. */
class CitationRegistry implements Citer {
  private readonly cited = new Map<number, Citation>();

  private note(c: Citation): void {
    this.cited.set(c.seq, c);
  }

  private tooltip(c: Citation): string {
    return `${c.type} ${c.eventId} — ${shortTime(c.time)} by ${c.actor} — hash ${c.hash.slice(0, 16)}…`;
  }

  /** A visible, linked reference to the event: `#12`. */
  ref(c: Citation): string {
    this.note(c);
    return `<a class="cite" href="#ev-${c.seq}" data-event="${esc(c.eventId)}" data-seq="${c.seq}" title="${esc(this.tooltip(c))}">#${c.seq}</a>`;
  }

  attrs(c: Citation): string {
    this.note(c);
    return ` data-event="${esc(c.eventId)}" data-seq="${c.seq}"`;
  }

  link(c: Citation, title: string, inner: string): string {
    return `<a href="#ev-${c.seq}" class="mark-link"${this.attrs(c)}><title>${esc(title)}</title>${inner}</a>`;
  }

  all(): Citation[] {
    return [...this.cited.values()].sort((a, b) => a.seq - b.seq);
  }
}

const VERDICT_LABEL = {
  drift: 'Drift',
  'no-drift': 'No drift',
  'insufficient-data': 'Not enough data',
} as const;

function badge(verdict: keyof typeof VERDICT_LABEL): string {
  return `<span class="badge ${verdict}">${VERDICT_LABEL[verdict]}</span>`;
}

function tableSummary(shown: number, all: number, what: string): string {
  const plural = (n: number) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return shown === all ? `All ${plural(all)} as a table` : `The last ${shown} of ${plural(all)} as a table`;
}

function empty(message: string): string {
  return `<p class="empty">${esc(message)}</p>`;
}

function versionPalette(data: ReportData): (v: string) => string {
  const order: string[] = [];
  const see = (v: string | null | undefined) => {
    if (v && !order.includes(v)) order.push(v);
  };
  for (const s of data.timeline.serving) see(s.modelVersion);
  for (const p of data.quality.points) see(p.modelVersion);
  see(data.serving.modelVersion);
  return (v) => {
    see(v);
    return VERSION_COLORS[order.indexOf(v) % VERSION_COLORS.length] ?? COLORS.current;
  };
}

function thresholdText(c: DriftCheckView): string {
  if (c.threshold === undefined) return '—';
  return P_VALUE_TESTS.has(c.test)
    ? `drift if p < ${fmtNum(c.threshold)}`
    : `drift if ≥ ${fmtNum(c.threshold)}`;
}

const VERDICT_ORDER = { drift: 0, 'no-drift': 1, 'insufficient-data': 2 } as const;

function featureCard(c: DriftCheckView, report: DriftReportView, cites: CitationRegistry): string {
  const drifted = c.verdict === 'drift';
  const chart = c.chart
    ? distributionSvg(c.chart, { name: c.name, drifted })
    : `<div class="no-chart">${esc(report.chartsNote ?? 'no distribution stored for this feature')}</div>`;
  const note = c.chart?.kind === 'bars' ? c.chart.note : undefined;
  const sizes =
    c.referenceSize === undefined && c.currentSize === undefined
      ? '—'
      : `${fmtNum(c.referenceSize ?? null)} / ${fmtNum(c.currentSize ?? null)}`;
  const chosen =
    c.chosenBy === 'config' ? 'named in the use case config' : 'chosen by reference size (Evidently default)';
  return `<article class="feature ${c.verdict}" data-feature="${esc(c.name)}">
  <header><h4>${esc(c.name)}${c.role === 'prediction' ? ' <span class="role">model score</span>' : ''}</h4><span class="right">${cites.ref(report.cite)}${badge(c.verdict)}</span></header>
  <div class="chart">${chart}</div>
  <div class="legend"><span class="sw ref"></span>reference (training)<span class="sw ${drifted ? 'cur-drift' : 'cur'}"></span>current window${note ? `<span class="note">${esc(note)}</span>` : ''}</div>
  <dl class="stats">
    <div><dt>test</dt><dd${c.chosenBy ? ` title="${esc(chosen)}"` : ''}>${esc(c.test)}${c.chosenBy === 'config' ? ' <small>(config)</small>' : ''}</dd></div>
    <div><dt>statistic</dt><dd class="num">${fmtNum(c.statistic)}${c.pValue === undefined || c.pValue === null ? '' : ` <small>p ${fmtNum(c.pValue)}</small>`}</dd></div>
    <div><dt>threshold</dt><dd>${esc(thresholdText(c))}</dd></div>
    <div><dt>samples</dt><dd class="num" title="reference rows / current rows with a value">${esc(sizes)}</dd></div>
  </dl>
  ${c.detail ? `<p class="detail">${esc(c.detail)}</p>` : ''}
</article>`;
}

function driftReport(r: DriftReportView, cites: CitationRegistry): string {
  const decided = r.checks.filter((c) => c.role === 'feature' && c.verdict !== 'insufficient-data');
  const drifted = decided.filter((c) => c.verdict === 'drift');
  const checks = [...r.checks].sort(
    (a, b) =>
      (a.role === 'prediction' ? 1 : 0) - (b.role === 'prediction' ? 1 : 0) ||
      VERDICT_ORDER[a.verdict] - VERDICT_ORDER[b.verdict],
  );
  const share = Math.min(1, Math.max(0, r.driftedShare));
  const threshold = r.threshold;
  // Spans only: the head is also a <summary>, which holds phrasing content.
  const head = `<span class="report-head">
    <span>
      <h3>${esc(r.modelVersion)} ${r.serving ? '<span class="pill serving">serving</span>' : '<span class="pill">also in this window</span>'}</h3>
      <span class="sub">window ${esc(shortTime(r.window.start))} → ${esc(shortTime(r.window.end))} UTC · ${fmtNum(r.sampleSize)} predictions · ${cites.ref(r.cite)}</span>
    </span>
    <span class="dataset-drift">
      ${badge(r.decision)}
      <span class="share"><span class="bar"><span style="width:${(share * 100).toFixed(1)}%" class="${r.decision}"></span>${threshold === undefined ? '' : `<i style="left:${(Math.min(1, threshold) * 100).toFixed(1)}%" title="threshold ${esc(fmtPct(threshold))}"></i>`}</span>
      <span>${
        decided.length === 0
          ? 'no feature had enough data for a verdict'
          : `${drifted.length} of ${decided.length} features drifted (${fmtPct(share)}${threshold === undefined ? '' : `, threshold ${fmtPct(threshold)}`})`
      }</span></span>
    </span>
  </span>`;
  const body = `${r.chartsNote ? `<p class="warn-note">${esc(r.chartsNote)}</p>` : ''}
  <div class="features">${checks.map((c) => featureCard(c, r, cites)).join('\n')}</div>`;
  // The serving version's report is open; another version's of the same window (a canary) folds.
  return r.serving
    ? `<div class="report" data-report="${esc(r.cite.eventId)}">${head}${body}</div>`
    : `<details class="report" data-report="${esc(r.cite.eventId)}"><summary>${head}</summary>${body}</details>`;
}

function driftSection(data: ReportData, cites: CitationRegistry): string {
  const body =
    data.drift.reports.length === 0
      ? empty(
          `No monitoring reports yet for ${data.endpointName}. Run \`mlops monitor ${data.useCase}\` or wait for the schedule.`,
        )
      : data.drift.reports.map((r) => driftReport(r, cites)).join('\n');
  return `<section id="drift"><h2>Drift, per feature</h2>
<p class="lede">The latest monitoring window of the serving model: each feature's training reference against the window's values, with the test the monitor ran and its verdict.</p>
${body}</section>`;
}

function qualitySection(data: ReportData, cites: CitationRegistry, colorOf: (v: string) => string): string {
  const { points, floors } = data.quality;
  if (points.length === 0) {
    return `<section id="quality"><h2>Quality over time</h2>${empty(
      'No monitoring window has quality figures yet: realized AUC needs monitoring.minLabels predictions with feedback, estimated AUC the run’s monitoring reference.',
    )}</section>`;
  }
  const recent = points.slice(-8).reverse();
  const cell = (v: number | undefined, floor: number) =>
    v === undefined
      ? '<td class="num">—</td>'
      : `<td class="num ${v < floor ? 'below' : ''}">${v.toFixed(3)}</td>`;
  const rows = recent
    .map(
      (p) =>
        `<tr><td class="nowrap">${esc(shortTime(p.windowEnd))}</td><td><span class="dot" style="background:${colorOf(p.modelVersion)}"></span>${esc(p.modelVersion)}</td>${cell(p.realized, floors.realized)}<td class="num">${p.labeled === undefined ? '—' : fmtNum(p.labeled)}</td>${cell(p.estimated, floors.estimated)}<td>${cites.ref(p.cite)}</td></tr>`,
    )
    .join('');
  return `<section id="quality"><h2>Quality over time</h2>
<p class="lede">Realized AUC (from feedback labels) and estimated AUC (CBPE, from the scores alone) per monitoring window, by window end, against the quality floor (realized ${floors.realized}, estimated ${floors.estimated}).</p>
<div class="card chart-card">${qualitySvg(points, floors, colorOf, cites)}</div>
<details class="table"><summary>${tableSummary(recent.length, points.length, 'window')}</summary>
<table class="facts"><thead><tr><th>window end (UTC)</th><th>model version</th><th class="num">realized AUC</th><th class="num">labeled</th><th class="num">estimated AUC</th><th>event</th></tr></thead><tbody>${rows}</tbody></table>
${points.length > recent.length ? `<p class="more">${points.length - recent.length} earlier window(s) are in the chart; hover a point for its event.</p>` : ''}
</details>
</section>`;
}

const LANE_NAMES = {
  deployment: 'deployment',
  approval: 'approval',
  retraining: 'retraining',
  incident: 'drift & incidents',
} as const;

function timelineSection(data: ReportData, cites: CitationRegistry, colorOf: (v: string) => string): string {
  const { items, serving } = data.timeline;
  if (items.length === 0 && serving.length === 0) {
    return `<section id="timeline"><h2>Deployment timeline</h2>${empty('No deployments, approvals, retraining or incidents recorded yet.')}</section>`;
  }
  const recent = items.slice(-20).reverse();
  const rows = recent
    .map(
      (i) =>
        `<tr class="${i.tone}"><td class="nowrap">${esc(shortTime(i.time))}</td><td class="nowrap"><span class="tone ${i.tone}"></span>${esc(LANE_NAMES[i.lane])}</td><td>${esc(i.detail)}</td><td>${cites.ref(i.cite)}</td></tr>`,
    )
    .join('');
  return `<section id="timeline"><h2>Deployment timeline</h2>
<p class="lede">What served the endpoint when, and the deployments (canary first), rollbacks (with the alarms that fired), approvals, retraining triggers and incidents around it.</p>
<div class="card chart-card">${timelineSvg(items, serving, colorOf, cites)}</div>
<details class="table"><summary>${tableSummary(recent.length, items.length, 'event')}</summary>
<table class="facts"><thead><tr><th>time (UTC)</th><th>kind</th><th>what happened</th><th>event</th></tr></thead><tbody>${rows}</tbody></table>
${items.length > recent.length ? `<p class="more">${items.length - recent.length} earlier event(s) are in the chart.</p>` : ''}
</details>
</section>`;
}

function lineageSection(data: ReportData, cites: CitationRegistry): string {
  const l = data.lineage;
  const body =
    l.nodes.length === 0
      ? empty(
          l.modelVersion
            ? `No lineage for ${l.modelVersion}: ${l.gaps.join('; ')}`
            : `No model has been deployed to ${data.endpointName} yet.`,
        )
      : `<div class="card chart-card">${lineageSvg(l.nodes, l.edges, cites)}</div>`;
  const gaps =
    l.gaps.length === 0 || l.nodes.length === 0
      ? ''
      : `<ul class="gaps">${l.gaps.map((g) => `<li>missing from the ledger: ${esc(g)}</li>`).join('')}</ul>`;
  return `<section id="lineage"><h2>Lineage of the serving model</h2>
<p class="lede">${l.modelVersion ? `Where ${esc(l.modelVersion)} comes from, as the ledger records it: ` : ''}dataset → training run → model version → endpoint, with the champion it was compared with and the trigger that started its run.</p>
${body}${gaps}</section>`;
}

function eventsSection(cites: CitationRegistry): string {
  const all = cites.all();
  const rows = all
    .map(
      (c) =>
        `<tr id="ev-${c.seq}" data-event="${esc(c.eventId)}"><td class="num">#${c.seq}</td><td class="nowrap">${esc(shortTime(c.time))}</td><td>${esc(c.type)}</td><td class="mono">${esc(c.eventId)}</td><td>${esc(c.actor)}</td><td class="mono" title="${esc(c.hash)}">${esc(c.hash.slice(0, 12))}</td></tr>`,
    )
    .join('');
  return `<section id="events"><h2>Ledger events cited</h2>
<p class="lede">Every fact above links here: the event's position in the hash chain, its ID, who recorded it and its hash. Check any of them with <code>mlops audit events</code> or <code>mlops audit verify</code>.</p>
${all.length === 0 ? empty('Nothing cited: the ledger holds no events for this use case yet.') : `<table class="facts events"><thead><tr><th class="num">seq</th><th>time (UTC)</th><th>type</th><th>event ID</th><th>actor</th><th>hash</th></tr></thead><tbody>${rows}</tbody></table>`}
</section>`;
}

function header(data: ReportData, cites: CitationRegistry): string {
  const latest = data.drift.reports[0];
  // The serving version's latest figures; another version's only when it has none.
  const serving = data.quality.points.filter((p) => p.modelVersion === data.serving.modelVersion);
  const latestOf = (kind: 'realized' | 'estimated') =>
    serving.filter((p) => p[kind] !== undefined).at(-1) ??
    data.quality.points.filter((p) => p[kind] !== undefined).at(-1);
  const realized = latestOf('realized');
  const estimated = latestOf('estimated');
  const deployments = data.timeline.items.filter((i) => i.lane === 'deployment');
  const live = deployments.filter((i) => i.cite.type === 'DeploymentCompleted').length;
  const rollbacks = deployments.filter((i) => i.cite.type === 'DeploymentRolledBack').length;
  const lastDeployment = deployments.at(-1);
  const decided =
    latest?.checks.filter((c) => c.role === 'feature' && c.verdict !== 'insufficient-data') ?? [];
  const v = data.ledger.verification;
  const kpi = (label: string, value: string, foot: string) =>
    `<div class="kpi"><span class="k">${esc(label)}</span><span class="v">${value}</span><span class="foot">${foot}</span></div>`;
  const auc = (
    p: (typeof data.quality.points)[number] | undefined,
    kind: 'realized' | 'estimated',
    floor: number,
  ) => {
    const value = p?.[kind];
    return value === undefined ? '—' : `<b class="${value < floor ? 'below' : ''}">${value.toFixed(3)}</b>`;
  };
  const whose = (p: (typeof data.quality.points)[number] | undefined) =>
    p
      ? `${cites.ref(p.cite)} <small title="${esc(p.modelVersion)}">window to ${esc(shortTime(p.windowEnd).slice(5))}</small>`
      : '';
  return `<header class="top">
  <div class="title"><span class="eyebrow">Model report</span><h1>${esc(data.useCase)} <span class="stage">${esc(data.stage)}</span></h1>
  <p class="sub">endpoint <code>${esc(data.endpointName)}</code> · generated ${esc(shortTime(data.generatedAt))} UTC · ledger <code>${esc(data.ledger.table)}</code> chain <code>${esc(data.ledger.chain)}</code></p></div>
  <div class="kpis">
    ${kpi('Serving', data.serving.modelVersion ? `<b class="mono">${esc(data.serving.modelVersion)}</b>` : 'nothing', data.serving.cite ? `${cites.ref(data.serving.cite)} <small>${data.serving.cite.type === 'DeploymentRolledBack' ? 'restored' : 'deployed'}</small>` : '')}
    ${kpi('Latest drift', latest ? badge(latest.decision) : '—', latest ? `${cites.ref(latest.cite)} <small>${decided.filter((c) => c.verdict === 'drift').length} of ${decided.length} features</small>` : '')}
    ${kpi('Realized AUC', auc(realized, 'realized', data.quality.floors.realized), whose(realized))}
    ${kpi('Estimated AUC', auc(estimated, 'estimated', data.quality.floors.estimated), whose(estimated))}
    ${kpi('Deployments', `<b>${live}</b> live · <b class="${rollbacks > 0 ? 'below' : ''}">${rollbacks}</b> rollback${rollbacks === 1 ? '' : 's'}`, lastDeployment ? `${cites.ref(lastDeployment.cite)} <small>latest</small>` : '')}
    ${kpi('Ledger', `${data.ledger.head ? `head #${data.ledger.head.seq}` : 'empty'} <span class="verify ${v.status}">${v.status === 'verified' ? '✓ verified' : v.status === 'broken' ? '✗ broken' : 'not verified'}</span>`, `<small title="${esc(v.detail)}">${v.status === 'verified' ? 'chain + signatures OK' : esc(v.detail)}</small>`)}
  </div>
</header>`;
}

const CSS = `
:root{--ink:${COLORS.ink};--muted:${COLORS.muted};--line:#e2e8f0;--bg:#f1f5f9;--card:#fff;--drift:${COLORS.drift};--ok:${COLORS.good};--warn:${COLORS.warn};--info:${COLORS.info}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
main{max-width:1180px;margin:0 auto;padding:0 24px 48px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono","Liberation Mono",monospace}
code,b.mono,td.mono{font-size:.92em}
h1{font-size:26px;margin:2px 0 4px;letter-spacing:-.01em}
h2{font-size:19px;margin:0 0 4px}
h3{font-size:16px;margin:0}
h4{font-size:14px;margin:0;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
section{background:var(--card);border-radius:14px;box-shadow:0 1px 2px rgba(15,23,42,.06),0 1px 8px rgba(15,23,42,.04);padding:22px 26px;margin:18px 0}
.lede{color:var(--muted);margin:0 0 16px;max-width:900px}
header.top{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-end;justify-content:space-between;padding:28px 0 8px}
.eyebrow{text-transform:uppercase;font-size:11px;letter-spacing:.12em;color:var(--muted);font-weight:700}
.stage{font-size:13px;vertical-align:middle;background:#0f172a;color:#fff;border-radius:6px;padding:2px 8px;margin-left:6px;font-weight:600}
.sub{display:block;color:var(--muted);margin:0;font-size:13px}
.kpis{display:grid;grid-template-columns:repeat(6,minmax(0,1fr));gap:10px;width:100%}
.kpi{background:var(--card);border-radius:12px;padding:10px 14px;box-shadow:0 1px 2px rgba(15,23,42,.06);display:flex;flex-direction:column;align-items:flex-start;gap:3px;min-width:0}
.kpi .v{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:100%;min-height:24px;display:flex;align-items:center;gap:6px}
.kpi .foot{display:flex;align-items:baseline;gap:6px;max-width:100%;min-width:0}
.kpi .foot small{color:var(--muted);font-size:11px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;min-width:0}
.kpi a.cite{margin-left:0}
.kpi .k{font-size:11px;text-transform:uppercase;letter-spacing:.08em;color:var(--muted);font-weight:600}
.kpi .v{font-size:15px}
nav{display:flex;gap:6px;margin:10px 0 0}
nav a{color:var(--ink);text-decoration:none;background:#e2e8f0;border-radius:999px;padding:4px 12px;font-size:13px}
nav a:hover{background:#cbd5e1}
a.cite{font:600 11.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:var(--info);text-decoration:none;background:#eff6ff;border-radius:5px;padding:1px 5px;margin-left:4px;white-space:nowrap}
a.cite:hover{background:#dbeafe}
.badge{display:inline-block;border-radius:999px;padding:2px 10px;font-size:12px;font-weight:700;white-space:nowrap}
.badge.drift{background:#fee2e2;color:#b91c1c}
.badge.no-drift{background:#dcfce7;color:#15803d}
.badge.insufficient-data{background:#f1f5f9;color:#475569}
.pill{font-size:11px;font-weight:600;border-radius:999px;padding:2px 8px;background:#f1f5f9;color:var(--muted);vertical-align:middle}
.pill.serving{background:#dbeafe;color:#1d4ed8}
.verify{font-size:12px;font-weight:700;margin-left:4px}
.verify.verified{color:var(--ok)}.verify.broken{color:var(--drift)}.verify.not-checked{color:var(--muted)}
.below{color:var(--drift);font-weight:700}
.report{margin-top:8px}
.report+.report{margin-top:28px;padding-top:20px;border-top:1px solid var(--line)}
details.report>summary{list-style:none;cursor:pointer}
details.report>summary::-webkit-details-marker{display:none}
details.report>summary .report-head{margin-bottom:0}
details.report>summary h3::before{content:"▸ ";color:var(--muted)}
details.report[open]>summary h3::before{content:"▾ "}
details.report[open]>summary .report-head{margin-bottom:14px}
.report-head{display:flex;justify-content:space-between;align-items:center;gap:16px;flex-wrap:wrap;margin-bottom:14px}
.dataset-drift{display:flex;align-items:center;gap:12px}
.share{display:flex;flex-direction:column;gap:4px;font-size:12px;color:var(--muted)}
.share .bar{display:block;position:relative;width:260px;height:8px;background:#e2e8f0;border-radius:999px;overflow:visible}
.share .bar span{position:absolute;left:0;top:0;bottom:0;border-radius:999px;background:var(--ok)}
.share .bar span.drift{background:var(--drift)}
.share .bar span.insufficient-data{background:#94a3b8}
.share .bar i{position:absolute;top:-4px;bottom:-4px;width:2px;background:var(--ink)}
.features{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px}
.feature{border:1px solid var(--line);border-radius:12px;padding:14px 16px 10px;border-top:4px solid #cbd5e1}
.feature.drift{border-top-color:var(--drift)}
.feature.no-drift{border-top-color:var(--ok)}
.feature header{display:flex;justify-content:space-between;align-items:center;margin-bottom:6px}
.feature header .right{display:flex;align-items:center;gap:8px}
.feature .role{font:600 11px ui-sans-serif,system-ui,sans-serif;color:var(--muted);margin-left:6px}
.chart svg{display:block;width:100%;height:auto}
.no-chart{height:120px;display:flex;align-items:center;justify-content:center;color:var(--muted);background:#f8fafc;border-radius:8px;font-size:13px;text-align:center;padding:12px}
.legend{display:flex;align-items:center;gap:6px;font-size:12px;color:var(--muted);margin:2px 0 8px;flex-wrap:wrap}
.legend .sw{display:inline-block;width:11px;height:11px;border-radius:3px;margin-left:8px}
.legend .sw:first-child{margin-left:0}
.sw.ref{background:${COLORS.reference};opacity:.8}.sw.cur{background:${COLORS.current};opacity:.7}.sw.cur-drift{background:${COLORS.drift};opacity:.7}
.legend .note{margin-left:auto;font-style:italic}
dl.stats{display:grid;grid-template-columns:1.1fr 1.2fr 1.1fr 1fr;gap:6px 12px;margin:0;font-size:12.5px}
dl.stats dt{color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.06em}
dl.stats dd{margin:0;font-weight:600}
dl.stats small{font-weight:400;color:var(--muted);margin-left:6px}
.detail{font-size:12px;color:var(--muted);margin:8px 0 0}
.warn-note{background:#fffbeb;border:1px solid #fde68a;color:#92400e;border-radius:8px;padding:8px 12px;font-size:13px}
.card.chart-card{border:1px solid var(--line);border-radius:12px;padding:10px;overflow-x:auto}
.chart-card svg{display:block;width:100%;height:auto}
svg text.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
svg a.mark-link{cursor:pointer}
svg a.mark-link:hover .mark,svg a.mark-link:hover .point{stroke:${COLORS.ink}}
table.facts{border-collapse:collapse;width:100%;margin-top:14px;font-size:13px}
table.facts th{text-align:left;font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);padding:6px 8px}
table.facts td{border-bottom:1px solid #f1f5f9;padding:6px 8px;vertical-align:top}
table.facts .num{text-align:right;font-variant-numeric:tabular-nums}
table.facts .nowrap{white-space:nowrap}
table.events td{font-size:12.5px}
table.events tr:target{background:#fef9c3}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:6px}
.tone{display:inline-block;width:8px;height:8px;border-radius:2px;margin-right:6px;background:var(--info)}
.tone.good{background:var(--ok)}.tone.bad{background:var(--drift)}.tone.warn{background:var(--warn)}
.more{color:var(--muted);font-size:12px}
details.table{margin-top:12px}
details.table>summary{cursor:pointer;color:var(--info);font-size:13px;font-weight:600}
@media (max-width:1000px){.kpis{grid-template-columns:repeat(3,minmax(0,1fr))}}
.empty{background:#f8fafc;border:1px dashed #cbd5e1;border-radius:10px;padding:18px;color:var(--muted);margin:0}
.gaps{color:#b91c1c;font-size:13px}
footer.page{color:var(--muted);font-size:12px;text-align:center;margin-top:8px}
@media (max-width:900px){.features{grid-template-columns:1fr}dl.stats{grid-template-columns:repeat(2,minmax(0,1fr))}}
@media print{body{background:#fff}section{box-shadow:none;border:1px solid var(--line);break-inside:avoid}}
`;

/** The whole page for `data`. */
export function renderReportHtml(data: ReportData): string {
  const cites = new CitationRegistry();
  const colorOf = versionPalette(data);
  // Sections first: the list of cited events at the end is what they cited.
  const sections = [
    driftSection(data, cites),
    qualitySection(data, cites, colorOf),
    timelineSection(data, cites, colorOf),
    lineageSection(data, cites),
  ];
  const top = header(data, cites);
  const events = eventsSection(cites);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="generator" content="mlops report">
<title>${esc(`${data.useCase} (${data.stage}) model report — ${shortTime(data.generatedAt)} UTC`)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
${top}
<nav><a href="#drift">Drift</a><a href="#quality">Quality</a><a href="#timeline">Timeline</a><a href="#lineage">Lineage</a><a href="#events">Events</a></nav>
${sections.join('\n')}
${events}
<footer class="page">Generated by <code>mlops report ${esc(data.useCase)} --stage ${esc(data.stage)}</code> from the lineage ledger and the monitor's stored reports. Self-contained: no script, nothing fetched.</footer>
</main>
</body>
</html>
`;
}
