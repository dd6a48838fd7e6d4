/**
 * What the HTML report shows, as plain data, and how it is assembled from ledger facts. Every fact
 * carries the ledger event it comes from (a {@link Citation}); `infra/ops/report.ts` reads the
 * facts, `html.ts` draws them. Everything here is pure.
 */
import type { UseCase } from '../../shared/config/use-case.ts';
import type {
  DriftCheckRecord,
  LedgerEventOf,
  LedgerEventType,
  LedgerRecord,
  MonitoringReport,
} from '../../shared/ledger/events.ts';
import { type EventRef, ofType, type Provenance, refOf, type ServedAt } from '../../shared/ledger/queries.ts';
import type {
  CategoricalDistribution,
  NumericDistribution,
  ReportDistributions,
} from '../../shared/monitoring/report.ts';

/** Where a fact comes from: the ledger event that states it (its position, id, type and hash). */
export type Citation = EventRef;

/** A distribution pair as drawn: shares of the reference and of the current window. */
export type DistributionChart =
  | {
      /** Numeric: bars on `edges` (n + 1 bounds), heights are shares of each sample. */
      readonly kind: 'histogram';
      readonly edges: readonly number[];
      readonly reference: readonly number[];
      readonly current: readonly number[];
    }
  | {
      /** Categories, or the baseline's decile bins of a report written before common bins. */
      readonly kind: 'bars';
      readonly labels: readonly string[];
      readonly reference: readonly number[];
      readonly current: readonly number[];
      /** What the bars leave out or how they were binned, in words. */
      readonly note?: string;
    };

/** One feature's (or the score's) drift check, with its distributions when the full report has them. */
export interface DriftCheckView {
  readonly name: string;
  readonly role: 'feature' | 'prediction';
  readonly test: DriftCheckRecord['test'];
  readonly statistic: number | null;
  readonly pValue?: number | null;
  readonly threshold?: number;
  readonly verdict: 'drift' | 'no-drift' | 'insufficient-data';
  readonly chosenBy?: DriftCheckRecord['chosenBy'];
  readonly referenceSize?: number;
  readonly currentSize?: number;
  readonly detail?: string;
  readonly chart?: DistributionChart;
}

/** One MonitoringReport, drawn feature by feature. */
export interface DriftReportView {
  readonly cite: Citation;
  readonly modelVersion: string;
  /** Whether this is the report of the version serving now. */
  readonly serving: boolean;
  readonly window: { readonly start: string; readonly end: string };
  readonly sampleSize: number;
  readonly decision: MonitoringReport['decision'];
  readonly driftedShare: number;
  readonly threshold?: number;
  readonly reportUri?: string;
  readonly checks: readonly DriftCheckView[];
  /** Why the charts are missing, when the full report could not be read. */
  readonly chartsNote?: string;
}

/** One window's quality of one version. */
export interface QualityPoint {
  readonly modelVersion: string;
  readonly windowEnd: string;
  /** Realized AUC, from feedback. */
  readonly realized?: number;
  /** Estimated AUC (CBPE), from the scores alone. */
  readonly estimated?: number;
  readonly labeled?: number;
  readonly cite: Citation;
}

/** Realized and estimated AUC per window, against the use case's floors. */
export interface QualitySection {
  readonly points: readonly QualityPoint[];
  /** `monitoring.qualityFloor` (each defaults to `gates.minAuc`). */
  readonly floors: { readonly realized: number; readonly estimated: number };
}

/** A timeline row. */
export type TimelineLane = 'deployment' | 'approval' | 'retraining' | 'incident';

/** One event on the timeline. */
export interface TimelineItem {
  readonly time: string;
  readonly lane: TimelineLane;
  /** A few words, drawn next to the mark. */
  readonly label: string;
  /** The full sentence, in the table and the tooltip. */
  readonly detail: string;
  readonly tone: 'good' | 'bad' | 'warn' | 'info';
  readonly cite: Citation;
}

