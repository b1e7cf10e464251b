import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';

const run = promisify(execFile);

/** What a person checks on a phone and on a desktop. */
const SIZES = [
  { name: 'desktop', viewport: { width: 1280, height: 800 } },
  { name: 'phone', viewport: { width: 390, height: 844 } },
] as const;

const LIVENESS = { expectedInterval: 250, staleAfter: 40, checkEvery: 100, offlineAfter: 60_000 };

/** True when the page scrolls sideways (something is wider than the screen). */
const scrollsSideways = (page: Page) =>
  page.evaluate(() => document.scrollingElement!.scrollWidth > window.innerWidth);

/** The widest elements past the right edge, to say what breaks a layout. */
const overflowing = (page: Page) =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('body *'))
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
  );

async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const wide = await scrollsSideways(page);
  expect(wide ? await overflowing(page) : []).toEqual([]);
  expect(wide).toBe(false);
}

describe('operator experience in Chromium, at desktop and phone sizes', () => {
  let influx: TestInfluxd;
  let hub: HubHandle;
  let tb: TestBrowser;
  let client: MqttClient;
  /** The porch's thermometer keeps sending, as a live device does, until the end. */
  let thermometer: ReturnType<typeof setInterval> | undefined;
  const database = uniqueDb('op');
  const pages = new Map<string, Page>();
  const page = (size: string) => pages.get(size)!;
  const url = (hash: string) => `${hub.httpUrl}/${hash}`;

  beforeAll(async () => {
    [influx, tb] = await Promise.all([startTestInfluxd(), launchBrowser()]);
    hub = await startTestHub(influx.url, { influx: { database }, registry: LIVENESS });
    for (const s of SIZES) pages.set(s.name, await tb.newPage({ viewport: s.viewport }));
  });

  afterAll(async () => {
    clearInterval(thermometer);
    await client?.endAsync();
    await tb?.close();
    await hub?.stop();
    await influx?.stop();
  });

  it('shows how to connect a first device, with the broker this hub really runs', async () => {
    const port = new URL(hub.mqttUrl).port;
    for (const s of SIZES) {
      const p = page(s.name);
      await p.goto(url(''));
      await p.locator('#broker-url').waitFor({ timeout: 5000 });
      expect(await p.locator('#broker-url').textContent()).toBe(`mqtt://127.0.0.1:${port}`);
      const text = async (id: string) => (await p.locator(`[data-snippet="${id}"] pre`).textContent()) ?? '';
      expect(await text('mosquitto')).toContain(
        `mosquitto_pub -h 127.0.0.1 -p ${port} -t sensors/kitchen/temperature -m 21.5`,
      );
      expect(await text('tasmota')).toContain(`MqttHost 127.0.0.1; MqttPort ${port}`);
      expect(await text('tasmota')).toContain('Topic kitchen');
      expect(await text('esphome')).toMatch(
        new RegExp(`mqtt:\\n  broker: 127\\.0\\.0\\.1\\n  port: ${port}`),
      );
      expect(await text('node')).toContain(`mqtt.connectAsync('mqtt://127.0.0.1:${port}')`);
      expect(await text('python')).toContain(`hostname="127.0.0.1", port=${port}`);
      // The default broker is on loopback: the page says what to change for devices on the network.
      expect(await p.locator('.first-run .warn').textContent()).toContain('mqtt.host: 0.0.0.0');
      expect(await p.locator('.snippet button.copy').count()).toBe(6);
      await expectNoSidewaysScroll(p);
      await tb.shot(p, `first-run-${s.name}`);
    }
    // The command shown is the one that works: run it, and the page turns into the device list.
    const cmd = (await page('desktop').locator('[data-snippet="mosquitto"] pre').textContent())!.split(
      '\n',
    )[0]!;
    const args = cmd.split(' ').slice(1);
    await run('mosquitto_pub', args);
    await page('desktop').locator('tr[data-device="kitchen"]').waitFor({ timeout: 5000 });
    expect(await page('desktop').locator('#first-run').count()).toBe(0);
  });

  it('serves a favicon', async () => {
    for (const path of ['/favicon.ico', '/favicon.svg']) {
      const res = await fetch(`${hub.httpUrl}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^image\//);
    }
  });

  it('feeds a device over MQTT: numbers, a percentage and a bell', async () => {
    client = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'porch-esp' });
    // Eight seconds of readings, as a young device sends them.
    for (let i = 0; i < 32; i++) {
      await client.publishAsync(
        'sensors/porch',
        JSON.stringify({
          temperature: 21 + Math.sin(i / 4) * 2,
          humidity: 40 + i / 4,
          battery: i === 31 ? 99 : 100 - (i % 2),
          bell: i % 8 === 7 ? 1 : 0,
        }),
      );
      await new Promise((r) => setTimeout(r, 250));
    }
    // The bell rang at the last reading and stopped at once: its last value is 0, its last interval's mean 0.5.
    await client.publishAsync('sensors/porch/bell', '0');
    // Something the hub cannot read, long enough to need wrapping on a phone.
    await client.publishAsync(
      'sensors/porch-with-a-rather-long-name/temperature_of_the_greenhouse_soil',
      `hot-${'x'.repeat(300)}`,
    );
    let i = 0;
    thermometer = setInterval(() => {
      void client
        .publishAsync('sensors/porch/temperature', String(21 + Math.sin(i++ / 4) * 2))
        .catch(() => {});
    }, 250);
    await hub.flush();
    await eventually(async () => {
      const r = await fetch(`${hub.httpUrl}/api/devices/porch`);
      const d = (await r.json()) as { sensors: Record<string, { value: number }> };
      return d.sensors.bell?.value === 0 && d.sensors.battery;
    });
  });

  it('lays out every view without sideways scrolling', async () => {
    for (const s of SIZES) {
      const p = page(s.name);
      await p.goto(url(''));
      await p.locator('tr[data-device="porch"] .sensor[data-sensor="temperature"] .value').waitFor();
      await expectNoSidewaysScroll(p);
      await tb.shot(p, `overview-${s.name}`);

      await p.goto(url('#/device/porch'));
      await p.locator('.chart[data-sensor="temperature"] .caption[data-first]').waitFor({ timeout: 5000 });
      await expectNoSidewaysScroll(p);
      await tb.shot(p, `device-${s.name}`);

      await p.goto(url('#/quarantine'));
      await p.locator('tr[data-reason]').first().waitFor({ timeout: 5000 });
      await expectNoSidewaysScroll(p);
      // The payload is wrapped, not cut: its whole text is inside the screen.
      const box = await p.locator('tr[data-reason] code.payload').first().boundingBox();
      expect(box!.x + box!.width).toBeLessThanOrEqual(s.viewport.width);
      await tb.shot(p, `quarantine-${s.name}`);

      await p.goto(url('#/hub'));
      await p.locator('[data-tile="queue"]').waitFor({ timeout: 5000 });
      await expectNoSidewaysScroll(p);
      await tb.shot(p, `hub-${s.name}`);
    }
  });

  it('opens a young device on a range its data fills, and the from/to fields show it', async () => {
    for (const s of SIZES) {
      const p = page(s.name);
      await p.goto(url('#/device/porch'));
      const caption = p.locator('.chart[data-sensor="temperature"] .caption');
      await caption.and(p.locator('[data-first]')).waitFor({ timeout: 5000 });
      await expect.poll(async () => Number(await caption.getAttribute('data-points'))).toBeGreaterThan(5);
      const [from, to, first, last] = await Promise.all(
        ['data-from', 'data-to', 'data-first', 'data-last'].map(async (a) =>
          Number(await caption.getAttribute(a)),
        ),
      );
      // The data spans much of the plot, not a sliver at its right edge (a fixed 1 h range
      // gives under 0.05 here). The range ends now, so the gap after the last reading grows
      // with a slow machine: the bound leaves room for that.
      expect((last! - first!) / (to! - from!)).toBeGreaterThan(0.4);
      expect(await p.locator('button[data-range="auto"].active').count()).toBe(1);
      // The custom fields show this range (to the minute), not the last 24 hours.
      const local = (ts: number) =>
        new Date(ts - new Date(ts).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      expect(await p.inputValue('#range-from')).toBe(local(from!));
      expect(await p.inputValue('#range-to')).toBe(local(to!));
    }
  });

  it('shows time, value and unit under the cursor', async () => {
    for (const s of SIZES) {
      const p = page(s.name);
      await p.goto(url('#/device/porch/temperature'));
      const chart = p.locator('.chart[data-sensor="temperature"]');
      await chart.locator('.caption[data-first]').waitFor({ timeout: 5000 });
      const over = chart.locator('.u-over');
      const box = (await over.boundingBox())!;
      await p.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2);
      const tip = chart.locator('.tooltip');
      await expect.poll(() => tip.isVisible()).toBe(true);
      const text = (await tip.textContent())!;
      expect(text).toMatch(/\d{1,2}:\d{2}:\d{2}/);
      expect(text).toMatch(/-?\d+(\.\d+)? °C/);
      await tb.shot(p, `tooltip-${s.name}`);
      await p.mouse.move(1, 1);
    }
  });

  it('draws the bell as on/off steps, the battery axis to 100 % at most, each title once', async () => {
    const p = page('desktop');
    await p.goto(url('#/device/porch'));
    const bell = p.locator('.chart[data-sensor="bell"]');
    await bell.locator('.caption[data-first]').waitFor({ timeout: 5000 });
    expect(await bell.getAttribute('data-kind')).toBe('binary');
    expect(await bell.locator('.caption').textContent()).toContain('on/off');
    // The header's value and the chart's "last" are the same reading, rounded alike
    // (the last interval's mean is 0.5 for the bell, about 99.5 for the battery).
    const header = (await p.locator('.meta .now').textContent())!;
    expect(header).toMatch(/bell 0( ·|$)/);
    expect(await bell.locator('.caption').textContent()).toMatch(/last 0\s*$/);
    expect(header).toContain('battery 99 %');
    expect(await p.locator('.chart[data-sensor="battery"] .caption').textContent()).toMatch(/last 99 %$/);

    const battery = p.locator('.chart[data-sensor="battery"] .plot');
    await expect.poll(async () => Number(await battery.getAttribute('data-ymax'))).toBeGreaterThan(0);
    expect(Number(await battery.getAttribute('data-ymax'))).toBeLessThanOrEqual(100);
    expect(Number(await p.locator('.chart[data-sensor="bell"] .plot').getAttribute('data-ymin'))).toBe(0);

    for (const title of await p.locator('.chart h3').allTextContents())
      expect(title).not.toMatch(/\b(\w+)\b.*\b\1\b/);
    expect(await p.locator('.chart[data-sensor="humidity"] h3').textContent()).toBe('humidity %RH');
  });

  it('says a device is not known, with a way back and no range buttons', async () => {
    for (const s of SIZES) {
      const p = page(s.name);
      await p.goto(url('#/device/no-such-device'));
      const msg = p.locator('#unknown-device');
      await msg.waitFor({ timeout: 5000 });
      expect(await msg.textContent()).toContain('does not know a device "no-such-device"');
      expect(await msg.locator('a[href="#/"]').count()).toBe(1);
      expect(await p.locator('button[data-range]').count()).toBe(0);
      await expectNoSidewaysScroll(p);
      await tb.shot(p, `unknown-device-${s.name}`);
    }
  });

  it('follows a dark system colour scheme, charts included', async () => {
    for (const s of SIZES) {
      const p = await tb.newPage({ viewport: s.viewport, colorScheme: 'dark' });
      try {
        await p.goto(url('#/device/porch'));
        await p.locator('.chart[data-sensor="temperature"] .caption[data-first]').waitFor({ timeout: 5000 });
        const colours = await p.evaluate(() => {
          const lum = (c: string) => {
            const [r, g, b] = c.match(/\d+/g)!.map(Number);
            return (0.2126 * r! + 0.7152 * g! + 0.0722 * b!) / 255;
          };
          const chart = document.querySelector('.chart')!;
          return {
            page: lum(getComputedStyle(document.documentElement).backgroundColor),
            text: lum(getComputedStyle(document.body).color),
            chart: lum(getComputedStyle(chart).backgroundColor),
            axis: getComputedStyle(document.documentElement).getPropertyValue('--chart-axis').trim(),
          };
        });
        expect(colours.page).toBeLessThan(0.15);
        expect(colours.chart).toBeLessThan(0.2);
        expect(colours.text).toBeGreaterThan(0.7);
        // Axis labels are drawn on the canvas in the theme's light grey.
        expect(colours.axis).toBe('#a3adb9');
        await expectNoSidewaysScroll(p);
        await tb.shot(p, `device-dark-${s.name}`);
        await p.goto(url(''));
        await p.locator('tr[data-device="porch"]').waitFor();
        await tb.shot(p, `overview-dark-${s.name}`);
      } finally {
        await p.close();
      }
    }
  });
  it("fills the hub view's rate chart from the hub's history, from zero, with units", async () => {
    for (const s of SIZES) {
      const p = page(s.name);
      await p.goto(url('#/hub'));
      const plot = p.locator('#rate-plot');
      // From the hub's own history (full at the first answer), not only what this page polled.
      await expect.poll(() => plot.getAttribute('data-source'), { timeout: 5000 }).toBe('hub');
      await expect
        .poll(async () => Number(await plot.getAttribute('data-samples')), { timeout: 5000 })
        .toBeGreaterThan(1);
      await expect.poll(async () => plot.getAttribute('data-ymin')).toBe('0');
      expect(await p.locator('[data-tile="queue"] b').textContent()).toMatch(/^\d[\d,]* readings?$/);
      expect(await p.locator('[data-tile="ingest"] b').textContent()).toMatch(/ readings\/s$/);
      const swatch = await p.evaluate(() => {
        const li = document.querySelector('#rate-legend li')!;
        return getComputedStyle(li, '::before').backgroundColor;
      });
      expect(swatch).not.toBe('rgba(0, 0, 0, 0)');
      expect(await p.locator('#rate-legend').textContent()).toMatch(/ingest [\d.]+ readings\/s now/);
      await tb.shot(p, `hub-history-${s.name}`);
    }
  });

  it('counts devices restored after a restart as waiting, and the counts add up', async () => {
    clearInterval(thermometer);
    thermometer = undefined;
    await client.endAsync();
    await hub.flush();
    await hub.stop();
    // The restarted hub also declares a device in its config (it can be renamed, not removed).
    hub = await startTestHub(influx.url, {
      influx: { database },
      registry: LIVENESS,
      devices: [{ id: 'greenhouse', name: 'Greenhouse' }],
    });
    client = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'kitchen-esp' });
    await client.publishAsync('sensors/kitchen/temperature', '21.7');
    for (const s of SIZES) {
      const p = page(s.name);
      await p.goto(url(''));
      await p.locator('tr[data-device="porch"][data-state="waiting"]').waitFor({ timeout: 5000 });
      await p.locator('tr[data-device="kitchen"][data-state="online"]').waitFor({ timeout: 5000 });
      const summary = (await p.locator('#counts').textContent())!;
      expect(summary).toBe('3 devices · 1 online · 0 stale · 0 offline · 2 waiting · showing 3');
      const n = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(summary)![1]);
      expect(n('online') + n('stale') + n('offline') + n('waiting')).toBe(n('devices'));
      await p.selectOption('#state-filter', 'waiting');
      await expect.poll(() => p.locator('tbody tr').count()).toBe(2);
      expect(
        await p.locator('tbody tr').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-device'))),
      ).toEqual(['greenhouse', 'porch']);
      await expectNoSidewaysScroll(p);
      await tb.shot(p, `overview-waiting-${s.name}`);
      await p.selectOption('#state-filter', 'all');
      await p.goto(url('#/hub'));
      const tile = p.locator('[data-tile="devices"]');
      await expect
        .poll(() => tile.locator('.detail').textContent(), { timeout: 5000 })
        .toBe('1 online · 0 stale · 0 offline · 2 waiting');
      expect(await tile.locator('b').textContent()).toBe('3');
    }
  });
  it('renames and tags a device; the list shows the name and finds the tag', async () => {
    const p = page('desktop');
    await p.goto(url('#/device/kitchen'));
    await p.locator('#device-admin summary').click();
    await p.fill('#device-name', 'Kitchen window');
    await p.fill('#device-tags', 'room=scullery, owner=ana');
    await p.click('#device-save');
    await expect.poll(() => p.locator('h2').first().textContent()).toBe('Kitchen window kitchen');
    expect(await p.locator('.meta .tags').textContent()).toContain('room: scullery');
    const api = (await (await fetch(`${hub.httpUrl}/api/devices/kitchen`)).json()) as {
      name?: string;
      tags: Record<string, string>;
    };
    expect(api.name).toBe('Kitchen window');
    expect(api.tags).toMatchObject({ room: 'scullery', owner: 'ana' });
    // A tag removed in the form is removed on the hub.
    await p.fill('#device-tags', 'room=scullery');
    await p.click('#device-save');
    await expect
      .poll(
        async () =>
          ((await (await fetch(`${hub.httpUrl}/api/devices/kitchen`)).json()) as { tags: object }).tags,
      )
      .toEqual({ room: 'scullery' });
    // What the hub refuses is shown, not lost: a bare word is no tag.
    await p.fill('#device-tags', 'room=scullery, oops');
    await p.click('#device-save');
    expect(await p.locator('#admin-error').textContent()).toContain('name=value');
    await tb.shot(p, 'device-admin-desktop');
    await p.goto(url(''));
    await expect
      .poll(() => p.locator('tr[data-device="kitchen"] .device-link').textContent())
      .toBe('Kitchen window');
    await p.fill('#filter', 'scullery');
    await expect.poll(() => p.locator('tbody tr').count()).toBe(1);
    await p.fill('#filter', '');
  });

  it('exports the range on screen as CSV, as a download and as a link', async () => {
    const p = page('desktop');
    await p.goto(url('#/device/porch'));
    const chart = p.locator('.chart[data-sensor="humidity"]');
    const caption = chart.locator('.caption[data-first]');
    await caption.waitFor({ timeout: 5000 });
    const from = Number(await caption.getAttribute('data-from'));
    const [download] = await Promise.all([p.waitForEvent('download'), chart.locator('a.csv').click()]);
    expect(download.suggestedFilename()).toMatch(/^porch_humidity_.*\.csv$/);
    const href = (await chart.locator('a.csv').getAttribute('href'))!;
    const res = await fetch(href);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = (await res.text()).trim().split('\r\n');
    expect(lines[0]).toBe('time,ts,device,name,sensor,metric,unit,value');
    // Every humidity reading the porch sent, each inside the range.
    expect(lines.length - 1).toBe(32);
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      expect(Number(cells[1])).toBeGreaterThanOrEqual(from);
      expect(cells.slice(2, 7)).toEqual(['porch', '', 'humidity', 'humidity', '%RH']);
    }
  });

  it('removes a device only after confirmation', async () => {
    const phone = page('phone');
    await phone.goto(url('#/device/porch'));
    await phone.locator('#device-admin summary').click();
    await phone.click('#device-remove');
    await phone.locator('#remove-dialog[open]').waitFor();
    expect(await phone.locator('#remove-dialog').textContent()).toContain('stored history stays in InfluxDB');
    await expectNoSidewaysScroll(phone);
    await tb.shot(phone, 'remove-dialog-phone');
    await phone.click('#remove-cancel');
    expect((await fetch(`${hub.httpUrl}/api/devices/porch`)).status).toBe(200);

    const p = page('desktop');
    await p.goto(url('#/device/porch'));
    await p.locator('#device-admin summary').click();
    await p.click('#device-remove');
    await p.click('#remove-confirm');
    await p.locator('.notice', { hasText: 'Removed porch.' }).waitFor({ timeout: 5000 });
    expect(await p.locator('tr[data-device="porch"]').count()).toBe(0);
    expect((await fetch(`${hub.httpUrl}/api/devices/porch`)).status).toBe(404);
    expect(await p.locator('#counts').textContent()).toMatch(/^2 devices /);
    await tb.shot(p, 'removed-desktop');
  });

  it('does not offer to remove a device the config declares, and the hub refuses it', async () => {
    const p = page('desktop');
    await p.goto(url('#/device/greenhouse'));
    await p.locator('#device-admin summary').click();
    expect(await p.locator('#device-remove').isDisabled()).toBe(true);
    expect(await p.locator('#declared-note').textContent()).toContain('Declared in the config');
    const res = await fetch(`${hub.httpUrl}/api/devices/greenhouse`, { method: 'DELETE' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { message: string }).message).toContain('declared in the config');
  });
});
