import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../hub/core/bus.js';
import {
  autoEvery,
  everyForRollups,
  historyInfluxQL,
  historyParts,
  parseHistoryQuery,
  pickSource,
  type Rollup,
} from '../../hub/http/query.js';
import { DeviceRegistry } from '../../hub/registry.js';
import { declaredRollups, ROLLUPS, rawKeepsMs, rollupCqQuery } from '../../hub/storage/retention.js';

const NOW = Date.UTC(2026, 0, 1);
const hourly: Rollup = {
  name: '1h',
  retentionPolicy: 'rollup_1h',
  intervalMs: 3_600_000,
  keepsMs: 400 * 86_400_000,
};
const fiveMin: Rollup = {
  name: '5m',
  retentionPolicy: 'rollup_5m',
  intervalMs: 300_000,
  keepsMs: 30 * 86_400_000,
};

describe('history query', () => {
  it('picks round intervals that keep the point count under the request', () => {
    expect(autoEvery(15 * 60_000, 600)).toBe(2000);
    expect(autoEvery(3_600_000, 600)).toBe(10_000);
    expect(autoEvery(7 * 86_400_000, 600)).toBe(1_800_000);
    expect(autoEvery(400 * 86_400_000, 100)).toBe(4 * 86_400_000);
  });

  it('reads raw data unless a rollup divides the interval and still holds the range start', () => {
    const q = (from: string, every: string) =>
      parseHistoryQuery({ device: 'd', sensor: 's', from, every }, NOW);
    expect(pickSource(q('-1h', '10s'), [hourly, fiveMin], NOW)).toEqual({ kind: 'raw' });
    expect(pickSource(q('-7d', '15m'), [hourly, fiveMin], NOW)).toEqual({ kind: 'rollup', rollup: fiveMin });
    expect(pickSource(q('-90d', '2h'), [hourly, fiveMin], NOW)).toEqual({ kind: 'rollup', rollup: hourly });
    expect(pickSource(q('-90d', '30m'), [hourly, fiveMin], NOW)).toEqual({ kind: 'raw' });
  });

  it('aggregates a rollup from its own fields, quoting every identifier', () => {
    const q = parseHistoryQuery({ device: 'd', sensor: 's', from: '-7d', every: '1h' }, NOW);
    const sql = historyInfluxQL('temp"x', q, { kind: 'rollup', rollup: hourly });
    expect(sql).toContain('FROM "rollup_1h"."temp\\"x"');
    expect(sql).toContain('sum(count) AS count');
    expect(sql).toContain("device = 'd' AND sensor = 's'");
  });
});

describe('rollups in history', () => {
  const cfg = { manage: true, raw: '30d', minute: '400d', hour: 'INF' };
  const rollups = declaredRollups(cfg);
  const raw = rawKeepsMs(cfg);
  const q = (from: string, every: string, to?: string) =>
    parseHistoryQuery({ device: 'd', sensor: 's', from, every, ...(to ? { to } : {}) }, NOW);

  it('declares for reading the same policies the continuous queries write', () => {
    expect(rollups).toEqual([
      { name: 'rollup_1m', retentionPolicy: 'rollup_1m', intervalMs: 60_000, keepsMs: 400 * 86_400_000 },
      { name: 'rollup_1h', retentionPolicy: 'rollup_1h', intervalMs: 3_600_000, keepsMs: Infinity },
    ]);
    for (const r of ROLLUPS)
      expect(rollupCqQuery('sensors', r)).toContain(`"sensors"."${r.name}".:MEASUREMENT`);
    expect(declaredRollups({ ...cfg, manage: false })).toEqual([]);
    expect(raw).toBe(30 * 86_400_000);
  });

  it('reads raw data for short ranges and the coarsest covering rollup for long ones or old ones', () => {
    const name = (from: string, every: string, to?: string) => {
      const s = pickSource(q(from, every, to), rollups, NOW, raw);
      return s.kind === 'raw' ? 'raw' : s.rollup.name;
    };
    expect(name('-6h', '1m')).toBe('raw');
    expect(name('-30d', '1d')).toBe('rollup_1h');
    expect(name('-30d', '30m')).toBe('rollup_1m');
    expect(name('-2d', '90s')).toBe('raw');
    expect(name('-500d', '1d', '-390d')).toBe('rollup_1h');
    expect(name('-40d', '5m', String(NOW - 40 * 86_400_000 + 3_600_000))).toBe('rollup_1m');
  });

  it('raises every=auto to a rollup interval only when raw data no longer holds the range', () => {
    expect(
      everyForRollups(q('-40d', '15s', String(NOW - 40 * 86_400_000 + 3_600_000)), rollups, NOW, raw),
    ).toBe(60_000);
    expect(everyForRollups(q('-2h', '15s'), rollups, NOW, raw)).toBe(15_000);
    expect(everyForRollups(q('-40d', '5m', '-39d'), rollups, NOW, raw)).toBe(300_000);
  });

  it('stitches raw data after the last every boundary the rollup covers completely', () => {
    const hourly = rollups[1]!;
    const now = NOW + 5 * 3_600_000 + 30_000; // 05:00:30: the 04:00 hour may not be rolled up yet
    const query = parseHistoryQuery({ device: 'd', sensor: 's', from: '-30d', every: '1h' }, now);
    const parts = historyParts(query, { kind: 'rollup', rollup: hourly }, now);
    expect(parts.map((p) => p.source.kind)).toEqual(['rollup', 'raw']);
    expect(parts[0]!.query.to).toBe(NOW + 4 * 3_600_000 - 1);
    expect(parts[1]!.query.from).toBe(NOW + 4 * 3_600_000);
    const daily = parseHistoryQuery({ device: 'd', sensor: 's', from: '-30d', every: '1d' }, now);
    expect(historyParts(daily, { kind: 'rollup', rollup: hourly }, now)[1]!.query.from).toBe(NOW);
    const past = parseHistoryQuery({ device: 'd', sensor: 's', from: '-30d', to: '-2d', every: '1h' }, now);
    expect(historyParts(past, { kind: 'rollup', rollup: hourly }, now)).toHaveLength(1);
  });

  it('weights the rollup mean by count', () => {
    const sql = historyInfluxQL('t', q('-30d', '1d'), { kind: 'rollup', rollup: rollups[1]! });
    expect(sql).toContain('sum(weighted) / sum(count) AS mean');
    expect(sql).toContain('"mean" * "count" AS weighted');
  });
});

describe('device liveness from silence', () => {
  it('marks a silent device stale, then offline, and online again on a reading', () => {
    const bus = new EventBus(pino({ level: 'silent' }));
    let now = 1_000_000;
    const registry = new DeviceRegistry(bus, [], {
      expectedIntervalMs: 250,
      staleAfter: 4,
      offlineAfterMs: 5000,
      checkEveryMs: 0,
      now: () => now,
    });
    registry.start();
    const seen: string[] = [];
    bus.on(seen, 'availability', (_d, s) => seen.push(s));
    const reading = {
      device: 'd1',
      sensor: 't',
      metric: 'temperature',
      unit: 'Cel',
      value: 1,
      source: 'mqtt',
      quality: 'good',
    } as const;
    bus.emit('readings', [{ ...reading, ts: now }]);
    const t0 = now;
    for (const t of [500, 1500, 2000, 6000, 7000]) {
      now = t0 + t;
      registry.checkStale();
    }
    bus.emit('readings', [{ ...reading, ts: now }]);
    expect(seen).toEqual(['online', 'stale', 'offline', 'online']);
  });
});
