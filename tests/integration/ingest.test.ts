import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

const run = promisify(execFile);
let influx: TestInfluxd;
let hub: HubHandle & { database: string };
let port: number;

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url);
  port = Number(new URL(hub.mqttUrl).port);
});
afterAll(async () => {
  await hub?.stop();
  await influx?.stop();
});

const points = (measurement: string, device: string) =>
  influx.query(hub.database, `SELECT * FROM "${measurement}" WHERE device = '${device}'`);

describe('MQTT readings into InfluxDB', () => {
  it('stores a mosquitto_pub bare number within 2 s, with measurement, tags, unit and time', async () => {
    const before = Date.now();
    await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-t',
      'sensors/kitchen/temperature',
      '-m',
      '21.5',
    ]);
    const series = await eventually(async () => (await points('temperature', 'kitchen'))[0], 2000);
    expect(series.columns).toEqual(['time', 'device', 'sensor', 'source', 'unit', 'value']);
    const [time, device, sensor, source, unit, value] = series.values[0]!;
    expect({ device, sensor, source, unit, value }).toEqual({
      device: 'kitchen',
      sensor: 'temperature',
      source: 'mqtt',
      unit: 'Cel',
      value: 21.5,
    });
    expect(time as number).toBeGreaterThanOrEqual(before - 5);
    expect(time as number).toBeLessThanOrEqual(Date.now());
  });

  it('stores value objects and device objects from the mqtt package, converted to canonical units', async () => {
    const client = await mqtt.connectAsync(hub.mqttUrl);
    const ts = Date.now() - 60_000;
    await client.publishAsync(
      'sensors/porch/t',
      JSON.stringify({ value: 68, unit: '°F', ts, metric: 'temperature' }),
      { qos: 1 },
    );
    await client.publishAsync(
      'sensors/porch',
      JSON.stringify({ humidity: 40, pressure: { value: 1013.25, unit: 'hPa' }, ts }),
      { qos: 1 },
    );
    await client.endAsync();
    const t = await eventually(async () => (await points('temperature', 'porch'))[0]);
    expect(t.values[0]![0]).toBe(ts);
    expect(t.values[0]![5]).toBeCloseTo(20, 10);
    const p = await eventually(async () => (await points('pressure', 'porch'))[0]);
    expect(p.values[0]).toEqual([ts, 'porch', 'pressure', 'mqtt', 'Pa', 101_325]);
    const h = await eventually(async () => (await points('humidity', 'porch'))[0]);
    expect(h.values[0]).toEqual([ts, 'porch', 'humidity', 'mqtt', '%RH', 40]);
  });

  it('republishes canonical readings on hub/readings/<device>/<sensor>', async () => {
    const sub = spawn('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-t',
      'hub/readings/attic/#',
      '-C',
      '1',
      '-W',
      '10',
    ]);
    let out = '';
    sub.stdout.on('data', (c) => (out += c));
    const exited = new Promise((r) => sub.on('exit', r));
    // mosquitto_sub has no "subscribed" signal: publish until it has received one.
    await eventually(
      async () => {
        await run('mosquitto_pub', [
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '-t',
          'sensors/attic/humidity',
          '-m',
          '55',
        ]);
        return out.length > 0;
      },
      8000,
      200,
    );
    await exited;
    expect(JSON.parse(out)).toMatchObject({
      device: 'attic',
      sensor: 'humidity',
      metric: 'humidity',
      value: 55,
      unit: '%RH',
      source: 'mqtt',
      quality: 'good',
    });
  });

  it('republishes to subscribers that come and go, whatever filter they use', async () => {
    const dev = await mqtt.connectAsync(hub.mqttUrl);
    const got: string[] = [];
    const listen = async (filter: string) => {
      const c = await mqtt.connectAsync(hub.mqttUrl);
      c.on('message', (topic) => got.push(`${filter} ${topic}`));
      await c.subscribeAsync(filter);
      return c;
    };
    const a = await listen('hub/readings/+/temperature');
    await dev.publishAsync('sensors/loft/temperature', '1', { qos: 1 });
    await eventually(() => got.includes('hub/readings/+/temperature hub/readings/loft/temperature'));
    await a.endAsync();
    const b = await listen('#');
    await dev.publishAsync('sensors/loft/humidity', '50', { qos: 1 });
    await eventually(() => got.includes('# hub/readings/loft/humidity'));
    await b.unsubscribeAsync('#');
    const c = await listen('hub/+/loft/+');
    await dev.publishAsync('sensors/loft/pressure', '100000', { qos: 1 });
    await eventually(() => got.includes('hub/+/loft/+ hub/readings/loft/pressure'));
    expect(got.filter((g) => g.startsWith('# hub/readings/loft/pressure'))).toEqual([]);
    await Promise.all([b.endAsync(), c.endAsync(), dev.endAsync()]);
  });

  it("forwards devices' own publishes as a broker does: to later subscribers, retained, and queued for an away session", async () => {
    const dev = await mqtt.connectAsync(hub.mqttUrl);
    const sub = await mqtt.connectAsync(hub.mqttUrl);
    const got: string[] = [];
    sub.on('message', (topic, payload, packet) => got.push(`${topic} ${payload} retain=${packet.retain}`));
    await sub.subscribeAsync('sensors/+/pressure');
    // Published while nobody listens to that topic: stored, not forwarded.
    await dev.publishAsync('sensors/belfry/humidity', '40', { qos: 1 });
    await sub.subscribeAsync('sensors/+/humidity');
    // The same topic again, now that someone subscribed to it.
    await dev.publishAsync('sensors/belfry/humidity', '41', { qos: 1 });
    await dev.publishAsync('sensors/belfry/temperature', '20', { qos: 0 });
    await eventually(() => got.includes('sensors/belfry/humidity 41 retain=false'));
    expect(got).toEqual(['sensors/belfry/humidity 41 retain=false']);

    // Retained with nobody listening: a later subscriber gets it.
    await dev.publishAsync('sensors/garage/door', '1', { qos: 1, retain: true });
    await sub.subscribeAsync('sensors/garage/#');
    await eventually(() => got.includes('sensors/garage/door 1 retain=true'));

    // A persistent session keeps its subscription while its client is away.
    const away = { clientId: 'dashboard-away', clean: false } as const;
    const p1 = await mqtt.connectAsync(hub.mqttUrl, away);
    await p1.subscribeAsync('sensors/vault/#', { qos: 1 });
    await p1.endAsync();
    await dev.publishAsync('sensors/vault/temperature', '12.5', { qos: 1 });
    const queued: string[] = [];
    const p2 = mqtt.connect(hub.mqttUrl, away);
    p2.on('message', (t, m) => queued.push(`${t} ${m}`));
    await eventually(() => queued.length > 0);
    expect(queued).toEqual(['sensors/vault/temperature 12.5']);
    await Promise.all([p2.endAsync(), sub.endAsync(), dev.endAsync()]);
    // Every one of them was stored, whether forwarded or not.
    await eventually(async () => (await points('humidity', 'belfry'))[0]?.values.length === 2);
    await eventually(async () => (await points('temperature', 'vault'))[0]?.values.length === 1);
  });

  it('streams readings as server-sent events, only the asked device when filtered', async () => {
    const open = async (query: string) => {
      const res = await fetch(`${hub.httpUrl}/api/stream${query}`);
      const reader = res.body!.getReader();
      let text = '';
      const read = async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          text += Buffer.from(value).toString();
        }
      };
      void read().catch(() => undefined);
      return { text: () => text, close: () => reader.cancel() };
    };
    const all = await open('');
    const one = await open('?device=study');
    await eventually(() => all.text().includes(': connected') && one.text().includes(': connected'));
    const dev = await mqtt.connectAsync(hub.mqttUrl);
    await dev.publishAsync('sensors/hall/temperature', '19', { qos: 1 });
    await dev.publishAsync('sensors/study', JSON.stringify({ temperature: 22, humidity: 45 }), { qos: 1 });
    await dev.endAsync();
    await eventually(() => all.text().includes('"device":"study","sensor":"humidity"'));
    await eventually(() => one.text().includes('"device":"study","sensor":"humidity"'));
    expect(all.text()).toContain('"device":"hall"');
    expect(one.text()).not.toContain('"device":"hall"');
    expect(one.text().match(/event: reading/g)).toHaveLength(2);
    await Promise.all([all.close(), one.close()]);
  });

  it('quarantines bad payloads with their reason, announces them, and keeps serving', async () => {
    const client = await mqtt.connectAsync(hub.mqttUrl);
    const announced: string[] = [];
    await client.subscribeAsync('hub/quarantine/#');
    client.on('message', (topic, payload) =>
      announced.push(`${topic} ${JSON.parse(payload.toString()).reason}`),
    );
    const bad: Array<[string, string | Buffer, string]> = [
      ['sensors/cellar/temperature', Buffer.from([0xc3, 0x28, 0xff]), 'not_utf8'],
      ['sensors/cellar/temperature', 'NaN', 'non_finite'],
      ['sensors/cellar/temperature', '{"value":"warm"}', 'not_a_number'],
      // over mqtt.maxPayloadBytes (256 KiB), under mqtt.maxPacketBytes (512 KiB): read, then quarantined
      ['sensors/cellar/temperature', Buffer.alloc(300 * 1024, 0x20), 'payload_too_large'],
      ['weather/cellar', '12', 'unknown_topic'],
    ];
    for (const [topic, payload] of bad) await client.publishAsync(topic, payload, { qos: 1 });
    await client.publishAsync('sensors/cellar/temperature', '12.5', { qos: 1 });

    const res = await eventually(async () => {
      const r = (await (await fetch(`${hub.httpUrl}/api/quarantine?limit=10`)).json()) as {
        counts: Record<string, number>;
        entries: Array<{ reason: string; topic: string; device: string }>;
      };
      return r.entries.length >= 5 ? r : undefined;
    });
    expect(res.entries.map((e) => e.reason).reverse()).toEqual(bad.map((b) => b[2]));
    for (const b of bad) expect(res.counts[b[2]]).toBeGreaterThanOrEqual(1);
    expect(res.entries.find((e) => e.reason === 'unknown_topic')!.device).toBe('_unknown');
    await eventually(() => announced.length >= 5);
    expect(announced).toContain('hub/quarantine/cellar non_finite');

    // The hub is still serving: the good reading after the bad ones is stored.
    const good = await eventually(async () => (await points('temperature', 'cellar'))[0]);
    expect(good.values.map((v) => v[5])).toEqual([12.5]);
    const metrics = await (await fetch(`${hub.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/hub_quarantined_total\{reason="payload_too_large"\} 1/);
    expect(metrics).toMatch(/hub_devices\{state="online"\} [1-9]/);
    await client.endAsync();
  });

  it('lists devices and serves their history', async () => {
    const client = await mqtt.connectAsync(hub.mqttUrl);
    const now = Date.now();
    for (let i = 0; i < 5; i++) {
      await client.publishAsync(
        'sensors/shed/temperature',
        JSON.stringify({ value: 10 + i, ts: now - (5 - i) * 60_000 }),
        { qos: 1 },
      );
    }
    await client.endAsync();
    await hub.flush();
    const devices = (await (await fetch(`${hub.httpUrl}/api/devices`)).json()) as {
      devices: Array<{ id: string; state: string }>;
    };
    expect(devices.devices.find((d) => d.id === 'shed')).toMatchObject({ state: 'online' });
    const hist = (await (
      await fetch(`${hub.httpUrl}/api/readings?device=shed&sensor=temperature&from=-1h&every=1m`)
    ).json()) as { points: Array<{ mean: number }>; unit: string };
    expect(hist.unit).toBe('Cel');
    expect(hist.points.map((p) => p.mean)).toEqual([10, 11, 12, 13, 14]);
    const bad = await fetch(`${hub.httpUrl}/api/readings?device=shed&sensor=temperature&from=-7d&every=1s`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/more than 10000/);
    const injection = await fetch(
      `${hub.httpUrl}/api/readings?device=${encodeURIComponent("shed' OR 1=1")}&sensor=temperature`,
    );
    expect(injection.status).toBe(400);
  });

  it('marks a device offline when its connection drops without DISCONNECT, and retains it', async () => {
    const client = await mqtt.connectAsync(hub.mqttUrl, { reconnectPeriod: 0 });
    await client.publishAsync('sensors/barn/temperature', '5', { qos: 1 });
    await eventually(() => hub.registry.get('barn')?.state === 'online');
    client.stream.destroy(); // the device loses power
    await eventually(() => hub.registry.get('barn')?.state === 'offline');
    const { stdout } = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-t',
      'hub/devices/barn/availability',
      '-C',
      '1',
      '-W',
      '5',
    ]);
    expect(stdout.trim()).toBe('offline');
    client.end(true);
    // Back with the same client id, then lost again: offline again.
    for (let i = 0; i < 2; i++) {
      const again = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'barn-mcu', reconnectPeriod: 0 });
      await again.publishAsync('sensors/barn/temperature', '6', { qos: 1 });
      await eventually(() => hub.registry.get('barn')?.state === 'online');
      again.stream.destroy();
      await eventually(() => hub.registry.get('barn')?.state === 'offline');
      again.end(true);
    }
  });

  it('publishes its own retained status', async () => {
    const { stdout } = await run('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-t',
      'hub/status',
      '-C',
      '1',
      '-W',
      '5',
    ]);
    expect(stdout.trim()).toBe('online');
  });
});
