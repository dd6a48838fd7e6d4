/**
 * `mlops report` against DynamoDB Local (the ledger), s3rver (the monitor's full reports) and the
 * local KMS signing key: eleven days of a use case are recorded as the stack records them (the
 * real monitor writing its reports), the report is written through the function the CLI calls,
 * and the page is opened in headless Chromium to check that each section is drawn, that nothing
 * is fetched and that nothing fails.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gatherReport, type ReportSummary, summarize, writeReport } from '../../../infra/ops/report.ts';
import { renderReportHtml } from '../../../infra/report/html.ts';
import { appendEvent } from '../../../shared/ledger/append.ts';
import { CHROMIUM_PATH, haveChromium, launchChromium } from '../../support/chromium.ts';
import { type Emulators, startEmulators } from '../../support/emulators.ts';
import {
  REPORT_ENDPOINT,
  REPORT_NOW,
  REPORT_STAGE,
  REPORT_USE_CASE,
  type ReportScenario,
  recordReportScenario,
  scenarioTarget,
  V2,
  V3,
} from '../../support/report-scenario.ts';

const CHROMIUM = CHROMIUM_PATH;
const HAVE_CHROMIUM = haveChromium();

let emu: Emulators;
let scenario: ReportScenario;
let summary: ReportSummary;
let html: string;
let dir: string;

beforeAll(async () => {
  emu = await startEmulators();
  scenario = await recordReportScenario(emu, 'report-1');
  dir = mkdtempSync(join(tmpdir(), 'mlops-report-'));
  summary = await writeReport(
    scenarioTarget(emu, scenario.ledgerTable),
    REPORT_USE_CASE,
    REPORT_STAGE,
    join(dir, 'nested', 'report.html'),
    { now: () => new Date(REPORT_NOW) },
  );
  html = readFileSync(summary.path, 'utf8');
}, 600_000);

afterAll(async () => {
  await emu?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the report of the recorded history', () => {
  it('serves v2 after the rollback of v3, and draws the latest window of v2 with v3’s canary beside it', () => {
    // Assess
    expect(summary.servingVersion).toBe(V2);
    expect(summary.sections.drift.reports).toBe(2);
    // Seven features and the score, per version; every one with its distributions.
    expect(summary.sections.drift.checks).toBe(16);
    expect(summary.sections.drift.charts).toBe(16);
    expect(html.indexOf(`data-report="monitor/${REPORT_USE_CASE}/${V2}/`)).toBeLessThan(
      html.indexOf(`data-report="monitor/${REPORT_USE_CASE}/${V3}/`),
    );
  });

  it('plots every window with a quality figure, for each version that served', () => {
    // Assess: 10 daily windows of v1 (with May 8's morning), 4 of v2, v3's canary.
    expect(summary.sections.quality.points).toBe(7 + 4 + 1);
  });

  it('puts the deployments, approvals, retraining, drift and incidents on the timeline', () => {
    // Assess: 3 starts, 2 completions, 1 rollback, 3 approvals, 1 trigger, 1 drift, 2 incidents.
    expect(summary.sections.timeline.events).toBe(13);
    expect(summary.sections.timeline.servingSpans).toBe(3);
    expect(html).toContain(
      'alarms: mlops-dev-flight-delay-green-5xx, mlops-dev-flight-delay-green-latency-p99',
    );
  });

  it('traces v2 to its dataset, its drift-triggered run, the champion it beat and its approval', () => {
    // Assess
    expect(summary.sections.lineage).toEqual({ nodes: 7, edges: 7 });
    expect(html).toContain(scenario.retrainingRunId);
  });

  it('verifies the chain it reads', () => {
    // Assess
    expect(summary.ledger.verification.status).toBe('verified');
    expect(summary.ledger.verification.detail).toBe(`${summary.ledger.head?.seq} events chained and signed`);
  });

  it('links every cited event to its row in the list of events', () => {
    // Act
    const cited = new Set([...html.matchAll(/data-seq="(\d+)"/g)].map((m) => m[1]));
    const rows = new Set([...html.matchAll(/<tr id="ev-(\d+)"/g)].map((m) => m[1]));
    // Assess
    expect(cited.size).toBeGreaterThan(20);
    expect(rows).toEqual(cited);
  });
});

describe('with events of another chain in the same table', () => {
  const OTHER = 'canary-lab';

  beforeAll(async () => {
    // Prepare: seq 1 of this chain collides with seq 1 of main, and it deploys v3 last.
    await appendEvent(
      { ...emu.ledger(scenario.ledgerTable), chain: OTHER },
      {
        useCase: REPORT_USE_CASE,
        type: 'DeploymentCompleted',
        eventId: 'deploy-done/other-chain',
        actor: 'pipeline/Deploy',
        time: '2026-05-11T23:00:00.000Z',
        deploymentId: 'other-chain',
        modelVersion: V3,
        endpointName: REPORT_ENDPOINT,
      },
    );
  }, 60_000);

  const report = (chain?: string) =>
    gatherReport(scenarioTarget(emu, scenario.ledgerTable), REPORT_USE_CASE, REPORT_STAGE, {
      now: () => new Date(REPORT_NOW),
      verify: false,
      ...(chain ? { chain } : {}),
    });

  it('leaves the report of main as it was: none of the other chain’s facts', async () => {
    // Act
    const main = summarize(await report(), summary.path);
    // Assess
    expect(main.servingVersion).toBe(V2);
    expect(main.sections).toEqual(summary.sections);
    expect(main.ledger.chain).toBe('main');
  });

  it('reads only the chain asked for, and cites its events at their seq on that chain', async () => {
    // Act
    const data = await report(OTHER);
    const other = summarize(data, summary.path);
    // Assess
    expect(other.servingVersion).toBe(V3);
    expect(other.ledger).toMatchObject({ chain: OTHER, head: { seq: 1 } });
    expect(other.sections.timeline.events).toBe(1);
    expect(other.sections.drift.reports).toBe(0);
    expect(other.sections.quality.points).toBe(0);
    expect(data.timeline.items.map((i) => i.cite.eventId)).toEqual(['deploy-done/other-chain']);
    // v3 is registered on main only: on this chain its lineage is the endpoint's event alone.
    expect(data.lineage.nodes.flatMap((n) => (n.cite ? [n.cite.eventId] : []))).not.toContain(
      expect.not.stringMatching(/^deploy-done\/other-chain$/),
    );
    const page = renderReportHtml(data);
    expect(
      new Set([...page.matchAll(/<tr id="ev-(\d+)" data-event="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`)),
    ).toEqual(new Set(['1 deploy-done/other-chain']));
  });
});

describe.runIf(!HAVE_CHROMIUM && process.env.CI)('in CI', () => {
  it(`has Chromium at ${CHROMIUM} to open the report`, () => {
    // Assess
    expect(existsSync(CHROMIUM)).toBe(true);
  });
});

describe.skipIf(!HAVE_CHROMIUM)(
  `in headless Chromium${HAVE_CHROMIUM ? '' : ` (skipped: ${CHROMIUM} is not installed)`}`,
  () => {
    let browser: Browser;
    let page: Page;
    const requests: string[] = [];
    const problems: string[] = [];

    beforeAll(async () => {
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1240, height: 900 } });
      page.on('request', (r) => requests.push(r.url()));
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      await page.goto(pathToFileURL(summary.path).href, { waitUntil: 'load' });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
    });

    /** Counts, in the page, the drawn marks of each section (a mark with a non-empty box). */
    const DRAWN = `(() => {
      document.querySelectorAll('details').forEach((d) => { d.open = true; });
      const drawn = (el) => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
      const count = (root, selector) => root ? [...root.querySelectorAll(selector)].filter(drawn).length : 0;
      return {
        features: [...document.querySelectorAll('#drift article.feature')].map((a) => ({
          report: a.closest('[data-report]').dataset.report,
          name: a.dataset.feature,
          verdict: a.className.replace('feature ', ''),
          marks: count(a.querySelector('svg'), 'rect,path,circle'),
          reference: count(a, 'svg .ref'),
          current: count(a, 'svg .cur'),
          cites: a.querySelectorAll('a.cite[data-event]').length,
        })),
        quality: {
          realized: count(document.querySelector('#quality svg'), 'circle.point.realized'),
          estimated: count(document.querySelector('#quality svg'), 'circle.point.estimated'),
          series: count(document.querySelector('#quality svg'), 'path.series'),
          floors: [...document.querySelectorAll('#quality svg line.floor')].filter((l) => l.getBoundingClientRect().width > 0).length,
        },
        timeline: {
          marks: count(document.querySelector('#timeline svg'), '.mark'),
          spans: count(document.querySelector('#timeline svg'), 'rect.span'),
        },
        lineage: {
          nodes: [...document.querySelectorAll('#lineage svg g.node')].filter(drawn).map((g) => g.dataset.kind),
          cited: document.querySelectorAll('#lineage svg g.node[data-event]').length,
          edges: [...document.querySelectorAll('#lineage svg path.edge')].filter((p) => p.getTotalLength() > 0).length,
        },
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        missingTargets: [...document.querySelectorAll('a[href^="#ev-"]')]
          .map((a) => a.getAttribute('href').slice(1))
          .filter((id) => !document.getElementById(id)),
      };
    })()`;

    interface Drawn {
      readonly features: readonly {
        readonly report: string;
        readonly name: string;
        readonly verdict: string;
        readonly marks: number;
        readonly reference: number;
        readonly current: number;
        readonly cites: number;
      }[];
      readonly quality: { realized: number; estimated: number; series: number; floors: number };
      readonly timeline: { marks: number; spans: number };
      readonly lineage: { nodes: string[]; cited: number; edges: number };
      readonly overflow: number;
      readonly missingTargets: readonly string[];
    }

    const drawn = () => page.evaluate(DRAWN) as Promise<Drawn>;

    it('draws the reference and the current distribution of every feature, each card citing its report', async () => {
      // Prepare: v3's canary report is folded under v2's until opened.
      const folded = await page.evaluate(
        `document.querySelectorAll('#drift details.report:not([open])').length`,
      );
      // Act
      const { features } = await drawn();
      // Assess
      expect(folded).toBe(1);
      expect(features).toHaveLength(16);
      for (const f of features) {
        expect(f.reference, f.name).toBeGreaterThan(0);
        expect(f.current, f.name).toBeGreaterThan(0);
        expect(f.cites, f.name).toBeGreaterThan(0);
      }
      const v2 = features.filter((f) => f.report.includes(`/${V2}/`));
      expect(v2.find((f) => f.name === 'hour')?.verdict).toBe('drift');
      // Only the departure hour moved; the score, a function of it, moved with it.
      expect(v2.filter((f) => f.verdict === 'drift').map((f) => f.name)).toEqual(['hour', 'score']);
      const v3 = features.filter((f) => f.report.includes(`/${V3}/`));
      expect(new Set(v3.map((f) => f.verdict))).toEqual(new Set(['insufficient-data']));
    });

    it('draws realized and estimated AUC per window with the quality floor', async () => {
      // Act
      const { quality } = await drawn();
      // Assess
      expect(quality.realized).toBe(11);
      expect(quality.estimated).toBe(12);
      // v1 and v2: one realized and one estimated line each; v3's lone estimate is a point.
      expect(quality.series).toBe(4);
      expect(quality.floors).toBe(1);
    });

    it('draws the timeline marks and what served when', async () => {
      // Act
      const { timeline } = await drawn();
      // Assess
      expect(timeline.marks).toBe(13);
      expect(timeline.spans).toBe(3);
    });

    it('draws the lineage graph: at least 4 nodes and 3 edges, each node citing its event', async () => {
      // Act
      const { lineage } = await drawn();
      // Assess
      expect(lineage.nodes.length).toBeGreaterThanOrEqual(4);
      expect(lineage.edges).toBeGreaterThanOrEqual(3);
      expect(new Set(lineage.nodes)).toEqual(
        new Set(['dataset', 'trigger', 'run', 'model', 'champion', 'approval', 'endpoint']),
      );
      expect(lineage.cited).toBe(lineage.nodes.length);
    });

    it('fits the page width, and every event link lands on a row of the event list', async () => {
      // Act
      const { overflow, missingTargets } = await drawn();
      // Assess
      expect(overflow).toBeLessThanOrEqual(0);
      expect(missingTargets).toEqual([]);
    });

    it('fetches nothing but the file itself and logs no error', () => {
      // Assess
      expect(requests).toEqual([pathToFileURL(summary.path).href]);
      expect(problems).toEqual([]);
    });
  },
);