/** What the endpoint served from one deployment decision to the next. */
export interface ServingSpan {
  /** Null when nothing served (everything rolled back). */
  readonly modelVersion: string | null;
  readonly from: string;
  /** @default - still serving at the report's time */
  readonly to?: string;
  readonly cite: Citation;
}

export interface TimelineSection {
  readonly items: readonly TimelineItem[];
  readonly serving: readonly ServingSpan[];
}

/** Kinds of lineage node, in the order the graph lays out their columns. */
export const LINEAGE_KINDS = [
  'dataset',
  'trigger',
  'run',
  'model',
  'champion',
  'approval',
  'endpoint',
] as const;
export type LineageKind = (typeof LINEAGE_KINDS)[number];

/** One line of a node, with the event that states it when that is not the node's own. */
export interface LineageDetail {
  readonly text: string;
  readonly cite?: Citation;
}

export interface LineageNode {
  readonly id: string;
  readonly kind: LineageKind;
  /** What the node is: "Dataset", "Training run"... */
  readonly title: string;
  /** Which one: a hash, a run ID, a version. */
  readonly label: string;
  readonly details: readonly LineageDetail[];
  /** Absent only for a node the ledger should hold but does not (drawn as missing). */
  readonly cite?: Citation;
}

export interface LineageEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  /** A reference rather than a derivation (the champion a candidate was compared with). */
  readonly dashed?: boolean;
}

/** Where the serving model comes from. */
export interface LineageSection {
  readonly modelVersion: string | null;
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly LineageEdge[];
  /** Facts the ledger should hold but does not. */
  readonly gaps: readonly string[];
}

/** The ledger the report was read from. */
export interface LedgerStatus {
  readonly table: string;
  readonly chain: string;
  readonly head?: { readonly seq: number; readonly hash: string };
  readonly verification: {
    readonly status: 'verified' | 'broken' | 'not-checked';
    /** A sentence: the events checked, the first bad link, or why it was not checked. */
    readonly detail: string;
  };
}

/** Everything one report shows. */
export interface ReportData {
  readonly useCase: string;
  readonly stage: string;
  readonly endpointName: string;
  readonly generatedAt: string;
  readonly ledger: LedgerStatus;
  readonly serving: { readonly modelVersion: string | null; readonly cite?: Citation };
  readonly drift: { readonly reports: readonly DriftReportView[] };
  readonly quality: QualitySection;
  readonly timeline: TimelineSection;
  readonly lineage: LineageSection;
}

/** The full report of a MonitoringReport as read from S3: its distributions, or why there are none. */
export type StoredDistributions =
  | { readonly distributions: ReportDistributions }
  | { readonly error: string };

/** What the report is assembled from, as `infra/ops/report.ts` reads it. */
export interface ReportFacts {
  readonly useCase: UseCase;
  readonly stage: string;
  readonly endpointName: string;
  readonly generatedAt: string;
  readonly ledger: LedgerStatus;
  /** Every record on the endpoint (byEndpoint) of this use case, in time order. */
  readonly endpointRecords: readonly LedgerRecord[];
  /** What served the endpoint at `generatedAt`. */
  readonly served: ServedAt;
  /** The provenance of each version the endpoint saw. */
  readonly provenances: readonly Provenance[];
  /** The full reports read from S3, by MonitoringReport eventId (only those drawn). */
  readonly stored: ReadonlyMap<string, StoredDistributions>;
}

/** Categories drawn per chart; the rest are pooled into one bar. */
export const MAX_CATEGORY_BARS = 12;

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const shares = (counts: readonly number[]) => {
  const total = sum(counts);
  return counts.map((c) => (total === 0 ? 0 : c / total));
};

/** A bound of a decile bin, short. */
function bound(x: number): string {
  return Number.isInteger(x) ? String(x) : Number(x.toPrecision(3)).toString();
}

