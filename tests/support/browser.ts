import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (package `chromium`); playwright-core never downloads a browser of its own. */
export const CHROMIUM = process.env.HUB_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', 'artifacts');

export interface TestBrowser {
  browser: Browser;
  /** A page at 1280×800 unless told otherwise (e.g. a phone's viewport, a dark colour scheme). */
  newPage(opts?: BrowserContextOptions): Promise<Page>;
  /** Saves a screenshot to tests/artifacts/<name>.png for a person to look at. */
  shot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Headless Chromium with a fresh profile. The flags keep it off the network: this
 * machine refuses outside connections, and Chromium's background services would
 * otherwise try them at every start. playwright-core gives every launch a fresh,
 * empty profile directory (its --user-data-dir) and removes it on close.
 */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    browser,
    newPage: (opts = {}) => browser.newPage({ viewport: { width: 1280, height: 800 }, ...opts }),
    async shot(page, name) {
      const path = join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: false });
      return path;
    },
    async close() {
      await browser.close();
    },
  };
}
