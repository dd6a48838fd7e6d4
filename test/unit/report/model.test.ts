/**
 * How the report is assembled from ledger facts: which monitoring reports are drawn, the charts of
 * stored distributions (old and new), the timeline and the quality points, each with its event.
 */
import { describe, expect, it } from 'vitest';
import { distributionChart, reportData, reportsToDraw } from '../../../infra/report/model.ts';
import { UseCaseSchema } from '../../../shared/config/use-case.ts';
import type { LedgerRecord, MonitoringReport } from '../../../shared/ledger/events.ts';
import { ofType } from '../../../shared/ledger/queries.ts';
import demo from '../../../use-cases/flight-delay.ts';
import { ENDPOINT, sampleHistory, t } from '../../support/ledger-history.ts';
import { chained, cite } from './fixtures.ts';

const useCase = UseCaseSchema.parse(demo);

function report(seq: number, modelVersion: string, end: number): LedgerRecord<MonitoringReport> {
  return {
    chain: 'main',
    seq,
    prevHash: '0'.repeat(64),
    hash: String(seq).padStart(64, '0'),
    event: {
      type: 'MonitoringReport',
      eventId: `monitor/${modelVersion}/${end}`,
      actor: 'monitor/schedule',
      time: t(end + 0.5),
      useCase: 'flight-delay',
      modelVersion,
      endpointName: ENDPOINT,
      window: { start: t(end - 24), end: t(end) },
      sampleSize: 500,
      driftedShare: 0,
      decision: 'no-drift',
      features: [],
    },
  };
}

describe('distributionChart', () => {
  it('draws common bins as shares of each sample', () => {
    // Act
    const chart = distributionChart({
      edges: [1],
      reference: [0.5, 0.5],
      current: [0.5, 0.5],
      bins: { edges: [0, 1, 2], reference: [30, 10], current: [1, 3] },
    });
    // Assess
    expect(chart).toEqual({
      kind: 'histogram',
      edges: [0, 1, 2],
      reference: [0.75, 0.25],
      current: [0.25, 0.75],
    });
  });

  it('falls back to the training deciles for a report written before common bins, with open-ended labels', () => {
    // Act
    const chart = distributionChart({
      edges: [10, 20.25],
      reference: [0.3, 0.4, 0.3],
      current: [0.1, 0.2, 0.7],
    });
    // Assess
    expect(chart).toMatchObject({
      kind: 'bars',
      labels: ['≤ 10', '10–20.3', '> 20.3'],
      current: [0.1, 0.2, 0.7],
    });
  });

  it('keeps the most frequent categories on either side and pools the rest into one bar', () => {
    // Prepare: 20 reference categories; the window brings a new one in force.
    const reference = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`A${i}`, 20 - i]));
    const current = { A0: 5, NEW: 50, __other__: 5 };
    // Act
    const chart = distributionChart({ reference, current }, 6);
    // Assess
    if (chart.kind !== 'bars') throw new Error('categories are bars');
    expect(chart.labels).toHaveLength(6);
    expect(chart.labels).toContain('NEW');
    expect(chart.labels.at(-1)).toMatch(/^\d+ more$/);
    expect(chart.reference.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(chart.current.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(chart.note).toMatch(/rarer categories pooled/);
  });
});

describe('reportsToDraw', () => {
  it("draws the serving version's latest report, and the other versions of that same window", () => {
    // Prepare
    const reports = [
      report(1, 'v1', 24),
      report(2, 'v2', 24),
      report(3, 'v1', 48),
      report(4, 'v2', 48),
      report(5, 'v3', 72),
    ];
    // Act
    const drawn = reportsToDraw(reports, 'v2');
    // Assess
    expect(drawn.map((r) => r.seq)).toEqual([4, 3]);
  });

  it('draws the latest window when nothing serves, and nothing without reports', () => {
    // Assess
    expect(reportsToDraw([report(1, 'v1', 24), report(2, 'v2', 48)], null).map((r) => r.seq)).toEqual([2]);
    expect(reportsToDraw([], 'v1')).toEqual([]);
  });
});

