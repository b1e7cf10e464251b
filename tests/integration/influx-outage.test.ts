import { afterAll, beforeAll, expect, test } from 'vitest';
import { startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';
import { Load } from '../support/load.js';

let influx: TestInfluxd;
beforeAll(async () => {
  influx = await startTestInfluxd();
});
afterAll(async () => {
  await influx?.stop();
});

// Nothing is lost while storage is down: InfluxDB stopped for 30 s during load; afterwards the count in InfluxDB
// equals the count published, exactly (Telegraf's in-memory buffer drops here).
test('InfluxDB down for 30 s under QoS 0 and QoS 1 load: every published reading ends up stored', async () => {
  const hub = await startTestHub(influx.url, { influx: { timeout: 2000 } });
  try {
    const q1 = new Load({ url: hub.mqttUrl, clients: 2, rate: 300, qos: 1, device: 'q1-' });
    const q0 = new Load({ url: hub.mqttUrl, clients: 2, rate: 300, qos: 0, device: 'q0-' });
    await q1.start();
    await q0.start();
    await new Promise((r) => setTimeout(r, 1500));
    await influx.proc.stop();
    await new Promise((r) => setTimeout(r, 30_000));
    // During the outage nothing is confirmed and the readings wait on disk.
    const body = await (await fetch(`${hub.httpUrl}/healthz`)).json();
    expect(body.influx.reachable).toBe(false);
    expect(body.influx.queued).toBeGreaterThan(10_000);
    await influx.restart();
    await new Promise((r) => setTimeout(r, 1000));
    await q1.stop();
    await q0.stop();
    expect(q1.ackedCount).toBe(q1.sent);
    const published = q1.sent + q0.sent;
    expect(await hub.flush(40_000)).toBe(0);
    expect(await influx.count(hub.database)).toBe(published);
    const metrics = await hub.metrics.registry.metrics();
    expect(metrics).toMatch(/hub_influx_write_retries_total [1-9]/);
    expect(metrics).not.toMatch(/hub_readings_dropped_total\{/);
  } finally {
    await hub.stop();
  }
}, 120_000);
