import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DECODERS } from '../../devices/decoders/index.js';
import { loadConfig } from '../../hub/config/load.js';
import { EventBus } from '../../hub/core/bus.js';
import type { QuarantineEntry } from '../../hub/core/quarantine-entry.js';
import type { Reading } from '../../hub/core/reading.js';
import { knownUnitCodes } from '../../hub/core/units.js';
import { Pipeline } from '../../hub/pipeline/pipeline.js';
import type { SensorSettings } from '../../hub/pipeline/sensor-steps.js';
import { SeriesClock } from '../../hub/pipeline/series-clock.js';
import { Quarantine } from '../../hub/quarantine.js';
import { DeviceRegistry, type RegistryOptions } from '../../hub/registry.js';
import { toLine, writeLine } from '../../hub/storage/line-protocol.js';

const NOW = 1_790_000_000_000;
const log = pino({ level: 'silent' });

function setup(
  opts: { registry?: RegistryOptions; declared?: string[]; settings?: Map<string, SensorSettings> } = {},
) {
  const bus = new EventBus(log);
  const stored: Reading[] = [];
  const quarantined: QuarantineEntry[] = [];
  bus.on({}, 'readings', (rs) => stored.push(...rs));
  bus.on({}, 'quarantine', (e) => quarantined.push(e));
  const registry = new DeviceRegistry(
    bus,
    (opts.declared ?? []).map((id) => ({ id, tags: {} })),
    { checkEveryMs: 0, ...opts.registry },
  );
  registry.start();
  const settings = opts.settings;
  const pipeline = new Pipeline({
    decoders: DECODERS,
    quarantine: new Quarantine(bus, log),
    bus,
    maxPayloadBytes: 65536,
    context: {
      deviceTags: new Map(),
      maxFutureSkewMs: 300_000,
      clock: new SeriesClock(),
      admit: (d) => registry.admit(d),
      limits: registry.limits,
      ...(settings ? { sensorSettings: (d: string, s: string) => settings.get(`${d}/${s}`) } : {}),
    },
  });
  const ingest = (topic: string, payload: string) =>
    pipeline.ingest({ topic, payload: Buffer.from(payload), receivedAt: NOW, source: 'mqtt' });
  return { registry, stored, quarantined, ingest };
}

