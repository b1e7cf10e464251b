import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../hub/core/bus.js';
import {
  autoEvery,
  historyInfluxQL,
  parseHistoryQuery,
  pickSource,
  type Rollup,
} from '../../hub/http/query.js';
import { DeviceRegistry } from '../../hub/registry.js';

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
