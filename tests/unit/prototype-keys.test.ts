import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { buildDecoders } from '../../devices/decoders/index.js';
import { MetaCache } from '../../devices/meta-cache.js';
import { EventBus } from '../../hub/core/bus.js';
import { RejectError } from '../../hub/core/errors.js';
import type { Reading } from '../../hub/core/reading.js';
import { HomeAssistantDiscovery } from '../../hub/homeassistant.js';
import { Pipeline } from '../../hub/pipeline/pipeline.js';
import { SeriesClock } from '../../hub/pipeline/series-clock.js';
import { Quarantine } from '../../hub/quarantine.js';
import { DeviceRegistry } from '../../hub/registry.js';

const NOW = 1_790_000_000_000;
const log = pino({ level: 'silent' });
/** Ids that name properties of Object.prototype: ordinary ids for the hub. */
const PROTO_IDS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];

/** Object.prototype is as it was: nothing hostile was written onto it. */
function expectPristine(): void {
  const o = {} as Record<string, unknown>;
  for (const k of ['value', 'sensor', 'metric', 'unit', 'ts', 'state', 'x', '1', 'temperature'])
    expect(o[k]).toBeUndefined();
  expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
  expect(Object.keys(Object.prototype)).toEqual([]);
}

afterEach(expectPristine);

const reading = (device: string, sensor: string, value = 21.5): Reading => ({
  device,
  sensor,
  metric: 'temperature',
  value,
  unit: 'Cel',
  ts: NOW,
  source: 'mqtt',
  quality: 'good',
});

describe('registry with prototype ids', () => {
  it('keeps devices and sensors named like Object.prototype properties as ordinary entries', () => {
    const bus = new EventBus(log);
    let now = NOW;
    const reg = new DeviceRegistry(bus, [], { checkEveryMs: 0, now: () => now });
    reg.start();
    for (const d of [...PROTO_IDS, 'x'])
      for (const s of PROTO_IDS) bus.emit('readings', [reading(d, s, PROTO_IDS.indexOf(s))]);
    for (const d of [...PROTO_IDS, 'x']) {
      const dev = reg.get(d)!;
      expect(dev.id).toBe(d);
      expect(Object.keys(dev.sensors).sort()).toEqual([...PROTO_IDS].sort());
      for (const s of PROTO_IDS) expect(dev.sensors[s]!.value).toBe(PROTO_IDS.indexOf(s));
    }
    // What crashed the hub: the staleness timer walking a device's sensors.
    now += 3_600_000;
    expect(() => reg.checkStale()).not.toThrow();
    expect(reg.get('x')!.sensors['toString']!.stale).toBe(false);
    expect(reg.get('x')!.sensors['valueOf']!.sensor).toBe('valueOf');
    // An unknown sensor is no inherited property.
    expect(reg.get('x')!.sensors['isPrototypeOf']).toBeUndefined();
    // The API's JSON lists them as own keys.
    const json = JSON.parse(JSON.stringify(reg.list())) as Array<{ id: string; sensors: object }>;
    const sensors = json.find((d) => d.id === '__proto__')!.sensors;
    expect(Object.keys(sensors).sort()).toEqual([...PROTO_IDS].sort());
    expect(Object.getOwnPropertyDescriptor(sensors, '__proto__')?.value).toMatchObject({ value: 0 });
    reg.stop();
  });

  it('restores sensors with prototype ids from storage', () => {
    const reg = new DeviceRegistry(new EventBus(log), [], { checkEveryMs: 0 });
    const known = PROTO_IDS.map((s, i) => ({
      device: '__proto__',
      sensor: s,
      metric: 'temperature',
      unit: 'Cel',
      source: 'mqtt',
      value: i,
      ts: NOW,
    }));
    expect(reg.restore(known)).toBe(PROTO_IDS.length);
    expect(Object.keys(reg.get('__proto__')!.sensors).sort()).toEqual([...PROTO_IDS].sort());
  });

  it('announces prototype ids to Home Assistant', () => {
    const bus = new EventBus(log);
    const reg = new DeviceRegistry(bus, [], { checkEveryMs: 0 });
    const topics: string[] = [];
    const ha = new HomeAssistantDiscovery(bus, reg, {
      prefix: 'homeassistant',
      publish: async (t) => {
        topics.push(t);
      },
    });
    reg.start();
    ha.start();
    bus.emit('readings', [reading('constructor', '__proto__'), reading('__proto__', 'toString')]);
    expect(topics).toEqual([
      'homeassistant/sensor/constructor/__proto__/config',
      'homeassistant/sensor/__proto__/toString/config',
    ]);
  });
});