describe('reportData', () => {
  const records = chained(sampleHistory());
  const facts = {
    useCase,
    stage: 'prod',
    endpointName: ENDPOINT,
    generatedAt: t(120),
    ledger: {
      table: 'ledger',
      chain: 'main',
      verification: { status: 'not-checked' as const, detail: 'no key' },
    },
    endpointRecords: records.filter((r) => (r.event as { endpointName?: string }).endpointName === ENDPOINT),
    served: {
      endpointName: ENDPOINT,
      at: t(120),
      modelVersion: 'flight-delay-v1',
      decidedBy: cite('dep-2-rollback'),
    },
    provenances: [],
    stored: new Map([['mon-1', { error: 'NoSuchKey: The specified key does not exist.' }]]),
  };

  it('puts deployments, drift and incidents on the timeline, each with its event', () => {
    // Act
    const { timeline } = reportData(facts);
    // Assess
    expect(timeline.items.map((i) => [i.cite.eventId, i.lane])).toEqual([
      ['dep-1-start', 'deployment'],
      ['dep-1-done', 'deployment'],
      ['drift-1', 'incident'],
      ['inc-1', 'incident'],
      ['dep-2-start', 'deployment'],
      ['dep-2-done', 'deployment'],
      ['dep-2-rollback', 'deployment'],
      ['inc-2', 'incident'],
    ]);
    expect(timeline.items[0]?.label).toBe('deploy v1 (canary 10%)');
    expect(timeline.serving.map((s) => [s.modelVersion, s.from, s.to])).toEqual([
      ['flight-delay-v1', t(10), t(60)],
      ['flight-delay-v2', t(60), t(70)],
      ['flight-delay-v1', t(70), undefined],
    ]);
  });

  it('names the alarms of a rollback', () => {
    // Prepare
    const rollback = records.find((r) => r.event.eventId === 'dep-2-rollback');
    if (rollback?.event.type !== 'DeploymentRolledBack') throw new Error('the history has the rollback');
    const withAlarms = {
      ...rollback,
      event: { ...rollback.event, alarms: ['ep-green-5xx', 'ep-green-latency-p99'] },
    };
    // Act
    const { timeline } = reportData({
      ...facts,
      endpointRecords: facts.endpointRecords.map((r) => (r.seq === rollback.seq ? withAlarms : r)),
    });
    // Assess
    const item = timeline.items.find((i) => i.cite.eventId === 'dep-2-rollback');
    expect(item?.label).toBe('rollback v2 (2 alarms)');
    expect(item?.detail).toContain('alarms: ep-green-5xx, ep-green-latency-p99');
  });

  it("plots the realized AUC of each report, against the use case's floors", () => {
    // Act
    const { quality } = reportData(facts);
    // Assess
    expect(quality.points).toEqual([
      { modelVersion: 'flight-delay-v1', windowEnd: t(30), realized: 0.64, cite: cite('mon-1') },
    ]);
    expect(quality.floors).toEqual({ realized: useCase.gates.minAuc, estimated: useCase.gates.minAuc });
  });

  it('says why a report has no charts when its full report cannot be read', () => {
    // Act
    const { drift } = reportData(facts);
    // Assess
    expect(drift.reports).toHaveLength(1);
    expect(drift.reports[0]?.chartsNote).toBe(
      'the report names no full report in S3: no distributions to draw',
    );
    expect(drift.reports[0]?.checks.map((c) => [c.name, c.verdict])).toEqual([
      ['hour', 'drift'],
      ['distance', 'no-drift'],
    ]);
    // With a reportUri, the read's error is the reason.
    const withUri = facts.endpointRecords.map((r) =>
      r.event.type === 'MonitoringReport'
        ? { ...r, event: { ...r.event, reportUri: 's3://logs/r.json' } }
        : r,
    );
    const read = reportData({ ...facts, endpointRecords: withUri }).drift.reports[0];
    expect(read?.chartsNote).toBe(
      'the full report s3://logs/r.json could not be read: NoSuchKey: The specified key does not exist.',
    );
  });

  it('leaves the lineage empty, naming the gap, when the serving version is not registered', () => {
    // Act
    const { lineage } = reportData(facts);
    // Assess
    expect(lineage).toEqual({
      modelVersion: 'flight-delay-v1',
      nodes: [],
      edges: [],
      gaps: ['model version flight-delay-v1 is not registered in the ledger'],
    });
    expect(ofType(facts.endpointRecords, 'MonitoringReport')).toHaveLength(1);
  });
});
