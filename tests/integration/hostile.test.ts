import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QuarantineReason } from '../../hub/core/errors.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

type Case = [topic: string, payload: string | Buffer, reason: QuarantineReason];

const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
const notUtf8 = Buffer.from([0xff, 0xfe, 0x21]);

/** Malformed and hostile payloads, per decoder: each must end in quarantine with this reason. */
const CASES: Record<string, Case[]> = {
  tasmota: [
    ['tele/h_tas/SENSOR', 'not json{', 'invalid_json'],
    ['tele/h_tas/SENSOR', '[1,2]', 'invalid_shape'],
    ['tele/h_tas/SENSOR', '{"Time":"2024-01-01T00:00:00"}', 'invalid_shape'],
    ['tele/h_tas/SENSOR', '{"BME280":{"Temperature":"hot"}}', 'not_a_number'],
    ['tele/h_tas/SENSOR', '{"BME280":{"Temperature":null}}', 'not_a_number'],
    ['tele/h_tas/SENSOR', '{"BME280":{"Temperature":1e400}}', 'non_finite'],
    ['tele/h_tas/SENSOR', '{"BME280":{"Temperature":-500}}', 'out_of_range'],
    ['tele/h_tas/SENSOR', '{"BME280":{"Temperature":20},"TempUnit":"X"}', 'unknown_unit'],
    ['tele/h_tas/SENSOR', '{"Time":"2019-13-45T99:00:00","BME280":{"Temperature":20}}', 'invalid_timestamp'],
    ['tele/h_tas/SENSOR', notUtf8, 'not_utf8'],
    ['tele/h_tas/SENSOR', '', 'empty_payload'],
    [
      'tele/h_tas/SENSOR',
      '{"constructor":{"toString":"x"},"hasOwnProperty":{"valueOf":"y"}}',
      'invalid_shape',
    ],
  ],
  esphome: [
    ['h_esp/sensor/h_esp_temperature/state', 'nan', 'non_finite'],
    ['h_esp/sensor/h_esp_temperature/state', 'warm', 'not_a_number'],
    ['h_esp/status', 'maybe', 'invalid_shape'],
    ['homeassistant/sensor/h_esp/t/config', '{"stat_t":', 'invalid_json'],
  ],
  shelly: [
    ['h_shelly/status/temperature:0', '{"id":0,"tC":"warm"}', 'not_a_number'],
    ['h_shelly/status/temperature:0', '[]', 'invalid_shape'],
    ['h_shelly/events/rpc', '{"method":"NotifyStatus","params":5}', 'invalid_shape'],
    [
      'h_shelly/events/rpc',
      '{"method":"NotifyStatus","params":{"ts":"soon","humidity:0":{"rh":40}}}',
      'invalid_timestamp',
    ],
    ['h_shelly/online', 'perhaps', 'invalid_shape'],
  ],
  homie: [
    ['homie/h-homie/$state', 'toString', 'invalid_shape'],
    ['homie/5/h-homie5/$description', '{bad', 'invalid_json'],
    ['homie/h-homie/node/temperature', 'NaN', 'non_finite'],
    ['homie/h-homie/node/temperature', '1e999', 'non_finite'],
  ],
  zigbee2mqtt: [
    ['zigbee2mqtt/h_z2m', '[1]', 'invalid_shape'],
    // V8 parses deep nesting without recursion; the shape is still wrong
    ['zigbee2mqtt/h_z2m', deep, 'invalid_shape'],
    ['zigbee2mqtt/h_z2m', '{"temperature":"x"}', 'not_a_number'],
    ['zigbee2mqtt/h_z2m', '{"temperature":9999}', 'out_of_range'],
    ['zigbee2mqtt/h_z2m', '{"humidity":50,"last_seen":"yesterday"}', 'invalid_timestamp'],
    ['zigbee2mqtt/bridge/devices', '{"not":"an array"}', 'invalid_shape'],
    ['zigbee2mqtt/h_z2m/availability', '{"state":"meh"}', 'invalid_shape'],
    ['zigbee2mqtt/bridge/state', '"sideways"', 'invalid_shape'],
  ],
  mapping: [
    ['hostile/h_map/data', '{}', 'invalid_shape'],
    ['hostile/h_map/data', '12', 'invalid_shape'],
    ['hostile/h_map/data', '{"v":{"nested":1}}', 'not_a_number'],
    ['hostile/h_map/data', '{"v":"12abc"}', 'not_a_number'],
  ],
  sensors: [
    ['sensors/h_sens/temperature', 'Infinity', 'non_finite'],
    ['sensors/h_sens/temperature', '{"value":20,"unit":"parsec"}', 'unknown_unit'],
    ['sensors/h sens/temperature', '20', 'invalid_id'],
  ],
};

let influx: TestInfluxd;
let hub: Awaited<ReturnType<typeof startTestHub>>;
let client: mqtt.MqttClient;

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, {
    mqtt: { maxPayloadBytes: 1024 * 1024 },
    formats: {
      mappings: [
        { name: 'hostile', topic: 'hostile/+/data', device: '{1}', values: [{ path: 'v', sensor: 'v' }] },
      ],
    },
    registry: { checkEvery: 0 },
  });
  client = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'hostile', reconnectPeriod: 0 });
  // Each case twice: QoS 0 (framed by the hub itself unless large) and QoS 1 (through Aedes).
  for (const qos of [0, 1] as const) {
    for (const cases of Object.values(CASES)) {
      for (const [topic, payload] of cases) await client.publishAsync(topic, payload, { qos });
    }
  }
  await client.publishAsync('sensors/after_hostile/temperature', '21.5', { qos: 1 });
  await hub.flush();
});

afterAll(async () => {
  await client?.endAsync();
  await hub?.stop();
  await influx?.stop();
});

describe.each(Object.entries(CASES))('%s', (_format, cases) => {
  it.each(cases.map((c, i) => [i, c[0], c[2], c] as const))('#%i %s -> %s', (_i, topic, reason, c) => {
    const entries = hub.quarantine.recent(1000).filter((e) => e.topic === topic && e.reason === reason);
    expect(entries.length, `${topic} ${reason}`).toBeGreaterThanOrEqual(2);
    // the raw bytes are kept (base64, cut to 4 KiB)
    const sent = Buffer.isBuffer(c[1]) ? c[1] : Buffer.from(c[1]);
    const kept = entries.map((e) => Buffer.from(e.payload, 'base64'));
    expect(
      kept.some((raw) => sent.subarray(0, raw.length).equals(raw) && raw.length > 0 === sent.length > 0),
    ).toBe(true);
  });
});

it('writes no point for any of them, and keeps serving', async () => {
  const series = await influx.query(hub.database, 'SELECT count(value) FROM /.*/ GROUP BY device');
  expect(series.map((s) => s.tags?.device)).toEqual(['after_hostile']);
});

it('counts quarantine reasons in /api/quarantine and /metrics', async () => {
  const total = 2 * Object.values(CASES).flat().length;
  const api = (await (await fetch(`${hub.httpUrl}/api/quarantine?limit=1000`)).json()) as {
    counts: Record<string, number>;
  };
  expect(Object.values(api.counts).reduce((a, b) => a + b, 0)).toBe(total);
  expect(api.counts.not_a_number).toBe(
    2 *
      Object.values(CASES)
        .flat()
        .filter((c) => c[2] === 'not_a_number').length,
  );
  const metrics = await eventually(async () => {
    const text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
    return text.includes('hub_quarantined_total{reason="invalid_json"}') ? text : undefined;
  });
  expect(metrics).toMatch(/hub_quarantined_total\{reason="non_finite"\} \d+/);
});
