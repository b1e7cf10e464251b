// Reading metadata in MQTT 5 user properties, Content Type and Payload Format Indicator,
// through the real decoders and pipeline steps.
import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { DECODERS } from '../../devices/decoders/index.js';
import { EventBus } from '../../hub/core/bus.js';
import type { QuarantineEntry } from '../../hub/core/quarantine-entry.js';
import type { Mqtt5Properties } from '../../hub/core/raw-message.js';
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
    context: { deviceTags: new Map(), maxFutureSkewMs: 300_000, clock: new SeriesClock() },
  });
});

/** User properties as mqtt-packet parses them: a null-prototype record, a repeated key as an array. */
const user = (...pairs: Array<[string, string]>) => {
  const r: Record<string, string | string[]> = Object.create(null);
  for (const [k, v] of pairs) {
    const had = r[k];
    r[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return r;
};

const ingest = (topic: string, payload: string | Buffer, mqtt: Mqtt5Properties) =>
  pipeline.ingest({
    topic,
    payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    receivedAt: NOW,
    source: 'mqtt',
    mqtt,
  });

describe('user properties unit, metric, ts on sensors/<device>/<sensor>', () => {
  it('read a bare number with its unit, metric and epoch-ms time, converted to the canonical unit', () => {
    const { readings } = ingest('sensors/attic/probe1', '70.7', {
      userProperties: user(['unit', '°F'], ['metric', 'temperature'], ['ts', String(NOW - 5000)]),
    });
    expect(readings).toHaveLength(1);
    expect(readings[0]).toMatchObject({
      device: 'attic',
      sensor: 'probe1',
      metric: 'temperature',
      unit: 'Cel',
      ts: NOW - 5000,
      quality: 'good',
    });
    expect(readings[0]!.value).toBeCloseTo(21.5, 10);
  });

  it('read an RFC 3339 time with an offset', () => {
    const { readings } = ingest('sensors/attic/temperature', '20', {
      userProperties: user(['unit', 'Cel'], ['ts', '2026-09-21T14:13:15.500+02:00']),
    });
    expect(readings[0]!.ts).toBe(Date.parse('2026-09-21T12:13:15.500Z'));
  });

  it('a ts far in the future is replaced by the receive time and the reading marked uncertain', () => {
    const { readings } = ingest('sensors/attic/temperature', '20', {
      userProperties: user(['ts', String(NOW + 86_400_000 * 365)]),
    });
    expect(readings[0]).toMatchObject({ ts: NOW, quality: 'uncertain', value: 20 });
  });

  it('an unreadable ts is quarantined as invalid_timestamp', () => {
    const { readings } = ingest('sensors/attic/temperature', '20', { userProperties: user(['ts', 'soon']) });
    expect(readings).toEqual([]);
    expect(quarantined.map((q) => q.reason)).toEqual(['invalid_timestamp']);
  });

  it('other user properties, __proto__ and constructor among them, are ignored', () => {
    const props = user(['__proto__', 'polluted'], ['constructor', 'x'], ['fw', '1.2'], ['unit', '%']);
    const { readings } = ingest('sensors/attic/humidity', '41', { userProperties: props });
    expect(readings[0]).toMatchObject({ metric: 'humidity', unit: '%RH', value: 41 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a unit named __proto__ is an unknown unit, quarantined', () => {
    const { readings } = ingest('sensors/attic/temperature', '20', {
      userProperties: user(['unit', '__proto__']),
    });
    expect(readings).toEqual([]);
    expect(quarantined.map((q) => q.reason)).toEqual(['unknown_unit']);
  });

  it('a key sent twice with one value counts once; with two values the message is quarantined', () => {
    expect(
      ingest('sensors/dup/temperature', '20', { userProperties: user(['unit', 'Cel'], ['unit', 'Cel']) })
        .readings[0],
    ).toMatchObject({ value: 20, unit: 'Cel' });
    const { readings } = ingest('sensors/dup/temperature', '68', {
      userProperties: user(['unit', 'Cel'], ['unit', '°F']),
    });
    expect(readings).toEqual([]);
    expect(quarantined).toHaveLength(1);
    expect(quarantined[0]).toMatchObject({ reason: 'invalid_shape', device: 'dup' });
    expect(quarantined[0]!.detail).toMatch(/unit is given 2 times with different values/);
  });

  it('a huge value is refused before any lookup, with a short detail', () => {
    const { readings } = ingest('sensors/huge/temperature', '20', {
      userProperties: user(['unit', 'C'.repeat(60_000)]),
    });
    expect(readings).toEqual([]);
    expect(quarantined[0]!.reason).toBe('invalid_shape');
    expect(quarantined[0]!.detail).toMatch(/unit is 60000 characters long \(at most 64\)/);
    expect(quarantined[0]!.detail.length).toBeLessThan(200);
  });

  it('a JSON payload and user properties that agree are one reading; disagreeing, quarantined', () => {
    const agree = ingest('sensors/both/temperature', '{"value":20,"unit":"Cel"}', {
      userProperties: user(['unit', 'Cel'], ['ts', String(NOW - 1000)]),
    });
    expect(agree.readings[0]).toMatchObject({ value: 20, ts: NOW - 1000 });
    const disagree = ingest('sensors/both/temperature', '{"value":20,"unit":"Cel"}', {
      userProperties: user(['unit', '°F']),
    });
    expect(disagree.readings).toEqual([]);
    expect(quarantined[0]!.detail).toMatch(/disagree/);
  });
});

describe('user properties on sensors/<device>', () => {
  it('ts is the time of every value without its own', () => {
    const { readings } = ingest(
      'sensors/room',
      `{"temperature":20,"humidity":{"value":40,"ts":${NOW - 500}}}`,
      {
        userProperties: user(['ts', String(NOW - 2000)]),
      },
    );
    expect(readings.map((r) => [r.sensor, r.ts])).toEqual([
      ['temperature', NOW - 2000],
      ['humidity', NOW - 500],
    ]);
  });

  it('unit or metric, which name one sensor, are refused with the topic to use', () => {
    const { readings } = ingest('sensors/room', '{"temperature":20}', {
      userProperties: user(['unit', 'Cel']),
    });
    expect(readings).toEqual([]);
    expect(quarantined[0]!.detail).toMatch(/publish to sensors\/room\/<sensor>/);
  });
});

describe('Content Type [MQTT-3.3.2.3.9] and Payload Format Indicator [MQTT-3.3.2.3.2]', () => {
  it('application/json reads a JSON number; a payload that is not JSON is invalid_json', () => {
    expect(
      ingest('sensors/ct/temperature', '21.5', { contentType: 'application/json' }).readings[0],
    ).toMatchObject({
      value: 21.5,
    });
    expect(ingest('sensors/ct/temperature', 'twenty', { contentType: 'application/json' }).readings).toEqual(
      [],
    );
    expect(quarantined.map((q) => q.reason)).toEqual(['invalid_json']);
  });

  it('text/plain (with a UTF-8 charset) is never parsed as JSON', () => {
    expect(
      ingest('sensors/ct/temperature', ' 22 ', { contentType: 'text/plain; charset=utf-8' }).readings[0],
    ).toMatchObject({ value: 22 });
    expect(ingest('sensors/ct/temperature', '{"value":22}', { contentType: 'Text/Plain' }).readings).toEqual(
      [],
    );
    expect(quarantined.map((q) => q.reason)).toEqual(['not_a_number']);
  });

  it('another type, or another charset, is quarantined naming what is read', () => {
    ingest('sensors/ct/temperature', '22', { contentType: 'application/cbor' });
    ingest('sensors/ct/temperature', '22', { contentType: 'text/plain; charset=latin1' });
    ingest('sensors/ct', '{"temperature":22}', { contentType: 'text/plain' });
    expect(quarantined.map((q) => q.reason)).toEqual(['invalid_shape', 'invalid_shape', 'invalid_shape']);
    expect(quarantined[0]!.detail).toMatch(/application\/json or text\/plain/);
    expect(quarantined[1]!.detail).toMatch(/UTF-8 only/);
  });

  it('a payload declared UTF-8 that is not (QoS 0: no PUBACK to refuse it) is quarantined as not_utf8', () => {
    const { readings } = ingest('sensors/pfi/temperature', Buffer.from([0x32, 0xff]), {
      payloadFormatIndicator: true,
    });
    expect(readings).toEqual([]);
    expect(quarantined.map((q) => q.reason)).toEqual(['not_utf8']);
  });
});
