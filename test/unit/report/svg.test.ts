/** The SVG helpers: escaping, axis ticks, numbers and text that fits. */
import { describe, expect, it } from 'vitest';
import {
  esc,
  fitLabel,
  fitText,
  fmtNum,
  niceTicks,
  textWidth,
  timeTicks,
} from '../../../infra/report/svg.ts';

describe('svg helpers', () => {
  it('escapes the five characters that matter in content and quoted attributes', () => {
    // Assess
    expect(esc(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('picks round ticks inside the range, and one tick for an empty range', () => {
    // Assess
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.55, 0.93, 5)).toEqual([0.6, 0.7, 0.8, 0.9]);
    expect(niceTicks(3, 3)).toEqual([3]);
  });

  it('labels time ticks by day over days and by hour within a day', () => {
    // Prepare
    const from = Date.parse('2026-05-01T00:00:00Z');
    // Act
    const days = timeTicks(from, from + 10 * 86_400_000, 8);
    const hours = timeTicks(from, from + 6 * 3_600_000, 8);
    // Assess
    expect(days[0]).toEqual({ at: from, label: '2026-05-01' });
    expect(days.length).toBeLessThanOrEqual(8);
    expect(hours[1]?.label).toBe('05-01 01:00');
  });

  it('formats statistics for people', () => {
    // Assess
    expect([fmtNum(0.031234), fmtNum(4.2e-8), fmtNum(12345.6), fmtNum(null), fmtNum(0)]).toEqual([
      '0.0312',
      '4.20e-8',
      '12,346',
      '—',
      '0',
    ]);
  });

  it('cuts text that does not fit, and shrinks a label before cutting it', () => {
    // Act
    const cut = fitText('mlops-dev-flight-delay-endpoint', 100, 11);
    const shrunk = fitLabel('mlops-dev-flight-delay', 146, [13, 12, 11, 10], { mono: true, bold: true });
    // Assess
    expect(cut.endsWith('…')).toBe(true);
    expect(textWidth(cut, 11)).toBeLessThanOrEqual(100);
    expect(shrunk).toEqual({ text: 'mlops-dev-flight-delay', size: 11 });
  });
});
