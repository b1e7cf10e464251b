import mqtt from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { type FleetHandle, simulateFleet } from '../../simulators/fleet.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';

// Short liveness windows so "stale, then offline" is seen in seconds: the fleet
// sends every 250 ms, so a sensor is stale after 1 s of silence.
const LIVENESS = { expectedInterval: 250, staleAfter: 4, checkEvery: 100, offlineAfter: 3000 };

describe('dashboard in Chromium', () => {
  let influx: TestInfluxd;
  let hub: HubHandle;
  let fleet: FleetHandle | undefined;
  let tb: TestBrowser;
  let page: Page;
  const database = uniqueDb('web');

  beforeAll(async () => {
    [influx, tb] = await Promise.all([startTestInfluxd(), launchBrowser()]);
    hub = await startTestHub(influx.url, { influx: { database }, registry: LIVENESS });
    fleet = await simulateFleet({ url: hub.mqttUrl, devices: 3, rate: 4, prefix: 'web', dropouts: false });
    page = await tb.newPage();
  });

  afterAll(async () => {
    await fleet?.stop();
    await tb?.close();
    await hub?.stop();
    await influx?.stop();
  });

  const sensorValue = (device: string, sensor: string) =>
    page.locator(`tr[data-device="${device}"] .sensor[data-sensor="${sensor}"] .value`);

  it('lists a simulated device in the overview and its live value changes within 2 s', async () => {
    await page.goto(`${hub.httpUrl}/`);
    await sensorValue('web-0001', 'temperature').waitFor({ timeout: 5000 });
    await expect
      .poll(() => sensorValue('web-0001', 'temperature').textContent(), { timeout: 3000 })
      .toMatch(/^-?\d/);
    const row = page.locator('tr[data-device="web-0001"]');
    expect(await row.locator('.state').textContent()).toBe('online');
    const before = await row.locator('.sensors').textContent();
    const t0 = Date.now();
    await page.waitForFunction(
      (prev) => document.querySelector('tr[data-device="web-0001"] .sensors')?.textContent !== prev,
      before,
      { timeout: 2000 },
    );
    expect(Date.now() - t0).toBeLessThanOrEqual(2000);
    await tb.shot(page, 'overview');
  });

  it('filters devices and converts display units without touching stored data', async () => {
    await page.fill('#filter', 'web-0002');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.fill('#filter', '');
    const celsius = Number(await sensorValue('web-0001', 'temperature').textContent());
    await page.selectOption('#unit-temperature', '[degF]');
    await expect
      .poll(() =>
        page.locator('tr[data-device="web-0001"] .sensor[data-sensor="temperature"] .unit').textContent(),
      )
      .toBe('°F');
    const fahrenheit = Number(await sensorValue('web-0001', 'temperature').textContent());
    // Live values move a little between the two reads.
    expect(fahrenheit).toBeGreaterThan(celsius * 1.8 + 32 - 2);
    expect(fahrenheit).toBeLessThan(celsius * 1.8 + 32 + 2);
    await tb.shot(page, 'overview-fahrenheit');
    await page.selectOption('#unit-temperature', 'Cel');
    const api = (await (await fetch(`${hub.httpUrl}/api/devices/web-0001`)).json()) as {
      sensors: Record<string, { unit: string }>;
    };
    expect(api.sensors.temperature?.unit).toBe('Cel');
  });

  it('shows a device that stops as stale, then offline', async () => {
    const client = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'quiet-one' });
    try {
      await client.publishAsync('sensors/quiet-1/temperature', '20.5');
      const state = page.locator('tr[data-device="quiet-1"]');
      await state.waitFor({ timeout: 3000 });
      await expect.poll(() => state.getAttribute('data-state'), { timeout: 3000 }).toBe('stale');
      await page.selectOption('#state-filter', 'stale');
      await tb.shot(page, 'overview-stale');
      await page.selectOption('#state-filter', 'all');
      // The connection stays open: silence alone makes it offline.
      await expect.poll(() => state.getAttribute('data-state'), { timeout: 5000 }).toBe('offline');
      expect(await state.locator('.state').textContent()).toBe('offline');
      await page.selectOption('#state-filter', 'offline');
      await tb.shot(page, 'overview-offline');
      await page.selectOption('#state-filter', 'all');
    } finally {
      await client.endAsync();
    }
  });

  it('shows what was quarantined, why, and the raw payload', async () => {
    const client = await mqtt.connectAsync(hub.mqttUrl);
    await page.goto(`${hub.httpUrl}/#/quarantine`);
    await page.locator('table.quarantine').waitFor();
    await client.publishAsync('sensors/web-bad/temperature', 'hot');
    await client.endAsync();
    const row = page.locator('tr[data-reason="not_a_number"]').first();
    await row.waitFor({ timeout: 3000 });
    expect(await row.locator('code.payload').textContent()).toBe('hot');
    expect(await row.textContent()).toContain('web-bad');
    await tb.shot(page, 'quarantine');
  });

  it('shows the hub health: ingest rate, queue, InfluxDB', async () => {
    await page.goto(`${hub.httpUrl}/#/hub`);
    const ingest = page.locator('[data-tile="ingest"] b');
    await expect
      .poll(async () => Number.parseFloat((await ingest.textContent()) ?? '0'), { timeout: 5000 })
      .toBeGreaterThan(0);
    expect(await page.locator('[data-tile="influx"] b').textContent()).toBe('up');
    await tb.shot(page, 'hub');
  });

  it('draws history after the hub restarts, before the device speaks again', async () => {
    await page.goto(`${hub.httpUrl}/#/device/web-0001`);
    await page.locator('.chart[data-sensor="temperature"] .caption[data-points]').waitFor({ timeout: 5000 });
    await fleet!.stop();
    fleet = undefined;
    await hub.flush();
    await hub.stop();
    hub = await startTestHub(influx.url, { influx: { database }, registry: LIVENESS });
    await page.goto(`${hub.httpUrl}/#/device/web-0001`);
    const caption = page.locator('.chart[data-sensor="temperature"] .caption');
    await expect
      .poll(async () => Number(await caption.getAttribute('data-points')), { timeout: 5000 })
      .toBeGreaterThan(0);
    expect(await page.locator('.chart').count()).toBe(3);
    await tb.shot(page, 'device-after-restart');
    await page.click('button[data-range="15 min"]');
    await expect.poll(async () => Number(await caption.getAttribute('data-points'))).toBeGreaterThan(0);
    await page.goto(`${hub.httpUrl}/`);
    await page
      .locator('tr[data-device="web-0001"] .sensor[data-sensor="humidity"]')
      .waitFor({ timeout: 5000 });
    await tb.shot(page, 'overview-after-restart');
  });
});
