import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Alert, firingPeriods, firingSummary, sortAlerts } from '../../dashboards/web/src/alerts.js';
import type { HubConfigInput } from '../../hub/config/schema.js';
import type { HubHandle } from '../../hub/hub.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';

const SIZES = [
  { name: 'desktop', viewport: { width: 1280, height: 800 } },
  { name: 'phone', viewport: { width: 390, height: 844 } },
] as const;

/** The page polls every 3 s: a change shows within a few polls. */
const SHOWS = { timeout: 15_000 };

const RULES: NonNullable<HubConfigInput['alerts']>['rules'] = [
  {
    name: 'porch-hot',
    match: { device: 'porch', metric: 'temperature' },
    above: 30,
    clear: 28,
    severity: 'critical',
  },
  { name: 'porch-damp', match: { device: 'porch', metric: 'humidity' }, above: 70, severity: 'warning' },
  // Pending for an hour: listed after the firing ones.
  { name: 'porch-bright', match: { device: 'porch', metric: 'illuminance' }, above: 100, for: '1h' },
];

const alert = (over: Partial<Alert>): Alert => ({
  id: 'x',
  rule: 'r',
  device: 'd',
  sensor: 's',
  metric: 'temperature',
  kind: 'above',
  state: 'firing',
  value: 1,
  unit: 'Cel',
  severity: 'warning',
  since: 0,
  activeSince: 0,
  acknowledged: false,
  silenced: false,
  ...over,
});

describe('alerts in the dashboard: what needs no browser', () => {
  it('lists firing first, then by severity, and counts only firing in the badge', () => {
    const list = [
      alert({ rule: 'a', state: 'pending', severity: 'critical', since: 1 }),
      alert({ rule: 'b', severity: 'info', since: 2 }),
      alert({ rule: 'c', severity: 'critical', since: 3 }),
      alert({ rule: 'd', severity: 'warning', since: 4 }),
    ];
    expect(sortAlerts(list).map((a) => a.rule)).toEqual(['c', 'd', 'b', 'a']);
    expect(firingSummary(list)).toEqual({ count: 3, worst: 'critical' });
    expect(firingSummary([])).toEqual({ count: 0, worst: undefined });
  });

  it('pairs firing and resolved changes into periods, and a device-level alert counts for every sensor', () => {
    const history = [
      // newest first, as the hub answers
      alert({ rule: 'hot', sensor: 'air', state: 'resolved', since: 300, activeSince: 90 }),
      alert({ rule: 'gone', sensor: '_device', state: 'resolved', since: 250, activeSince: 200 }),
      alert({ rule: 'hot', sensor: 'air', state: 'firing', since: 100 }),
      alert({ rule: 'hot', sensor: 'soil', state: 'firing', since: 100 }),
      alert({ rule: 'hot', device: 'other', sensor: 'air', state: 'firing', since: 100 }),
      // its firing fell out of the history: the period starts when the condition first held
      alert({ rule: 'old', sensor: 'air', state: 'resolved', since: 50, activeSince: 10 }),
    ];
    const active = [alert({ rule: 'hot', sensor: 'air', state: 'firing', since: 400 })];
    expect(firingPeriods(history, active, 'd', 'air')).toEqual([
      { rule: 'old', severity: 'warning', from: 10, to: 50 },
      { rule: 'hot', severity: 'warning', from: 100, to: 300 },
      { rule: 'gone', severity: 'warning', from: 200, to: 250 },
      { rule: 'hot', severity: 'warning', from: 400, to: undefined },
    ]);
    // A pending alert is no firing period.
    expect(firingPeriods([], [alert({ state: 'pending' })], 'd', 's')).toEqual([]);
  });
});

/** True when the page scrolls sideways; the widest elements past the edge, to say why. */
async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const wide = await page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('body *'))
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
  );
  expect(wide).toEqual([]);
  expect(await page.evaluate(() => document.scrollingElement!.scrollWidth > window.innerWidth)).toBe(false);
}