function categoryChart(d: CategoricalDistribution, maxBars: number): DistributionChart {
  const names = [...new Set([...Object.keys(d.reference), ...Object.keys(d.current)])];
  const refTotal = sum(Object.values(d.reference));
  const curTotal = sum(Object.values(d.current));
  const share = (counts: Readonly<Record<string, number>>, total: number, k: string) =>
    total === 0 ? 0 : (counts[k] ?? 0) / total;
  const ranked = names
    .map((k) => ({ k, ref: share(d.reference, refTotal, k), cur: share(d.current, curTotal, k) }))
    .sort((a, b) => Math.max(b.ref, b.cur) - Math.max(a.ref, a.cur) || a.k.localeCompare(b.k));
  const shown = ranked.length > maxBars ? ranked.slice(0, maxBars - 1) : ranked;
  const rest = ranked.slice(shown.length);
  shown.sort((a, b) => b.ref - a.ref || b.cur - a.cur || a.k.localeCompare(b.k));
  const label = (k: string) => (k === '__other__' ? 'other' : k);
  return {
    kind: 'bars',
    labels: [...shown.map((c) => label(c.k)), ...(rest.length > 0 ? [`${rest.length} more`] : [])],
    reference: [...shown.map((c) => c.ref), ...(rest.length > 0 ? [sum(rest.map((c) => c.ref))] : [])],
    current: [...shown.map((c) => c.cur), ...(rest.length > 0 ? [sum(rest.map((c) => c.cur))] : [])],
    ...(rest.length > 0 ? { note: `${rest.length} rarer categories pooled in the last bar` } : {}),
  };
}

/** The chart of one stored distribution: a histogram on common bins, else bars. */
export function distributionChart(
  d: NumericDistribution | CategoricalDistribution,
  maxBars: number = MAX_CATEGORY_BARS,
): DistributionChart {
  if (!('edges' in d)) return categoryChart(d, maxBars);
  if (d.bins) {
    return {
      kind: 'histogram',
      edges: d.bins.edges,
      reference: shares(d.bins.reference),
      current: shares(d.bins.current),
    };
  }
  // Written before common bins: the baseline's decile bins, open-ended at both ends.
  const e = d.edges;
  const labels = Array.from({ length: e.length + 1 }, (_, i) =>
    i === 0
      ? `≤ ${bound(e[0] ?? 0)}`
      : i === e.length
        ? `> ${bound(e[i - 1] ?? 0)}`
        : `${bound(e[i - 1] ?? 0)}–${bound(e[i] ?? 0)}`,
  );
  return {
    kind: 'bars',
    labels,
    reference: d.reference,
    current: d.current,
    note: 'on the training deciles (this report predates common bins)',
  };
}

function checkView(
  c: DriftCheckRecord,
  role: DriftCheckView['role'],
  stored: StoredDistributions | undefined,
): DriftCheckView {
  const d = stored && 'distributions' in stored ? stored.distributions[c.name] : undefined;
  return {
    name: c.name,
    role,
    test: c.test,
    statistic: c.statistic,
    ...(c.pValue === undefined ? {} : { pValue: c.pValue }),
    ...(c.threshold === undefined ? {} : { threshold: c.threshold }),
    verdict: c.verdict ?? (c.drifted ? 'drift' : 'no-drift'),
    ...(c.chosenBy ? { chosenBy: c.chosenBy } : {}),
    ...(c.referenceSize === undefined ? {} : { referenceSize: c.referenceSize }),
    ...(c.currentSize === undefined ? {} : { currentSize: c.currentSize }),
    ...(c.detail ? { detail: c.detail } : {}),
    ...(d ? { chart: distributionChart(d) } : {}),
  };
}

/** The MonitoringReports drawn: the serving version's latest, and the others of that window. */
export function reportsToDraw(
  reports: readonly LedgerRecord<MonitoringReport>[],
  servingVersion: string | null,
): LedgerRecord<MonitoringReport>[] {
  const latest =
    reports.filter((r) => r.event.modelVersion === servingVersion).at(-1) ??
    [...reports].sort((a, b) => Date.parse(a.event.window.end) - Date.parse(b.event.window.end)).at(-1);
  if (!latest) return [];
  const sameWindow = reports.filter(
    (r) =>
      r.event.window.end === latest.event.window.end && r.event.modelVersion !== latest.event.modelVersion,
  );
  // One report per version of that window: the latest recorded.
  const others = [...new Map(sameWindow.map((r) => [r.event.modelVersion, r])).values()];
  return [latest, ...others];
}

