import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

const run = promisify(execFile);
let influx: TestInfluxd;

beforeAll(async () => {
  influx = await startTestInfluxd();
});
afterAll(async () => {
  await influx?.stop();
});

const pub = (port: number, topic: string, payload: string) =>
  run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-q', '1', '-t', topic, '-m', payload]);
const portOf = (url: string) => Number(new URL(url).port);
const metric = (text: string, name: string) =>
  Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

type Devices = { devices: Array<{ id: string; sensors: Record<string, { value: number }> }> };

describe('ids that name Object.prototype properties, on a real hub', () => {
  let hub: Awaited<ReturnType<typeof startTestHub>>;
  beforeAll(async () => {
    // Short timers: the staleness check and offline detection run many times during the test.
    hub = await startTestHub(influx.url, {
      registry: { checkEvery: 20, offlineAfter: 300, expectedInterval: 50 },
      homeassistant: { discovery: true },
    });
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('stores sensors/x/__proto__, sensors/constructor/toString and a {"__proto__":1} object, and stays up', async () => {
    const port = portOf(hub.mqttUrl);
    await pub(port, 'sensors/x/__proto__', '21.5');
    await pub(port, 'sensors/constructor/toString', '22.5');
    await pub(port, 'sensors/prototype', '{"__proto__":1,"constructor":2,"valueOf":{"value":3}}');
    await pub(port, 'tele/__proto__/SENSOR', '{"__proto__":{"Temperature":20.5}}');
    // Past many staleness checks and the offline timeout, with /metrics scraped meanwhile.
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 150));
      expect((await fetch(`${hub.httpUrl}/metrics`)).status).toBe(200);
    }
    expect(({} as Record<string, unknown>).value).toBeUndefined();
    expect(({} as Record<string, unknown>).sensor).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);

    await hub.flush();
    const rows = await influx.query(
      hub.database,
      'SELECT value, device, sensor FROM /.*/ WHERE time > now() - 1h',
    );
    const points = rows.flatMap((s) => s.values.map((v) => `${s.name} ${v[2]}/${v[3]}=${v[1]}`)).sort();
    expect(points).toEqual(
      [
        'tostring constructor/toString=22.5',
        '__proto__ x/__proto__=21.5',
        '__proto__ prototype/__proto__=1',
        'constructor prototype/constructor=2',
        'valueof prototype/valueOf=3',
        'temperature __proto__/__proto__.Temperature=20.5',
      ].sort(),
    );

    const body = (await (await fetch(`${hub.httpUrl}/api/devices`)).json()) as Devices;
    const byId = new Map(body.devices.map((d) => [d.id, d]));
    expect([...byId.keys()].sort()).toEqual(['__proto__', 'constructor', 'prototype', 'x']);
    expect(Object.keys(byId.get('prototype')!.sensors).sort()).toEqual([
      '__proto__',
      'constructor',
      'valueOf',
    ]);
    expect(Object.getOwnPropertyDescriptor(byId.get('x')!.sensors, '__proto__')?.value).toMatchObject({
      value: 21.5,
    });
    const one = await fetch(`${hub.httpUrl}/api/devices/__proto__`);
    expect(one.status).toBe(200);
    expect(((await one.json()) as { id: string }).id).toBe('__proto__');
    expect((await fetch(`${hub.httpUrl}/api/devices/hasOwnProperty`)).status).toBe(404);
    expect((await fetch(`${hub.httpUrl}/healthz`)).status).toBe(200);
  });
});

