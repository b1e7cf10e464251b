import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

let influx: TestInfluxd;
let small: TestInfluxd;
beforeAll(async () => {
  [influx, small] = await Promise.all([startTestInfluxd(), startTestInfluxd(0, { maxBodySize: 16_000 })]);
});
afterAll(async () => {
  await Promise.all([influx?.stop(), small?.stop()]);
});

const msg = (topic: string, payload: string, receivedAt = Date.now()) => ({
  topic,
  payload: Buffer.from(payload),
  receivedAt,
  source: 'mqtt' as const,
});

const metric = async (hub: { metrics: { registry: { metrics(): Promise<string> } } }, re: RegExp) =>
  Number(re.exec(await hub.metrics.registry.metrics())?.[1] ?? 0);

test('a field type conflict quarantines only the points of that measurement, without a retry loop', async () => {
  const hub = await startTestHub(influx.url);
  try {
    // Another tool wrote humidity as a string first: InfluxDB now refuses float `value` there.
    const res = await fetch(`${influx.url}/write?db=${hub.database}&precision=ms`, {
      method: 'POST',
      body: `humidity,device=other value="wet" ${Date.now() - 60_000}`,
    });
    expect(res.status).toBe(204);
    const t0 = Date.now() - 10_000;
    for (let i = 0; i < 300; i++) {
      hub.ingest(
        msg(`sensors/greenhouse${i % 30}`, JSON.stringify({ temperature: 20, humidity: 40 }), t0 + i),
      );
    }
    expect(await hub.flush(10_000)).toBe(0);
    expect(await influx.count(hub.database, 'temperature')).toBe(300);
    expect(await influx.count(hub.database, 'humidity')).toBe(1); // only the other tool's string point
    const entries = hub.quarantine.recent(1000).filter((e) => e.reason === 'influx_type_conflict');
    expect(entries).toHaveLength(300);
    expect(entries[0]!.device).toMatch(/^greenhouse\d+$/);
    expect(Buffer.from(entries[0]!.payload, 'base64').toString()).toMatch(/^humidity,device=greenhouse\d+,/);
    expect(await metric(hub, /hub_influx_write_retries_total (\d+)/)).toBe(0);
    expect(await metric(hub, /hub_quarantined_total\{reason="influx_type_conflict"\} (\d+)/)).toBe(300);
  } finally {
    await hub.stop();
  }
});

test('a batch over InfluxDB max-body-size (413) is split until it fits; nothing is lost', async () => {
  const hub = await startTestHub(small.url, { influx: { batchSize: 5000 } });
  try {
    const t0 = Date.now() - 10_000;
    for (let i = 0; i < 2000; i++) hub.ingest(msg(`sensors/big/s${i % 40}`, String(i), t0 + i));
    expect(await hub.flush(20_000)).toBe(0);
    expect(await small.count(hub.database)).toBe(2000);
    expect(hub.quarantine.total()).toBe(0);
  } finally {
    await hub.stop();
  }
});

test('spool cap: QoS 0 readings are dropped and counted, a QoS 1 publisher waits for its PUBACK until there is room', async () => {
  const hub = await startTestHub(influx.url, { spool: { maxBytes: 1024 * 1024 }, influx: { timeout: 1000 } });
  const client = await mqtt.connectAsync(hub.mqttUrl, { reconnectPeriod: 0 });
  try {
    await influx.proc.stop();
    const t0 = Date.now() - 10_000;
    // About 110 bytes a line: 20,000 readings are twice the 1 MiB cap.
    for (let i = 0; i < 20_000; i++)
      client.publish(`sensors/cap/s${i % 50}`, JSON.stringify({ value: i, ts: t0 + i }), { qos: 0 });
    const dropped = await eventually(() =>
      metric(hub, /hub_readings_dropped_total\{reason="spool_full"\} (\d+)/),
    );
    await eventually(async () => (await metric(hub, /hub_messages_total (\d+)/)) === 20_000, 10_000);
    const dropped2 = await metric(hub, /hub_readings_dropped_total\{reason="spool_full"\} (\d+)/);
    expect(dropped2).toBeGreaterThanOrEqual(dropped);
    const accepted = await metric(hub, /hub_readings_total\{source="mqtt"\} (\d+)/);
    expect(accepted).toBe(20_000);
    const health = await fetch(`${hub.httpUrl}/healthz`);
    expect(health.status).toBe(503);

    // Group commits leave the spool a batch short of its cap, and the batch size depends on
    // how busy the machine is: top it up one reading at a time until one more does not fit.
    const late = (i: number) => JSON.stringify({ value: i, ts: t0 + 1 + i });
    let sent = 20_000;
    let full = false;
    for (let i = 0; i < 5000 && !full; i++) {
      const before = await metric(hub, /hub_readings_dropped_total\{reason="spool_full"\} (\d+)/);
      client.publish('sensors/cap/late', late(i), { qos: 0 });
      sent++;
      await eventually(async () => (await metric(hub, /hub_messages_total (\d+)/)) === sent, 10_000);
      full = (await metric(hub, /hub_readings_dropped_total\{reason="spool_full"\} (\d+)/)) > before;
    }
    expect(full).toBe(true);

    let acked = false;
    const q1 = client.publishAsync('sensors/cap/late', late(9999), { qos: 1 }).then(() => {
      acked = true;
    });
    await new Promise((r) => setTimeout(r, 1500));
    expect(acked).toBe(false); // no PUBACK while the spool is full

    await influx.restart();
    await q1;
    expect(await hub.flush(30_000)).toBe(0);
    // Exactly what was not dropped is stored, plus the QoS 1 reading.
    const droppedAll = await metric(hub, /hub_readings_dropped_total\{reason="spool_full"\} (\d+)/);
    expect(await influx.count(hub.database)).toBe(sent - droppedAll + 1);
    expect((await fetch(`${hub.httpUrl}/healthz`)).status).toBe(200);
  } finally {
    await client.endAsync(true);
    await hub.stop();
  }
}, 60_000);

test('retention: raw readings in RP "raw", rollups per minute and hour; points older than raw keeps are quarantined', async () => {
  // The pipeline itself would hold back readings older than time.maxPastAge: let them through.
  const hub = await startTestHub(influx.url, { retention: { raw: '7d' }, time: { maxPastAge: '365d' } });
  try {
    const rps = await influx.query(hub.database, 'SHOW RETENTION POLICIES');
    const byName = Object.fromEntries(rps[0]!.values.map((v) => [v[0], v]));
    expect(byName.raw?.[1]).toBe('168h0m0s');
    expect(byName.raw?.[4]).toBe(true); // the default: plain writes and queries use it
    expect(byName.rollup_1m?.[1]).toBe('9600h0m0s');
    expect(byName.rollup_1h?.[1]).toBe('0s'); // INF
    const cqs = await influx.query(hub.database, 'SHOW CONTINUOUS QUERIES');
    const mine = cqs.find((s) => s.name === hub.database)!.values.map((v) => v[0]);
    expect(mine.sort()).toEqual(['cq_rollup_1h', 'cq_rollup_1m']);

    const now = Date.now();
    hub.ingest(msg('sensors/old/temperature', JSON.stringify({ value: 1, ts: now - 30 * 86_400_000 })));
    hub.ingest(msg('sensors/new/temperature', JSON.stringify({ value: 2, ts: now - 1000 })));
    expect(await hub.flush(10_000)).toBe(0);
    expect(await influx.count(hub.database)).toBe(1);
    const q = hub.quarantine.recent(10);
    expect(q.map((e) => [e.reason, e.device])).toEqual([['influx_retention', 'old']]);
  } finally {
    await hub.stop();
  }
});
