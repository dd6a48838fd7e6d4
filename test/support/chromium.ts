/** Headless Chromium (Debian's package) for the tests and scripts that open a page. */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Where Debian installs Chromium. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Flags for a sandbox-less, offline, quiet headless run (no update checks, sync or QUIC). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** Whether Chromium is installed. */
export function haveChromium(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/** Launches Chromium headless, with a fresh temporary profile (playwright's default). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
}
