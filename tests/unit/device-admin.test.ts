import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../hub/core/bus.js';
import type { DeviceState } from '../../hub/core/device-state.js';
import { csvCell, toCsv } from '../../hub/http/csv.js';
import { round6 } from '../../hub/http/history.js';
import { HubRates } from '../../hub/http/rates.js';
import {
  DeviceAdminModule,
  mergeSettings,
  REMOVED_FILE,
  SETTINGS_FILE,
} from '../../hub/modules/device-admin.js';
import { DeviceRegistry } from '../../hub/registry.js';
import { writeJsonAtomic } from '../../hub/storage/json-file.js';

const log = pino({ level: 'silent' });

function setup(dataDir = mkdtempSync(join(tmpdir(), 'hub-admin-unit-'))) {
  const bus = new EventBus(log);
  const registry = new DeviceRegistry(bus, [{ id: 'declared', name: 'Declared', tags: { site: 'n' } }], {
    checkEveryMs: 0,
  });
  registry.start();
  const cleared: DeviceState[] = [];
  const admin = new DeviceAdminModule({
    dataDir,
    registry,
    log,
    clearRetained: async (d) => {
      cleared.push(d);
    },
    forgetReported: () => undefined,
  });
  const reading = (device: string, sensor = 't', value = 1) =>
    bus.emit('readings', [
      {
        device,
        sensor,
        metric: 'temperature',
        unit: 'Cel',
        value,
        ts: Date.now(),
        source: 'mqtt',
        quality: 'good',
      },
    ]);
  const admit = (device: string, sensor = 't') => {
    registry.admit({
      device,
      sensor,
      metric: 'temperature',
      unit: 'Cel',
      value: 1,
      ts: Date.now(),
      quality: 'good',
    });
    reading(device, sensor);
  };
  return { dataDir, bus, registry, admin, cleared, admit };
}

