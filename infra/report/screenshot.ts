/**
 * Renders an example report (the README shows one from a real `npm start` instead): records the integration test's history in fresh
 * emulators (DynamoDB Local, s3rver, the KMS emulator), writes the report through `writeReport`
 * and saves a full-page PNG of it from headless Chromium.
 *
 *   npx tsx infra/report/screenshot.ts [--out report-example.png] [--html report.html] [--full]
 *
 * The picture ends with the lineage graph (the list of cited events below it is long and reads
 * better in the page itself); `--full` takes the whole page.
 * A development script: it reuses the test support code, so it needs the dev dependencies.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { CHROMIUM_PATH, haveChromium, launchChromium } from '../../test/support/chromium.ts';
import { startEmulators } from '../../test/support/emulators.ts';
import {
  REPORT_NOW,
  REPORT_STAGE,
  REPORT_USE_CASE,
  recordReportScenario,
  scenarioTarget,
} from '../../test/support/report-scenario.ts';
import { writeReport } from '../ops/report.ts';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: join(process.cwd(), 'report-example.png') },
    html: { type: 'string' },
    width: { type: 'string', default: '1240' },
    full: { type: 'boolean', default: false },
  },
});

if (!haveChromium()) {
  console.error(`screenshot: ${CHROMIUM_PATH} is not installed (apt-get install chromium)`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'mlops-report-shot-'));
const emu = await startEmulators();
try {
  const scenario = await recordReportScenario(emu, 'report-example');
  const summary = await writeReport(
    scenarioTarget(emu, scenario.ledgerTable),
    REPORT_USE_CASE,
    REPORT_STAGE,
    join(dir, 'report.html'),
    { now: () => new Date(REPORT_NOW) },
  );
  if (values.html) copyFileSync(summary.path, resolve(values.html));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: Number(values.width), height: 900 } });
    await page.goto(pathToFileURL(summary.path).href, { waitUntil: 'load' });
    const width = Number(values.width);
    const end = (await page.evaluate(
      `Math.ceil(document.getElementById('lineage').getBoundingClientRect().bottom + window.scrollY + 24)`,
    )) as number;
    await page.screenshot({
      path: resolve(values.out),
      fullPage: true,
      ...(values.full ? {} : { clip: { x: 0, y: 0, width, height: end } }),
    });
  } finally {
    await browser.close();
  }
  console.log(`Wrote ${resolve(values.out)}${values.html ? ` and ${resolve(values.html)}` : ''}`);
} finally {
  await emu.stop();
  rmSync(dir, { recursive: true, force: true });
}