function driftReportView(
  r: LedgerRecord<MonitoringReport>,
  servingVersion: string | null,
  stored: StoredDistributions | undefined,
): DriftReportView {
  const e = r.event;
  return {
    cite: refOf(r),
    modelVersion: e.modelVersion,
    serving: e.modelVersion === servingVersion,
    window: e.window,
    sampleSize: e.sampleSize,
    decision: e.decision,
    driftedShare: e.driftedShare,
    ...(e.threshold === undefined ? {} : { threshold: e.threshold }),
    ...(e.reportUri ? { reportUri: e.reportUri } : {}),
    checks: [
      ...e.features.map((c) => checkView(c, 'feature', stored)),
      ...(e.prediction ? [checkView(e.prediction, 'prediction', stored)] : []),
    ],
    ...(!e.reportUri
      ? { chartsNote: 'the report names no full report in S3: no distributions to draw' }
      : stored && 'error' in stored
        ? { chartsNote: `the full report ${e.reportUri} could not be read: ${stored.error}` }
        : {}),
  };
}

function qualityPoints(reports: readonly LedgerRecord<MonitoringReport>[]): QualityPoint[] {
  return reports
    .filter((r) => r.event.quality?.auc !== undefined || r.event.estimated?.auc !== undefined)
    .map((r) => ({
      modelVersion: r.event.modelVersion,
      windowEnd: r.event.window.end,
      ...(r.event.quality?.auc === undefined ? {} : { realized: r.event.quality.auc }),
      ...(r.event.estimated?.auc === undefined ? {} : { estimated: r.event.estimated.auc }),
      ...(r.event.labeled === undefined ? {} : { labeled: r.event.labeled }),
      cite: refOf(r),
    }))
    .sort((a, b) => Date.parse(a.windowEnd) - Date.parse(b.windowEnd) || a.cite.seq - b.cite.seq);
}

function uniqueBySeq(records: readonly LedgerRecord[]): LedgerRecord[] {
  const seen = new Map<string, LedgerRecord>();
  for (const r of records) seen.set(`${r.chain}/${r.seq}`, r);
  return [...seen.values()].sort(
    (a, b) => Date.parse(a.event.time) - Date.parse(b.event.time) || a.seq - b.seq,
  );
}

const TIMELINE_TYPES = new Set<LedgerEventType>([
  'DeploymentStarted',
  'DeploymentCompleted',
  'DeploymentRolledBack',
  'ApprovalRecorded',
  'RetrainingTriggered',
  'DriftDetected',
  'IncidentOpened',
]);

/** A version without its use case's prefix (`flight-delay-v3` → `v3`), for labels drawn small. */
function shortVersion(modelVersion: string, useCase: string): string {
  return modelVersion.startsWith(`${useCase}-`) ? modelVersion.slice(useCase.length + 1) : modelVersion;
}

