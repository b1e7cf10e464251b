import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { DECODERS } from '../../devices/decoders/index.js';
import { EventBus } from '../../hub/core/bus.js';
import type { QuarantineEntry } from '../../hub/core/quarantine-entry.js';
import { Pipeline } from '../../hub/pipeline/pipeline.js';
import { SeriesClock } from '../../hub/pipeline/series-clock.js';
import { Quarantine } from '../../hub/quarantine.js';

const NOW = 1_790_000_000_000;
let quarantined: QuarantineEntry[];
let pipeline: Pipeline;

beforeEach(() => {
  const log = pino({ level: 'silent' });
  const bus = new EventBus(log);
  quarantined = [];
  bus.on({}, 'quarantine', (e) => quarantined.push(e));
  pipeline = new Pipeline({
    decoders: DECODERS,
    quarantine: new Quarantine(bus, log),
    bus,
    maxPayloadBytes: 256 * 1024,
    context: {
      deviceTags: new Map([['kitchen', { location: 'house' }]]),
      maxFutureSkewMs: 300_000,
      clock: new SeriesClock(),
    },
  });
});

const ingest = (topic: string, payload: string | Buffer) =>
  pipeline.ingest({
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    receivedAt: NOW,
    source: 'mqtt',
  });

describe('sensors/<device>/<sensor>', () => {
  it('reads a bare number as the metric named by the sensor, in its canonical unit, at receive time', () => {
    const { readings } = ingest('sensors/garage/temperature', '21.5');
    expect(readings).toEqual([
      {
        device: 'garage',
        sensor: 'temperature',
        metric: 'temperature',
        value: 21.5,
        unit: 'Cel',
        ts: NOW,
        source: 'mqtt',
        quality: 'good',
      },
    ]);
  });

  it('reads a value object, converting °F and taking the device time', () => {
    const { readings } = ingest(
      'sensors/garage/t1',
      JSON.stringify({ value: 70.7, unit: '°F', ts: NOW - 5000, metric: 'temperature' }),
    );
    expect(readings[0]).toMatchObject({ metric: 'temperature', unit: 'Cel', ts: NOW - 5000 });
    expect(readings[0]!.value).toBeCloseTo(21.5, 10);
  });

  it('gives readings of one sensor in the same millisecond distinct times, 1 µs apart', () => {
    const times = ['1', '2', '3'].map((v) => ingest('sensors/fast/counter', v).readings[0]!.ts);
    expect(times).toEqual([NOW, NOW + 0.001, NOW + 0.002]);
    // Another sensor keeps its own clock; a device time in the same millisecond gets the next free µs.
    expect(ingest('sensors/fast/other', '1').readings[0]!.ts).toBe(NOW);
    expect(ingest('sensors/fast/counter', JSON.stringify({ value: 4, ts: NOW })).readings[0]!.ts).toBe(
      NOW + 0.003,
    );
  });

  it('turns booleans and on/off into 0/1', () => {
    expect(ingest('sensors/hall/motion', 'true').readings[0]!.value).toBe(1);
    expect(ingest('sensors/hall/motion', 'OFF').readings[0]!.value).toBe(0);
  });

  it('infers metrics from common sensor names and keeps unknown names as their own metric', () => {
    expect(ingest('sensors/a/hum', '40').readings[0]).toMatchObject({ metric: 'humidity', unit: '%RH' });
    expect(ingest('sensors/a/flux_capacitor', '1.21').readings[0]).toMatchObject({
      metric: 'flux_capacitor',
      unit: '1',
    });
  });

  it('adds the tags a device declares', () => {
    expect(ingest('sensors/kitchen/temperature', '20').readings[0]!.tags).toEqual({ location: 'house' });
  });

  it('reads epoch seconds and ISO 8601 device times', () => {
    expect(
      ingest('sensors/a/temperature', JSON.stringify({ value: 1, ts: (NOW - 60_000) / 1000 })).readings[0]!
        .ts,
    ).toBe(NOW - 60_000);
    const iso = new Date(NOW - 1000).toISOString();
    expect(ingest('sensors/a/temperature', JSON.stringify({ value: 1, ts: iso })).readings[0]!.ts).toBe(
      NOW - 1000,
    );
  });

  it('clamps a device clock running ahead to the receive time and marks the reading uncertain', () => {
    const r = ingest('sensors/a/temperature', JSON.stringify({ value: 1, ts: NOW + 3_600_000 })).readings[0]!;
    expect(r.ts).toBe(NOW);
    expect(r.quality).toBe('uncertain');
  });
});

