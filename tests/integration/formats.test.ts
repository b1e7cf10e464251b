import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MappingConfig } from '../../devices/decoders/mapping.js';
import { loadFixtures, payloadOf } from '../support/fixtures.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

/**
 * Every format's documented payloads, published by a real MQTT client to the hub's
 * broker and read back from a real InfluxDB: metric (measurement), unit tag, value, time.
 */
const fixtures = loadFixtures();

let influx: TestInfluxd;
let hub: Awaited<ReturnType<typeof startTestHub>>;
let client: mqtt.MqttClient;
let publishedFrom = 0;
let publishedTo = 0;

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, {
    // The documented examples are years old: keep their times instead of clamping them.
    time: { maxPastAge: '36500d' },
    // ...and keep them in InfluxDB too (the raw retention policy refuses points older than it keeps).
    retention: { raw: 'INF' },
    formats: { mappings: fixtures.flatMap((f) => (f.config ? [f.config as MappingConfig] : [])) },
    registry: { checkEvery: 0 },
  });
  client = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'fixtures', reconnectPeriod: 0 });
  publishedFrom = Date.now();
  for (const f of fixtures) {
    // QoS 1 in order: the hub acknowledges after decoding, so metadata precedes values.
    for (const m of f.messages) await client.publishAsync(m.topic, payloadOf(m.payload), { qos: 1 });
  }
  publishedTo = Date.now();
  await hub.flush();
});

afterAll(async () => {
  await client?.endAsync();
  await hub?.stop();
  await influx?.stop();
});

describe.each(fixtures.map((f) => [`${f.format}/${f.file}`, f] as const))('%s', (_name, f) => {
  it.each(f.expect.map((e) => [`${e.device} ${e.sensor}`, e] as const))('stores %s', async (_n, e) => {
    const rows = await influx.query(
      hub.database,
      `SELECT value, unit, source FROM "${e.metric}" WHERE device = '${e.device}' AND sensor = '${e.sensor}'`,
    );
    expect(rows, `no point for ${e.device}/${e.sensor} in ${e.metric}`).toHaveLength(1);
    const values = rows[0]!.values;
    expect(values).toHaveLength(1);
    const [time, value, unit, source] = values[0] as [number, number, string, string];
    expect(unit).toBe(e.unit);
    expect(source).toBe('mqtt');
    expect(value).toBeCloseTo(e.value, 3);
    if (e.time) expect(time).toBe(Date.parse(e.time));
    else {
      expect(time).toBeGreaterThanOrEqual(publishedFrom);
      expect(time).toBeLessThanOrEqual(publishedTo);
    }
  });

  it('sets availability and quarantines nothing', async () => {
    for (const [device, state] of Object.entries(f.availability)) {
      expect(hub.registry.get(device)?.state, device).toBe(state);
    }
    const bad = hub.quarantine.recent(100).filter((q) => f.messages.some((m) => m.topic === q.topic));
    expect(bad.map((q) => `${q.topic}: ${q.reason} ${q.detail}`)).toEqual([]);
  });
});

it('publishes retained availability the way a third-party client sees it', async () => {
  const sub = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'watcher', reconnectPeriod: 0 });
  const seen = new Map<string, string>();
  sub.on('message', (topic, payload, packet) => {
    if (packet.retain) seen.set(topic, payload.toString());
  });
  // The hub publishes availability on its own schedule: a subscriber that came too early
  // asks again, as a late client would, and gets what is retained by then.
  const tasmota = 'hub/devices/tasmota_8E5F3C/availability';
  const zigbee = 'hub/devices/0x00158d0001e1a2b3/availability';
  await eventually(
    async () => {
      await sub.unsubscribeAsync('hub/devices/+/availability');
      await sub.subscribeAsync('hub/devices/+/availability');
      await new Promise((r) => setTimeout(r, 100));
      return seen.has(tasmota) && seen.has(zigbee);
    },
    20_000,
    100,
  );
  expect(seen.get(tasmota)).toBe('online');
  expect(seen.get(zigbee)).toBe('offline');
  await sub.endAsync();
});