describe('device removal and settings', () => {
  it('removes from the registry and the connection index, and a later reading makes the device new', async () => {
    const h = setup();
    await h.admin.start();
    h.admit('a');
    h.registry.noteClient('c1', 'a');
    expect(await h.admin.remove('a', 1000)).toEqual({ removed: 'a', sensors: 1 });
    expect(h.registry.has('a')).toBe(false);
    expect(h.cleared.map((d) => d.id)).toEqual(['a']);
    // A lost connection of the client it used says nothing any more.
    const events: string[] = [];
    h.bus.on({}, 'availability', (d) => events.push(d));
    h.registry.clientGone('c1', false);
    expect(events).toEqual([]);
    expect(h.registry.countByState()).toEqual({ online: 0, stale: 0, offline: 0, waiting: 1 });
  });

  it('keeps the removal on disk and skips older stored sensors at restore, not newer ones', async () => {
    const h = setup();
    await h.admin.start();
    h.admit('gone');
    await h.admin.remove('gone', 5000);
    const again = setup(h.dataDir);
    await again.admin.start();
    const known = [
      { device: 'gone', sensor: 't', metric: 'temperature', unit: 'Cel', value: 1, ts: 4999, source: 'mqtt' },
      { device: 'gone', sensor: 'h', metric: 'humidity', unit: '%RH', value: 1, ts: 5001, source: 'mqtt' },
      { device: 'other', sensor: 't', metric: 'temperature', unit: 'Cel', value: 1, ts: 1, source: 'mqtt' },
    ];
    expect(again.admin.filterRestored(known)?.map((k) => `${k.device}/${k.sensor}`)).toEqual([
      'gone/h',
      'other/t',
    ]);
  });

  it('stores a device named __proto__ or constructor like any other and reads it back', async () => {
    const h = setup();
    await h.admin.start();
    for (const id of ['__proto__', 'constructor']) {
      h.admit(id);
      await h.admin.update(id, { name: `named ${id}` });
    }
    h.admit('toString');
    await h.admin.remove('toString', 7);
    const again = setup(h.dataDir);
    await again.admin.start();
    again.admit('__proto__');
    again.admit('constructor');
    expect(again.registry.get('__proto__')?.name).toBe('named __proto__');
    expect(again.registry.get('constructor')?.name).toBe('named constructor');
    expect(
      again.admin.filterRestored([
        {
          device: 'toString',
          sensor: 't',
          metric: 'temperature',
          unit: 'Cel',
          value: 1,
          ts: 6,
          source: 'mqtt',
        },
      ]),
    ).toEqual([]);
    expect(({} as Record<string, unknown>).name).toBeUndefined();
  });

  it('moves an unreadable file aside and starts without it', async () => {
    const h = setup();
    writeFileSync(join(h.dataDir, SETTINGS_FILE), '{"devices": {"a": {"name": "tru');
    writeFileSync(join(h.dataDir, REMOVED_FILE), '[1, 2]');
    await h.admin.start();
    const files = readdirSync(h.dataDir);
    expect(files.filter((f) => f.includes('.unreadable-')).length).toBe(2);
    expect(files).not.toContain(SETTINGS_FILE);
  });

  it('leaves the old file whole when a write fails part way, and answers with the error', async () => {
    const h = setup();
    await h.admin.start();
    h.admit('a');
    await h.admin.update('a', { name: 'first' });
    const path = join(h.dataDir, SETTINGS_FILE);
    const before = readFileSync(path, 'utf8');
    // A value JSON cannot write fails inside the write, after the temporary file was opened.
    await expect(writeJsonAtomic(path, { devices: { a: { name: 1n } } })).rejects.toThrow();
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect(readdirSync(h.dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes concurrent changes in order, so the newest state is on disk', async () => {
    const h = setup();
    await h.admin.start();
    for (const id of ['a', 'b', 'c']) h.admit(id);
    await Promise.all([
      h.admin.update('a', { name: 'A' }),
      h.admin.update('b', { tags: { room: 'b' } }),
      h.admin.update('a', { name: 'A2' }),
      h.admin.update('c', { name: 'C' }),
    ]);
    const file = JSON.parse(readFileSync(join(h.dataDir, SETTINGS_FILE), 'utf8'));
    expect(file.devices).toEqual({ a: { name: 'A2' }, b: { tags: { room: 'b' } }, c: { name: 'C' } });
  });

  it('refuses declared devices and their config tags with HUB_CONFLICT', async () => {
    const h = setup();
    await h.admin.start();
    await expect(h.admin.remove('declared')).rejects.toMatchObject({ code: 'HUB_CONFLICT' });
    await expect(h.admin.update('declared', { tags: { site: 's' } })).rejects.toMatchObject({
      code: 'HUB_CONFLICT',
    });
    expect((await h.admin.update('declared', { tags: { desk: '3' } })).tags).toEqual({
      site: 'n',
      desk: '3',
    });
    // API labels are not InfluxDB tags.
    expect(h.registry.tagsOf().get('declared')).toEqual({ site: 'n' });
  });

  it('merges a settings patch as JSON merge patch', () => {
    expect(mergeSettings({ name: 'x', tags: { a: '1' } }, { tags: { a: null, b: '2' } })).toEqual({
      name: 'x',
      tags: { b: '2' },
    });
    expect(mergeSettings({ name: 'x' }, { name: null })).toBeUndefined();
  });
});

describe('CSV', () => {
  it('guards formula starts in text cells, not in numbers', () => {
    for (const c of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'])
      expect(csvCell(c).replace(/^"/, '').startsWith("'")).toBe(true);
    expect(csvCell(-3.5)).toBe('-3.5');
    expect(csvCell(Number.NaN)).toBe('');
    expect(csvCell('a"b,c')).toBe('"a""b,c"');
  });

  it('parses back to the same cells with any text (RFC 4180)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string(), { minLength: 2, maxLength: 2 }), { maxLength: 5 }),
        (rows) => {
          const text = toCsv(['a', 'b'], rows);
          const back = parse(text, { relax_column_count: false }) as string[][];
          const guard = (s: string) => (/^[=+\-@\t\r]/.test(s) ? `'${s}` : s);
          expect(back).toEqual([['a', 'b'], ...rows.map((r) => r.map(guard))]);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('rounding and rates', () => {
  it('rounds aggregates to 6 significant digits', () => {
    expect(round6(22.540000000000003)).toBe(22.54);
    expect(round6(101325.04)).toBe(101325);
    expect(round6(0.000123456789)).toBe(0.000123457);
    expect(round6(0)).toBe(0);
    expect(round6(null)).toBe(null);
  });

  it('keeps a bounded history of readings per second, oldest first', () => {
    const bus = new EventBus(log);
    const r = new HubRates(bus, { sampleMs: 5000, keepMs: 20_000 });
    r.start(0);
    // i × 5 readings in each 5 s interval: i per second.
    for (let i = 1; i <= 6; i++) {
      bus.emit('readings', new Array(i * 5).fill({}) as never);
      r.sample(i * 5000);
    }
    r.stop();
    expect(r.history()).toEqual([
      { t: 15_000, perSecond: 3 },
      { t: 20_000, perSecond: 4 },
      { t: 25_000, perSecond: 5 },
      { t: 30_000, perSecond: 6 },
    ]);
  });
});