describe('alerts in Chromium, at desktop and phone sizes', () => {
  let influx: TestInfluxd;
  let hub: HubHandle;
  let tb: TestBrowser;
  let client: MqttClient;
  const pages = new Map<string, Page>();
  const page = (size: string) => pages.get(size)!;
  const url = (hash: string) => `${hub.httpUrl}/${hash}`;
  const api = async () =>
    (await (await fetch(`${hub.httpUrl}/api/alerts`)).json()) as {
      alerts: Alert[];
      silences: Array<{ id: string }>;
    };
  const row = (p: Page, rule: string, sensor: string) =>
    p.locator(`tr[data-alert="${rule}/porch/${sensor}"]`);

  beforeAll(async () => {
    [influx, tb] = await Promise.all([startTestInfluxd(), launchBrowser()]);
    hub = await startTestHub(influx.url, {
      influx: { database: uniqueDb('alerts_ui') },
      alerts: { rules: RULES },
    });
    for (const s of SIZES) pages.set(s.name, await tb.newPage({ viewport: s.viewport }));
    client = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'porch-esp' });
  });

  afterAll(async () => {
    await client?.endAsync();
    await tb?.close();
    await hub?.stop();
    await influx?.stop();
  });

  it('shows nothing firing before a rule fires, and no count in the header', async () => {
    await client.publishAsync(
      'sensors/porch',
      JSON.stringify({ temperature: 22, humidity: 50, illuminance: 10 }),
    );
    for (const s of SIZES) {
      const p = page(s.name);
      await p.goto(url('#/alerts'));
      await p.locator('#alert-summary', { hasText: '0 firing' }).waitFor(SHOWS);
      expect(await p.locator('#no-alerts').isVisible()).toBe(true);
      expect(await p.locator('#alert-count').isVisible()).toBe(false);
    }
  });

  it('lists alerts fired by MQTT readings, firing first by severity, and counts them in the header', async () => {
    // Readings over a few seconds, as a device sends them; the last ones cross the thresholds.
    for (let i = 0; i < 6; i++) {
      await client.publishAsync(
        'sensors/porch',
        JSON.stringify({ temperature: 22 + i, humidity: 50 + i, illuminance: 10 + i }),
      );
      await new Promise((r) => setTimeout(r, 300));
    }
    await client.publishAsync(
      'sensors/porch',
      JSON.stringify({ temperature: 34.5, humidity: 80, illuminance: 500 }),
    );
    await eventually(async () => (await api()).alerts.length === 3);
    for (const s of SIZES) {
      const p = page(s.name);
      await row(p, 'porch-bright', 'illuminance').waitFor(SHOWS);
      const order = await p
        .locator('#active-alerts tbody tr')
        .evaluateAll((rs) =>
          rs.map((r) => `${(r as HTMLElement).dataset.state} ${(r as HTMLElement).dataset.severity}`),
        );
      expect(order).toEqual(['firing critical', 'firing warning', 'pending warning']);
      const hot = row(p, 'porch-hot', 'temperature');
      expect(await hot.locator('.severity').textContent()).toBe('critical');
      expect(await hot.locator('td.value').textContent()).toMatch(/^34\.50? °C$/);
      // The severity colour is the page's "bad" colour, not the warning's.
      const [critical, warning] = await Promise.all(
        ['porch-hot/porch/temperature', 'porch-damp/porch/humidity'].map((k) =>
          p.locator(`tr[data-alert="${k}"] .severity`).evaluate((e) => getComputedStyle(e).backgroundColor),
        ),
      );
      expect(critical).not.toBe(warning);
      await expect.poll(() => p.locator('#alert-count').textContent(), SHOWS).toBe('2');
      expect(await p.locator('#alert-count').getAttribute('class')).toContain('severity-critical');
      await expectNoSidewaysScroll(p);
      await tb.shot(p, `alerts-${s.name}`);
    }
  });

  it('acknowledges from the page: the hub records it and every window shows it', async () => {
    const desktop = page('desktop');
    await row(desktop, 'porch-hot', 'temperature').locator('button.ack').click();
    await eventually(async () => (await api()).alerts.find((a) => a.rule === 'porch-hot')?.acknowledged);
    await row(desktop, 'porch-hot', 'temperature').locator('.flag.acked').waitFor(SHOWS);
    expect(await row(desktop, 'porch-hot', 'temperature').locator('button.ack').isVisible()).toBe(false);
    // The phone's page hears of it by its next poll; it still fires, so the count stays.
    const phone = page('phone');
    await row(phone, 'porch-hot', 'temperature').locator('.flag.acked').waitFor(SHOWS);
    expect(await phone.locator('#alert-count').textContent()).toBe('2');
    await expectNoSidewaysScroll(phone);
    await tb.shot(phone, 'alerts-acknowledged-phone');
  });

  it('silences an alert for the chosen time, shows the silence, and ends it', async () => {
    const p = page('desktop');
    await p.selectOption('#silence-for', '4h');
    const before = Date.now();
    await row(p, 'porch-damp', 'humidity').locator('button.silence').click();
    await p.locator('#silences li[data-silence]').waitFor(SHOWS);
    const a = await api();
    expect(a.silences).toHaveLength(1);
    expect(a.silences[0]).toMatchObject({ rule: 'porch-damp', device: 'porch' });
    const until = (a.silences[0] as unknown as { until: number }).until;
    expect(until).toBeGreaterThanOrEqual(before + 4 * 3_600_000);
    expect(a.alerts.find((x) => x.rule === 'porch-damp')?.silenced).toBe(true);
    await row(p, 'porch-damp', 'humidity').locator('.flag.silenced').waitFor(SHOWS);
    await tb.shot(p, 'alerts-silenced-desktop');
    await p.locator('#silences li[data-silence] button.unsilence').click();
    await p.locator('#silences li.empty').waitFor(SHOWS);
    expect((await api()).silences).toEqual([]);
  });

  it('marks the firing period on the device chart, and ends it when the alert resolves', async () => {
    for (const s of SIZES) {
      const p = page(s.name);
      await p.goto(url('#/device/porch/temperature'));
      const chart = p.locator('.chart[data-sensor="temperature"]');
      await chart.locator('.caption[data-first]').waitFor(SHOWS);
      const mark = chart.locator('.alert-mark[data-rule="porch-hot"]');
      await mark.waitFor(SHOWS);
      expect(await mark.getAttribute('data-firing')).toBe('true');
      // It reaches the right edge of the plot: it still fires.
      const [m, over] = await Promise.all([mark.boundingBox(), chart.locator('.u-over').boundingBox()]);
      expect(m!.width).toBeGreaterThan(0);
      expect(m!.x + m!.width).toBeCloseTo(over!.x + over!.width, 0);
      await expectNoSidewaysScroll(p);
      await tb.shot(p, `alerts-chart-${s.name}`);
    }
    await client.publishAsync('sensors/porch', JSON.stringify({ temperature: 21 }));
    await eventually(async () => !(await api()).alerts.some((a) => a.rule === 'porch-hot'));
    for (const s of SIZES) {
      const p = page(s.name);
      const mark = p.locator('.chart[data-sensor="temperature"] .alert-mark[data-rule="porch-hot"]');
      await expect.poll(() => mark.getAttribute('data-firing'), SHOWS).toBe('false');
      await expect.poll(() => p.locator('#alert-count').textContent(), SHOWS).toBe('1');
      expect(await p.locator('#alert-count').getAttribute('class')).toContain('severity-warning');
    }
  });

  it('says so when the hub cannot be asked, and when an alert resolved before its acknowledgement', async () => {
    const p = page('phone');
    await p.goto(url('#/alerts'));
    await row(p, 'porch-damp', 'humidity').waitFor(SHOWS);
    // The list on screen goes stale: the hub stops answering the list; meanwhile the alert resolves.
    await p.route('**/api/alerts', (r) => r.abort());
    await client.publishAsync('sensors/porch', JSON.stringify({ humidity: 40 }));
    await eventually(async () => !(await api()).alerts.some((a) => a.rule === 'porch-damp'));
    await p.locator('.error', { hasText: 'Alerts could not be loaded' }).waitFor(SHOWS);
    await row(p, 'porch-damp', 'humidity').locator('button.ack').click();
    await p.locator('#alert-error', { hasText: 'no active alert porch-damp/porch/humidity' }).waitFor(SHOWS);
    await expectNoSidewaysScroll(p);
    await tb.shot(p, 'alerts-errors-phone');
    // The hub answers again: the list is current and the load error is gone.
    await p.unroute('**/api/alerts');
    await row(p, 'porch-damp', 'humidity').waitFor({ state: 'detached', ...SHOWS });
    expect(await p.locator('.error', { hasText: 'Alerts could not be loaded' }).count()).toBe(0);
    expect(await p.locator('#alert-count').isVisible()).toBe(false);
    // The hub never fell over: it still takes readings.
    expect((await fetch(`${hub.httpUrl}/healthz`)).status).toBe(200);
  });
});