describe('sensors/<device> objects', () => {
  it('reads several sensors, with a shared time and per-sensor units', () => {
    const { readings } = ingest(
      'sensors/porch',
      JSON.stringify({
        temperature: 21.5,
        humidity: 40,
        pressure: { value: 1013.25, unit: 'hPa' },
        ts: NOW - 10,
      }),
    );
    expect(readings.map((r) => [r.sensor, r.metric, r.value, r.unit, r.ts])).toEqual([
      ['temperature', 'temperature', 21.5, 'Cel', NOW - 10],
      ['humidity', 'humidity', 40, '%RH', NOW - 10],
      ['pressure', 'pressure', 101_325, 'Pa', NOW - 10],
    ]);
  });

  it('quarantines one bad sensor value and keeps its siblings', () => {
    const { readings, rejected } = ingest(
      'sensors/porch',
      JSON.stringify({ temperature: 'warm', humidity: 40 }),
    );
    expect(readings.map((r) => r.sensor)).toEqual(['humidity']);
    expect(rejected).toBe(1);
    expect(quarantined[0]).toMatchObject({ device: 'porch', reason: 'not_a_number' });
    expect(quarantined[0]!.detail).toContain('temperature');
  });
});

describe('quarantine', () => {
  const cases: Array<[string, string, string | Buffer, string]> = [
    ['garbage bytes', 'sensors/a/temperature', Buffer.from([0xff, 0xfe, 0x00, 0x81]), 'not_utf8'],
    ['text', 'sensors/a/temperature', 'warm', 'not_a_number'],
    ['NaN', 'sensors/a/temperature', 'NaN', 'non_finite'],
    ['Infinity in JSON value', 'sensors/a/temperature', '{"value":1e999}', 'non_finite'],
    ['null value', 'sensors/a/temperature', '{"value":null}', 'not_a_number'],
    ['nested object', 'sensors/a/temperature', '{"value":{"x":1}}', 'not_a_number'],
    ['array', 'sensors/a/temperature', '[1,2]', 'invalid_shape'],
    ['object without value', 'sensors/a/temperature', '{"v":1}', 'invalid_shape'],
    ['broken JSON', 'sensors/a/temperature', '{"value":', 'invalid_json'],
    ['empty', 'sensors/a/temperature', '', 'empty_payload'],
    ['unknown unit', 'sensors/a/temperature', '{"value":1,"unit":"furlongs"}', 'unknown_unit'],
    ['unit of another quantity', 'sensors/a/temperature', '{"value":1,"unit":"hPa"}', 'unknown_unit'],
    ['implausible temperature', 'sensors/a/temperature', '-127', 'out_of_range'],
    ['bad timestamp', 'sensors/a/temperature', '{"value":1,"ts":"yesterday-ish"}', 'invalid_timestamp'],
    ['bad device id', 'sensors/a b/temperature', '1', 'invalid_id'],
    ['device object that is not an object', 'sensors/a', '21.5', 'invalid_shape'],
  ];
  for (const [name, topic, payload, reason] of cases) {
    it(`${name} -> ${reason}, with the raw bytes kept`, () => {
      const res = ingest(topic, payload);
      expect(res.readings).toEqual([]);
      expect(quarantined).toHaveLength(1);
      const e = quarantined[0]!;
      expect(e.reason).toBe(reason);
      expect(e.topic).toBe(topic);
      expect(Buffer.from(e.payload, 'base64')).toEqual(Buffer.from(payload));
      expect(e.detail.length).toBeGreaterThan(5);
    });
  }

  it('cuts the raw bytes of a 1 MB payload but says how large it was', () => {
    ingest('sensors/a/temperature', Buffer.alloc(1024 * 1024, 0x31));
    const e = quarantined[0]!;
    expect(e.reason).toBe('payload_too_large');
    expect(e.size).toBe(1024 * 1024);
    expect(e.truncated).toBe(true);
    expect(Buffer.from(e.payload, 'base64').length).toBe(4096);
  });

  it('leaves topics no decoder reads to the caller', () => {
    expect(ingest('weather/station', '1').handled).toBe(false);
  });
});
