import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * The browser tests drive Debian's chromium through playwright-core and never
 * download a browser. CHROMIUM_PATH points elsewhere where Debian's package
 * is not at hand (e.g. /usr/bin/google-chrome on a GitHub runner).
 */
export const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/**
 * Whether a browser suite should skip: chromium is missing and this is not
 * CI. It says so loudly once per suite; on CI a missing chromium is a
 * failure instead (`launchChromium` throws).
 */
export function skipWithoutChromium(suite: string): boolean {
  if (existsSync(CHROMIUM) || process.env['CI']) return false;
  console.warn(`\n${'!'.repeat(78)}\n!! SKIPPING ${suite}: ${CHROMIUM} not found.\n!! Install Debian's chromium (apt-get install -y chromium); on CI this is a failure.\n${'!'.repeat(78)}\n`);
  return true;
}

/** Headless chromium, without the background traffic this machine's closed network refuses. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: CI must install Debian's chromium (see .ci/run)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}