/** Every topic shape a built-in decoder reads, with a hostile id in each level. */
const TOPICS = (id: string) => [
  `sensors/${id}/${id}`,
  `sensors/${id}`,
  `tele/${id}/SENSOR`,
  `tele/${id}/STATE`,
  `tele/${id}/LWT`,
  `homie/${id}/${id}/${id}`,
  `homie/${id}/${id}/${id}/$unit`,
  `homie/${id}/${id}/${id}/$datatype`,
  `homie/${id}/$state`,
  `homie/5/${id}/$description`,
  `zigbee2mqtt/${id}`,
  `zigbee2mqtt/${id}/availability`,
  'zigbee2mqtt/bridge/devices',
  'zigbee2mqtt/bridge/state',
  `homeassistant/sensor/${id}/${id}/config`,
  `${id}/status/temperature:0`,
  `${id}/events/rpc`,
  `${id}/online`,
  `${id}/sensor/${id}/state`,
  `${id}/status`,
  `hostile/${id}/data`,
];

const MAPPING = {
  name: 'm',
  topic: 'hostile/+/data',
  device: '{1}',
  time: 'ts',
  values: [
    { sensor: '{json:name}', path: 'v', unit: 'Cel' },
    { sensor: '{1}', path: '__proto__.x' },
  ],
};

/** JSON built from prototype keys and arbitrary values, as text. */
const protoKey = fc.constantFrom(...PROTO_IDS, 'value', 'unit', 'ts', 'Temperature', 'temperature', 'nodes');
const key = fc.oneof(protoKey, fc.string({ maxLength: 8 }));
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.string({ maxLength: 10 }),
    fc.constantFrom(...PROTO_IDS),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  ),
})).value;
const payload = fc.oneof(
  json.map((v) => JSON.stringify(v) ?? 'null'),
  fc.dictionary(key, json, { maxKeys: 6 }).map((o) => JSON.stringify(o)),
  fc.constantFrom(...PROTO_IDS.map((k) => `{"${k}":{"${k}":1,"value":2,"Temperature":3}}`)),
  fc.constantFrom(
    '{"__proto__":{"value":1}}',
    '{"nodes":{"__proto__":{"properties":{"__proto__":{"datatype":"float","unit":"Cel"}}}}}',
    '[{"friendly_name":"__proto__","definition":{"exposes":[{"type":"numeric","property":"__proto__","unit":"Cel"}]}}]',
    '{"method":"NotifyStatus","params":{"__proto__":{"tC":1},"temperature:0":{"tC":{"__proto__":1}}}}',
    '{"nodes":[{"id":{"toString":1},"properties":[{"id":{"valueOf":2}}]}]}',
  ),
  fc.string({ maxLength: 20 }),
);

describe('decoders on prototype keys and arbitrary JSON', () => {
  const decoders = buildDecoders({ mappings: [MAPPING] });
  const ctx = { meta: new MetaCache(500) };

  it('never throw anything but RejectError and never pollute Object.prototype', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PROTO_IDS, 'dev'), payload, (id, text) => {
        for (const topic of TOPICS(id)) {
          const levels = topic.split('/');
          const d = decoders.find((x) => x.match(levels));
          if (!d) continue;
          d.deviceOf(levels);
          try {
            d.decode({ topic, payload: Buffer.from(text), receivedAt: NOW, source: 'mqtt' }, levels, ctx);
          } catch (err) {
            if (!(err instanceof RejectError))
              throw new Error(`${d.name} on ${topic} ${text}: ${String(err)}`);
          }
        }
        expectPristine();
      }),
      { numRuns: 400 },
    );
  });

  it('read prototype keys as sensors through the whole pipeline', () => {
    const bus = new EventBus(log);
    const out: Reading[] = [];
    bus.on({}, 'readings', (rs) => out.push(...rs));
    const p = new Pipeline({
      decoders,
      quarantine: new Quarantine(bus, log),
      bus,
      maxPayloadBytes: 65536,
      context: { deviceTags: new Map(), maxFutureSkewMs: 300_000, clock: new SeriesClock() },
    });
    const ingest = (topic: string, text: string) =>
      p.ingest({ topic, payload: Buffer.from(text), receivedAt: NOW, source: 'mqtt' });
    ingest('sensors/x/__proto__', '21.5');
    ingest('sensors/constructor/toString', '{"value":3,"metric":"temperature"}');
    ingest('sensors/prototype', '{"__proto__":1,"constructor":2,"toString":{"value":3}}');
    ingest('tele/__proto__/SENSOR', '{"__proto__":{"Temperature":20},"constructor":{"toString":4}}');
    ingest('zigbee2mqtt/__proto__', '{"temperature":20,"__proto__":5}');
    expect(out.map((r) => `${r.device}/${r.sensor}=${r.value}`)).toEqual([
      'x/__proto__=21.5',
      'constructor/toString=3',
      'prototype/__proto__=1',
      'prototype/constructor=2',
      'prototype/toString=3',
      '__proto__/__proto__.Temperature=20',
      '__proto__/constructor.toString=4',
      '__proto__/temperature=20',
    ]);
  });
});