function timelineItem(r: LedgerRecord): TimelineItem | undefined {
  const e = r.event;
  const at = { time: e.time, cite: refOf(r) };
  const v = (modelVersion: string) => shortVersion(modelVersion, e.useCase);
  switch (e.type) {
    case 'DeploymentStarted': {
      const canary =
        e.strategy.kind === 'canary'
          ? `canary ${e.strategy.canaryPercent ?? '?'}%${e.strategy.bakeMinutes === undefined ? '' : `, bake ${e.strategy.bakeMinutes} min`}`
          : 'all at once';
      return {
        ...at,
        lane: 'deployment',
        label: `deploy ${v(e.modelVersion)} (${e.strategy.kind === 'canary' ? `canary ${e.strategy.canaryPercent ?? '?'}%` : 'all at once'})`,
        detail: `Deployment ${e.deploymentId} of ${e.modelVersion} started (${canary})${e.previousModelVersion ? `, replacing ${e.previousModelVersion}` : ''}${e.trigger ? `, trigger ${e.trigger}` : ''}${e.reason ? `: ${e.reason}` : ''}`,
        tone: 'info',
      };
    }
    case 'DeploymentCompleted':
      return {
        ...at,
        lane: 'deployment',
        label: `${v(e.modelVersion)} live`,
        detail: `Deployment ${e.deploymentId} completed: ${e.modelVersion} serves ${e.endpointName}${e.reason ? ` (${e.reason})` : ''}`,
        tone: 'good',
      };
    case 'DeploymentRolledBack':
      return {
        ...at,
        lane: 'deployment',
        label: `rollback ${v(e.modelVersion)}${e.alarms && e.alarms.length > 0 ? ` (${e.alarms.length} alarm${e.alarms.length === 1 ? '' : 's'})` : ''}`,
        detail: `Rolled back ${e.modelVersion}${e.restoredModelVersion ? ` to ${e.restoredModelVersion}` : ' (nothing restored)'}: ${e.reason}${e.alarms && e.alarms.length > 0 ? `; alarms: ${e.alarms.join(', ')}` : ''}`,
        tone: 'bad',
      };
    case 'ApprovalRecorded':
      return {
        ...at,
        lane: 'approval',
        label: `${e.decision} ${v(e.modelVersion)}`,
        detail: `${e.modelVersion} ${e.decision} by ${e.approver}: ${e.reason}`,
        tone: e.decision === 'approved' ? 'good' : 'bad',
      };
    case 'RetrainingTriggered':
      return {
        ...at,
        lane: 'retraining',
        label: `retrain (${e.trigger})`,
        detail: `Retraining triggered (${e.trigger}) from ${e.modelVersion}${e.runId ? `, run ${e.runId}` : ''}: ${e.reason}`,
        tone: 'warn',
      };
    case 'DriftDetected':
      return {
        ...at,
        lane: 'incident',
        label: `drift: ${e.driftedFeatures.length} feature${e.driftedFeatures.length === 1 ? '' : 's'}`,
        detail: `Drift on ${e.modelVersion} in the window ${when(e.window.start)} → ${when(e.window.end)}: ${e.driftedFeatures.join(', ')} (drifted share ${e.driftedShare.toFixed(2)} ≥ ${e.threshold})`,
        tone: 'warn',
      };
    case 'IncidentOpened':
      return {
        ...at,
        lane: 'incident',
        label: `incident (${e.severity})`,
        detail: `Incident ${e.incidentId} (${e.severity}) on ${e.modelVersion}: ${e.summary}`,
        tone: e.severity === 'low' ? 'warn' : 'bad',
      };
    default:
      return undefined;
  }
}

function servingSpans(endpointRecords: readonly LedgerRecord[]): ServingSpan[] {
  const decisions = endpointRecords.filter(
    (r): r is LedgerRecord<LedgerEventOf<'DeploymentCompleted' | 'DeploymentRolledBack'>> =>
      r.event.type === 'DeploymentCompleted' || r.event.type === 'DeploymentRolledBack',
  );
  return decisions.map((r, i) => {
    const next = decisions[i + 1];
    const e = r.event;
    return {
      modelVersion: e.type === 'DeploymentCompleted' ? e.modelVersion : (e.restoredModelVersion ?? null),
      from: e.time,
      ...(next ? { to: next.event.time } : {}),
      cite: refOf(r),
    };
  });
}

const shortHash = (h: string) => h.slice(0, 12);
/** `2026-05-08 02:00`, UTC. */
const when = (iso: string) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
const fmt = (x: number) => (Number.isInteger(x) ? x.toLocaleString('en-US') : x.toFixed(3));

