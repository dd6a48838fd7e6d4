/**
 * The HTML report renderer: every string escaped, empty sections that say so, every fact linked to
 * the ledger event it comes from, and a page that fetches and runs nothing.
 */
import { describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../../infra/report/html.ts';
import { emptyReport, fullReport } from './fixtures.ts';

/** The first group of every match of `pattern`. */
function citedBy(html: string, pattern: RegExp): string[] {
  return [...html.matchAll(pattern)].map((m) => m[1] ?? '');
}

describe('renderReportHtml', () => {
  it('makes a feature named <script> inert: escaped in text, attributes, SVG labels and tooltips', () => {
    // Act
    const html = renderReportHtml(fullReport());
    // Assess
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toContain('alert("pwned")');
    expect(html).toContain('&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;');
    expect(html).toContain(`data-feature="&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"`);
    // The category label in the chart, the detail, the timeline tooltip and the lineage node.
    expect(html.split('&lt;script&gt;').length - 1).toBeGreaterThanOrEqual(6);
  });

  it('says "no monitoring reports yet" and draws no chart, rather than failing, on an empty ledger', () => {
    // Act
    const html = renderReportHtml(emptyReport());
    // Assess
    expect(html).toContain('No monitoring reports yet for flight-delay-prod');
    expect(html).toContain('No monitoring window has quality figures yet');
    expect(html).toContain('No deployments, approvals, retraining or incidents recorded yet.');
    expect(html).toContain('No model has been deployed to flight-delay-prod yet.');
    expect(html).toContain('Nothing cited');
    expect(html).not.toContain('<svg');
    expect(html).not.toContain('NaN');
  });

  it('cites the MonitoringReport on every feature card and in the report head', () => {
    // Act
    const html = renderReportHtml(fullReport());
    // Assess
    const cards = html.split('<article class="feature').slice(1);
    expect(cards).toHaveLength(3);
    for (const card of cards)
      expect(card).toMatch(/<a class="cite" href="#ev-9" data-event="mon-1" data-seq="9"/);
    expect(html).toContain('data-report="mon-1"');
  });

  it('links every quality point, timeline mark, serving span and lineage node to its event', () => {
    // Act
    const html = renderReportHtml(fullReport());
    // Assess
    expect(
      citedBy(
        html,
        /<a href="#ev-\d+" class="mark-link" data-event="([^"]+)"[^>]*><title>[^<]*<\/title><circle class="point/g,
      ),
    ).toEqual(['mon-1', 'mon-1']);
    const marks = citedBy(
      html,
      /data-event="([^"]+)" data-seq="\d+"><title>[^<]*<\/title><(?:circle|path|rect) class="mark/g,
    );
    expect(marks).toEqual(['dep-1-start', 'dep-2-rollback', 'inc-2']);
    const spans = citedBy(
      html,
      /data-event="([^"]+)" data-seq="\d+"><title>[^<]*<\/title><rect class="span/g,
    );
    expect(spans).toEqual(['dep-1-done', 'dep-2-done', 'dep-2-rollback']);
    const nodes = citedBy(html, /<g class="node" data-kind="[a-z]+" data-event="([^"]+)"/g);
    expect(nodes).toEqual(['ds-1', 'run-1-done', 'mv-1-reg', 'mv-1-approval', 'dep-1-done']);
    // A detail stated by another event than its node's carries that event.
    expect(html).toMatch(/data-event="run-1-eval"[^>]*><title>gates 1\/1 passed/);
  });

  it('shows each citation as a short visible id, and lists exactly the cited events with their anchors', () => {
    // Act
    const html = renderReportHtml(fullReport());
    // Assess
    const linked = new Set(citedBy(html, /href="#ev-(\d+)"/g));
    const rows = new Set(citedBy(html, /<tr id="ev-(\d+)"/g));
    expect(rows).toEqual(linked);
    expect(rows).toEqual(new Set(['1', '3', '4', '5', '6', '7', '8', '9', '19', '20', '18']));
    expect(html).toMatch(/>#9<\/a>/);
  });

  it('fetches and runs nothing: no script, no external URL, a CSP that forbids both', () => {
    // Act
    const html = renderReportHtml(fullReport());
    // Assess
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    expect(html).not.toMatch(/<(script|link|img|iframe|object)\b/i);
    expect(html).not.toMatch(/\b(src|srcset)=/i);
    expect(html).not.toMatch(/url\((?!#arrow\))/);
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
  });

  it('draws one window and a few events without NaN or infinite coordinates', () => {
    // Act
    const html = renderReportHtml(fullReport());
    // Assess
    expect(html).not.toMatch(/NaN|Infinity/);
    // Two distributions (the score has none stored), quality, timeline and lineage.
    expect(html.match(/<svg /g)).toHaveLength(5);
  });

  it('marks a realized AUC below the floor, and a ledger that failed verification', () => {
    // Prepare
    const data = fullReport();
    const broken = {
      ...data,
      ledger: {
        ...data.ledger,
        verification: { status: 'broken' as const, detail: 'first bad link at #4: hash-mismatch' },
      },
    };
    // Act
    const html = renderReportHtml(broken);
    // Assess
    expect(html).toMatch(/<b class="below">0\.640<\/b>/);
    expect(html).toContain('✗ broken');
    expect(html).toContain('first bad link at #4: hash-mismatch');
  });
});