describe('every stored value is finite', () => {
  it('quarantines a value that overflows in the unit conversion or the calibration as non_finite', () => {
    const settings = new Map([['cal/load', { offset: 0, factor: 1e300 }]]);
    const { stored, quarantined, ingest } = setup({ settings });
    ingest('sensors/x/pressure', '{"value":1e308,"unit":"kPa"}');
    ingest('sensors/x/load', '{"value":1e308,"unit":"kPa","metric":"load"}');
    ingest('sensors/cal/load', '{"value":1e10,"metric":"load"}');
    expect(stored).toEqual([]);
    expect(quarantined.map((e) => [e.reason, e.detail])).toEqual([
      ['non_finite', 'pressure: value 1e+308 kPa is Infinity in Pa'],
      ['non_finite', 'load: value 1e+308 kPa is Infinity in Pa'],
      ['non_finite', 'load: calibrated value is Infinity'],
    ]);
  });

  it('stores only finite values whatever the value, unit and calibration (property)', () => {
    const units = knownUnitCodes();
    fc.assert(
      fc.property(
        fc.oneof(fc.double(), fc.constantFrom(1e308, -1e308, 5e-324, Number.MAX_VALUE)),
        fc.constantFrom(...units),
        fc.constantFrom('temperature', 'pressure', 'load', 'energy', 'distance'),
        fc.double({ noNaN: true }),
        fc.double({ noNaN: true }),
        (value, unit, metric, factor, offset) => {
          const settings = new Map([['d/s', { offset, factor }]]);
          const { stored, quarantined, ingest } = setup({ settings });
          ingest('sensors/d/s', JSON.stringify({ value, unit, metric }));
          for (const r of stored) expect(Number.isFinite(r.value)).toBe(true);
          expect(stored.length + quarantined.length).toBe(1);
          for (const line of stored.map(toLine)) expect(line).not.toMatch(/value=(NaN|-?Infinity)/);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('line protocol writes no line for a non-finite value', () => {
    const r: Reading = {
      device: 'd',
      sensor: 's',
      metric: 'm',
      value: Number.POSITIVE_INFINITY,
      unit: '1',
      ts: NOW,
      source: 'mqtt',
      quality: 'good',
    };
    const buf = Buffer.alloc(512);
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(toLine({ ...r, value })).toBe('');
      expect(toLine({ ...r, value, tags: { a: 'b' } })).toBe('');
      expect(writeLine({ ...r, value }, buf, 7)).toBe(7);
    }
    expect(writeLine({ ...r, value: 1 }, buf, 0)).toBeGreaterThan(0);
  });
});

describe('readings with the same device time', () => {
  it('keeps different values at one time apart and stores a resend once', () => {
    const { stored, ingest } = setup();
    const res = [1, 2, 2, 3, 3, 3].map((v) =>
      ingest('sensors/d/t', JSON.stringify({ value: v, ts: NOW - 10 })),
    );
    expect(stored.map((r) => [r.value, r.ts])).toEqual([
      [1, NOW - 10],
      [2, NOW - 10 + 0.001],
      [3, NOW - 10 + 0.002],
    ]);
    expect(res.map((r) => r.duplicates)).toEqual([0, 0, 1, 0, 1, 1]);
  });
});

describe('registry caps', () => {
  it('quarantines a new device past maxDevices and a new sensor past maxSensorsPerDevice; known ones go on', () => {
    const { registry, stored, quarantined, ingest } = setup({
      registry: { maxDevices: 3, maxSensorsPerDevice: 2 },
      declared: ['declared'],
    });
    ingest('sensors/a/t', '1');
    ingest('sensors/b', '{"t":1,"h":2,"p":3}'); // p: the third sensor of one message
    ingest('sensors/c/t', '1'); // a fourth device
    ingest('sensors/declared', '{"t":1,"h":2}'); // declared: known from the start
    ingest('sensors/a/h', '2');
    ingest('sensors/a/x', '3'); // a's third sensor
    ingest('sensors/a/t', '4'); // a known sensor keeps working
    expect(stored.map((r) => `${r.device}/${r.sensor}`)).toEqual([
      'a/t',
      'b/t',
      'b/h',
      'declared/t',
      'declared/h',
      'a/h',
      'a/t',
    ]);
    expect(quarantined.map((e) => [e.device, e.reason])).toEqual([
      ['b', 'sensor_limit'],
      ['c', 'device_limit'],
      ['a', 'sensor_limit'],
    ]);
    expect(quarantined[1]!.detail).toBe(
      't: the registry holds 3 devices (registry.maxDevices); c is not one of them',
    );
    expect(registry.size).toBe(3);
    expect(registry.get('c')).toBeUndefined();
    expect(Object.keys(registry.get('a')!.sensors)).toEqual(['t', 'h']);
    // Availability of an unknown device does not grow the registry past its cap either.
    expect(registry.setAvailability('c', 'online')).toBe(false);
    expect(registry.setAvailability('a', 'offline')).toBe(true);
    expect(registry.size).toBe(3);
  });

  it('restores from storage within the caps', () => {
    const { registry } = setup({ registry: { maxDevices: 2, maxSensorsPerDevice: 1 } });
    const k = (device: string, sensor: string) => ({
      device,
      sensor,
      metric: 'm',
      unit: '1',
      source: 'mqtt',
      value: 1,
      ts: NOW,
    });
    expect(registry.restore([k('a', 's'), k('a', 't'), k('b', 's'), k('c', 's')])).toBe(2);
    expect(registry.list().map((d) => [d.id, Object.keys(d.sensors)])).toEqual([
      ['a', ['s']],
      ['b', ['s']],
    ]);
  });

  it('are set in config, default 10000 devices and 1000 sensors, and by HUB_REGISTRY_MAX_*', () => {
    expect(loadConfig({ env: {} }).registry).toMatchObject({ maxDevices: 10_000, maxSensorsPerDevice: 1000 });
    expect(
      loadConfig({ env: { HUB_REGISTRY_MAX_DEVICES: '5', HUB_REGISTRY_MAX_SENSORS_PER_DEVICE: '7' } })
        .registry,
    ).toMatchObject({ maxDevices: 5, maxSensorsPerDevice: 7 });
  });
});