function lineage(facts: ReportFacts, allRecords: readonly LedgerRecord[]): LineageSection {
  const deployments = ofType(facts.endpointRecords, 'DeploymentStarted');
  const modelVersion = facts.served.modelVersion ?? deployments.at(-1)?.event.modelVersion ?? null;
  const p = facts.provenances.find((x) => x.modelVersion === modelVersion);
  if (!modelVersion || !p) {
    return {
      modelVersion,
      nodes: [],
      edges: [],
      gaps: modelVersion ? [`model version ${modelVersion} is not registered in the ledger`] : [],
    };
  }
  const nodes: LineageNode[] = [];
  const edges: LineageEdge[] = [];
  const ds = p.dataset;
  nodes.push({
    id: 'dataset',
    kind: 'dataset',
    title: 'Dataset',
    label: shortHash(ds.hash),
    details: [
      ...(ds.rowCount === undefined ? [] : [{ text: `${fmt(ds.rowCount)} rows` }]),
      ...(ds.cutoff ? [{ text: `cutoff ${when(ds.cutoff)}` }] : []),
      { text: `${ds.objects.length} S3 object version${ds.objects.length === 1 ? '' : 's'}` },
    ],
    ...(ds.built ? { cite: ds.built } : {}),
  });
  const runCite = p.run.finished ?? p.run.started;
  nodes.push({
    id: 'run',
    kind: 'run',
    title: 'Training run',
    label: p.run.runId,
    details: [
      { text: `${p.run.status}${p.run.trigger ? ` · ${p.run.trigger}` : ''}` },
      ...(p.metrics?.auc === undefined ? [] : [{ text: `AUC ${p.metrics.auc.toFixed(3)}` }]),
      ...(p.manifest ? [{ text: `code ${p.manifest.codeVersion}` }] : []),
    ],
    ...(runCite ? { cite: runCite } : {}),
  });
  edges.push({ from: 'dataset', to: 'run', label: 'input' });
  const evaluation = p.evaluations.at(-1);
  nodes.push({
    id: 'model',
    kind: 'model',
    title: 'Model version',
    label: p.modelVersion,
    details: [
      ...(evaluation
        ? [
            {
              text: `gates ${evaluation.gates.filter((g) => g.passed).length}/${evaluation.gates.length} ${evaluation.passed ? 'passed' : 'failed'}`,
              cite: evaluation,
            },
            ...(evaluation.metrics.auc === undefined
              ? []
              : [{ text: `test AUC ${evaluation.metrics.auc.toFixed(3)}`, cite: evaluation }]),
          ]
        : []),
      { text: `at ${when(p.registered.time)}` },
    ],
    cite: p.registered,
  });
  edges.push({ from: 'run', to: 'model', label: 'output' });

  const trigger = ofType(allRecords, 'RetrainingTriggered')
    .filter((r) => r.event.runId === p.run.runId)
    .at(-1);
  if (trigger) {
    nodes.push({
      id: 'trigger',
      kind: 'trigger',
      title: 'Retraining trigger',
      label: trigger.event.trigger,
      details: [
        { text: `on ${trigger.event.modelVersion}` },
        ...(trigger.event.window ? [{ text: `until ${when(trigger.event.window.end)}` }] : []),
        { text: trigger.event.reason },
      ],
      cite: refOf(trigger),
    });
    edges.push({ from: 'trigger', to: 'run', label: 'started' });
  }

  const started = deployments.filter((r) => r.event.modelVersion === modelVersion).at(-1);
  const championVersion = evaluation?.champion?.modelVersion ?? started?.event.previousModelVersion;
  if (championVersion && championVersion !== modelVersion) {
    const champion = facts.provenances.find((x) => x.modelVersion === championVersion);
    const championCite = champion?.registered ?? (evaluation?.champion ? evaluation : undefined);
    const championAuc = evaluation?.champion?.metrics.auc;
    nodes.push({
      id: 'champion',
      kind: 'champion',
      title: 'Previous champion',
      label: championVersion,
      details: [
        ...(championAuc === undefined || !evaluation
          ? []
          : [{ text: `test AUC ${championAuc.toFixed(3)}`, cite: evaluation }]),
        ...(started?.event.previousModelVersion === championVersion
          ? [{ text: 'replaced', cite: refOf(started) }]
          : []),
      ],
      ...(championCite ? { cite: championCite } : {}),
    });
    edges.push({ from: 'champion', to: 'model', label: 'challenged', dashed: true });
    if (trigger?.event.modelVersion === championVersion) {
      edges.push({ from: 'champion', to: 'trigger', label: 'drifted' });
    }
  }

  const approval = p.approvals.at(-1);
  if (approval) {
    nodes.push({
      id: 'approval',
      kind: 'approval',
      title: 'Approval',
      label: approval.decision,
      details: [
        { text: `by ${approval.approver.split('/').at(-1) ?? approval.approver}` },
        { text: approval.reason },
      ],
      cite: approval,
    });
    edges.push({ from: 'model', to: 'approval', label: 'review' });
  }
  const decided = facts.served.modelVersion === modelVersion ? facts.served.decidedBy : undefined;
  const endpointCite = decided ?? (started ? refOf(started) : undefined);
  nodes.push({
    id: 'endpoint',
    kind: 'endpoint',
    title: 'Endpoint',
    label: facts.endpointName,
    details: [
      {
        text: facts.served.modelVersion === modelVersion ? 'serving now' : 'not serving now',
      },
      ...(decided ? [{ text: `since ${when(decided.time)}` }] : []),
      ...(started
        ? [
            {
              text:
                started.event.strategy.kind === 'canary'
                  ? `canary ${started.event.strategy.canaryPercent ?? '?'}% first`
                  : 'all at once',
              cite: refOf(started),
            },
          ]
        : []),
    ],
    ...(endpointCite ? { cite: endpointCite } : {}),
  });
  edges.push({ from: approval ? 'approval' : 'model', to: 'endpoint', label: 'deploy' });
  return { modelVersion, nodes, edges, gaps: p.gaps };
}