describe('readings with the same device time, on a real hub and InfluxDB', () => {
  let hub: Awaited<ReturnType<typeof startTestHub>>;
  let client: mqtt.MqttClient;
  beforeAll(async () => {
    hub = await startTestHub(influx.url, { registry: { checkEvery: 0 } });
    client = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'same-ts', reconnectPeriod: 0 });
  });
  afterAll(async () => {
    await client?.endAsync();
    await hub?.stop();
  });

  it('keeps 500 readings of one sensor sent with the same ms timestamp as 500 points', async () => {
    const ts = Date.now() - 60_000;
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        client.publishAsync('sensors/burst/level', JSON.stringify({ value: i, ts }), { qos: 1 }),
      ),
    );
    await hub.flush();
    expect(await influx.count(hub.database, 'level')).toBe(500);
    const rows = await influx.query(hub.database, 'SELECT sum(value) FROM level');
    expect(rows[0]!.values[0]![1]).toBe((499 * 500) / 2);
  });

  it("keeps Tasmota's readings several a second with a whole-second Time, and stores a resend once", async () => {
    // Tasmota's Time: local wall-clock time in whole seconds, no zone (time.zone is UTC here).
    const second = new Date(Math.floor(Date.now() / 1000) * 1000 - 30_000).toISOString().slice(0, 19);
    const payload = (t: number) =>
      JSON.stringify({ Time: second, BME280: { Temperature: t }, TempUnit: 'C' });
    for (const t of [20.1, 20.2, 20.3, 20.4, 20.5])
      await client.publishAsync('tele/tas1/SENSOR', payload(t), { qos: 1 });
    // The device sends its last message again (a retry after a lost PUBACK, a reconnect).
    await client.publishAsync('tele/tas1/SENSOR', payload(20.5), { qos: 1 });
    await hub.flush();
    const rows = await influx.query(hub.database, "SELECT value FROM temperature WHERE device = 'tas1'");
    expect(rows[0]!.values.map((v) => v[1])).toEqual([20.1, 20.2, 20.3, 20.4, 20.5]);
    // All in the same second, in order, a microsecond apart.
    expect(new Set(rows[0]!.values.map((v) => Math.floor((v[0] as number) / 1000))).size).toBe(1);
    const text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
    expect(metric(text, 'hub_duplicate_readings_total')).toBe(1);
  });
});

describe('registry caps, on a real hub', () => {
  let hub: Awaited<ReturnType<typeof startTestHub>>;
  beforeAll(async () => {
    hub = await startTestHub(influx.url, {
      registry: { checkEvery: 0, maxDevices: 3, maxSensorsPerDevice: 2 },
      devices: [{ id: 'declared' }],
    });
  });
  afterAll(async () => {
    await hub?.stop();
  });

  it('quarantines a new device and a new sensor past the caps as device_limit / sensor_limit; known ones keep working', async () => {
    const port = portOf(hub.mqttUrl);
    await pub(port, 'sensors/a', '{"t":1,"h":2}');
    await pub(port, 'sensors/b/t', '1');
    await pub(port, 'sensors/c/t', '1');
    await pub(port, 'sensors/a/x', '3');
    await pub(port, 'sensors/declared/t', '5');
    await pub(port, 'sensors/a/t', '4');
    await hub.flush();
    const rows = await influx.query(hub.database, 'SELECT count(value) FROM /.*/ GROUP BY device, sensor');
    expect(rows.map((s) => `${s.tags?.device}/${s.tags?.sensor}=${s.values[0]![1]}`).sort()).toEqual([
      'a/h=1',
      'a/t=2',
      'b/t=1',
      'declared/t=1',
    ]);
    const q = (await (await fetch(`${hub.httpUrl}/api/quarantine?limit=10`)).json()) as {
      counts: Record<string, number>;
    };
    expect(q.counts.device_limit).toBe(1);
    expect(q.counts.sensor_limit).toBe(1);
    const text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
    expect(text).toMatch(/^hub_quarantined_total\{reason="device_limit"\} 1$/m);
    expect(text).toMatch(/^hub_quarantined_total\{reason="sensor_limit"\} 1$/m);
    const devices = (await (await fetch(`${hub.httpUrl}/api/devices`)).json()) as Devices;
    expect(devices.devices.map((d) => d.id)).toEqual(['a', 'b', 'declared']);
  });

  it('bounds the republish of quarantine entries and counts what it skips and what the file took', async () => {
    const copies: string[] = [];
    const sub = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'q-sub', reconnectPeriod: 0 });
    await sub.subscribeAsync('hub/quarantine/#');
    sub.on('message', (t) => copies.push(t));
    // One synchronous flood: no copy can complete before it ends.
    for (let i = 0; i < 5000; i++)
      hub.ingest({
        topic: 'sensors/b/t',
        payload: Buffer.from('warm'),
        receivedAt: Date.now(),
        source: 'mqtt',
      });
    await eventually(() => copies.length >= 2000);
    const text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
    expect(metric(text, 'hub_quarantine_republish_skipped_total')).toBe(3000);
    expect(metric(text, 'hub_quarantine_file_bytes_total')).toBeGreaterThan(0);
    expect(metric(text, 'hub_quarantine_file_dropped_total')).toBeGreaterThan(0);
    expect(text).toMatch(/^hub_quarantined_total\{reason="not_a_number"\} 5000$/m);
    await new Promise((r) => setTimeout(r, 100));
    expect(copies.length).toBe(2000);
    await sub.endAsync();
  });
});
