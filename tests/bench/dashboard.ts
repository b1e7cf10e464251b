/**
 * Dashboard benchmark: 500 simulated devices x 3 sensors at 2,000 readings/s
 * through the real MQTT broker and hub; Debian's Chromium loads the overview.
 * Prints time to first useful paint (first live value drawn) and the main thread's
 * busy share (CDP Performance.TaskDuration over wall time) while readings stream in.
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import type { CDPSession, Page } from 'playwright-core';
import { simulateFleet } from '../../simulators/fleet.js';
import { CHROMIUM, launchBrowser } from '../support/browser.js';
import { startTestHub } from '../support/hub.js';
import { startTestInfluxd } from '../support/influxd.js';

const DEVICES = Number(process.env.BENCH_DEVICES ?? 500);
const SENSORS = 3;
const RATE = Number(process.env.BENCH_RATE ?? 2000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 5000);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function metrics(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as {
    metrics: Array<{ name: string; value: number }>;
  };
  return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
}

/** Marks when the first live value is drawn, and counts long tasks and repaints of the store. */
const INIT = () => {
  const w = window as unknown as Record<string, unknown>;
  w.__longTasks = 0;
  new PerformanceObserver((l) => {
    w.__longTasks = (w.__longTasks as number) + l.getEntries().length;
  }).observe({ type: 'longtask', buffered: true });
  const mo = new MutationObserver(() => {
    const v = document.querySelector('tr[data-device] .sensor .value');
    if (v?.textContent) {
      w.__firstUseful = performance.now();
      mo.disconnect();
    }
  });
  document.addEventListener('DOMContentLoaded', () =>
    mo.observe(document.body, { subtree: true, childList: true, characterData: true }),
  );
};

async function loadOnce(
  page: Page,
  url: string,
): Promise<{ firstUseful: number; fcp: number; rows: number }> {
  await page.goto(url);
  await page.waitForFunction(
    () => (window as unknown as { __firstUseful?: number }).__firstUseful !== undefined,
    null,
    {
      timeout: 20_000,
    },
  );
  return page.evaluate(() => ({
    firstUseful: (window as unknown as { __firstUseful: number }).__firstUseful,
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
    rows: document.querySelectorAll('tr[data-device]').length,
  }));
}

const influx = await startTestInfluxd();
const hub = await startTestHub(influx.url, { mqtt: { republish: false } });
const fleet = await simulateFleet({
  url: hub.mqttUrl,
  devices: DEVICES,
  rate: RATE / (DEVICES * SENSORS),
  format: 'multi',
  prefix: 'bench',
  dropouts: false,
  connections: 50,
});
const tb = await launchBrowser();
try {
  // Let every device report once so the overview has all of them.
  await new Promise((r) => setTimeout(r, 3000));
  const page = await tb.newPage();
  await page.addInitScript(INIT);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });

  const loads: Array<{ firstUseful: number; fcp: number; rows: number }> = [];
  for (let i = 0; i < RUNS; i++) loads.push(await loadOnce(page, `${hub.httpUrl}/`));

  const windows: Array<{
    busy: number;
    script: number;
    layout: number;
    readingsPerSec: number;
    repaintsPerSec: number;
    longTasks: number;
    skipped: number;
  }> = [];
  await page.evaluate(() => {
    const w = window as unknown as { hubStore: { subscribe(fn: () => void): void }; __repaints: number };
    w.__repaints = 0;
    w.hubStore.subscribe(() => {
      w.__repaints++;
    });
  });
  const pageState = () =>
    page.evaluate(() => {
      const w = window as unknown as {
        hubStore: { received: number; skipped: number };
        __repaints: number;
        __longTasks: number;
      };
      return {
        received: w.hubStore.received,
        skipped: w.hubStore.skipped,
        repaints: w.__repaints,
        longTasks: w.__longTasks,
      };
    });
  for (let i = 0; i < RUNS; i++) {
    const m0 = await metrics(cdp);
    const s0 = await pageState();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const m1 = await metrics(cdp);
    const s1 = await pageState();
    const wall = (performance.now() - t0) / 1000;
    windows.push({
      busy: (m1.TaskDuration! - m0.TaskDuration!) / wall,
      script: (m1.ScriptDuration! - m0.ScriptDuration!) / wall,
      layout:
        (m1.LayoutDuration! + m1.RecalcStyleDuration! - m0.LayoutDuration! - m0.RecalcStyleDuration!) / wall,
      readingsPerSec: (s1.received - s0.received) / wall,
      repaintsPerSec: (s1.repaints - s0.repaints) / wall,
      longTasks: s1.longTasks - s0.longTasks,
      skipped: s1.skipped - s0.skipped,
    });
  }
  await tb.shot(page, 'bench-overview');
  const hubRates = (await (await fetch(`${hub.httpUrl}/api/hub`)).json()) as {
    current: { readingsPerSec: number };
  };

  const chromiumVersion = execFileSync(CHROMIUM, ['--version'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  const ms = (x: number) => `${x.toFixed(0)} ms`;
  const out = [
    'dashboard benchmark',
    `  hardware   ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; node ${process.version}; ${chromiumVersion}`,
    `  load       ${DEVICES} devices x ${SENSORS} sensors, ${RATE} readings/s offered over MQTT; hub ingest ${hubRates.current.readingsPerSec.toFixed(0)}/s`,
    `  page load  (median of ${RUNS}) first contentful paint ${ms(median(loads.map((l) => l.fcp)))}, first useful paint (a live value drawn) ${ms(median(loads.map((l) => l.firstUseful)))}, rows ${loads.at(-1)?.rows}`,
    `             runs: ${loads.map((l) => ms(l.firstUseful)).join(', ')}`,
    `  live       (median of ${RUNS} windows of ${WINDOW_MS / 1000} s) main thread busy ${pct(median(windows.map((w) => w.busy)))} (script ${pct(median(windows.map((w) => w.script)))}, style+layout ${pct(median(windows.map((w) => w.layout)))})`,
    `             readings received ${median(windows.map((w) => w.readingsPerSec)).toFixed(0)}/s, repaints ${median(windows.map((w) => w.repaintsPerSec)).toFixed(1)}/s, readings per repaint ${(median(windows.map((w) => w.readingsPerSec)) / Math.max(0.001, median(windows.map((w) => w.repaintsPerSec)))).toFixed(0)}`,
    `             long tasks (>50 ms) per window: ${windows.map((w) => w.longTasks).join(', ')}; readings skipped by the stream: ${windows.reduce((n, w) => n + w.skipped, 0)}`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  await tb.close();
  await fleet.stop();
  await hub.stop();
  await influx.stop();
}