/** Whether a record is this use case's and, when it names an endpoint, about this endpoint. */
function onEndpoint(r: LedgerRecord, facts: ReportFacts): boolean {
  const endpoint = (r.event as { readonly endpointName?: string }).endpointName;
  return (
    r.event.useCase === facts.useCase.name && (endpoint === undefined || endpoint === facts.endpointName)
  );
}

/** Assembles the report from the facts read. */
export function reportData(facts: ReportFacts): ReportData {
  const servingVersion = facts.served.modelVersion;
  const reports = ofType(facts.endpointRecords, 'MonitoringReport');
  const drawn = reportsToDraw(reports, servingVersion);
  const allRecords = uniqueBySeq([...facts.endpointRecords, ...facts.provenances.flatMap((p) => p.records)]);
  const monitoring = facts.useCase.monitoring.qualityFloor;
  return {
    useCase: facts.useCase.name,
    stage: facts.stage,
    endpointName: facts.endpointName,
    generatedAt: facts.generatedAt,
    ledger: facts.ledger,
    serving: {
      modelVersion: servingVersion,
      ...(facts.served.decidedBy ? { cite: facts.served.decidedBy } : {}),
    },
    drift: {
      reports: drawn.map((r) => driftReportView(r, servingVersion, facts.stored.get(r.event.eventId))),
    },
    quality: {
      points: qualityPoints(reports),
      floors: {
        realized: monitoring.auc ?? facts.useCase.gates.minAuc,
        estimated: monitoring.estimatedAuc ?? facts.useCase.gates.minAuc,
      },
    },
    timeline: {
      items: allRecords
        .filter((r) => TIMELINE_TYPES.has(r.event.type) && onEndpoint(r, facts))
        .flatMap((r) => timelineItem(r) ?? []),
      serving: servingSpans(facts.endpointRecords),
    },
    lineage: lineage(facts, allRecords),
  };
}
