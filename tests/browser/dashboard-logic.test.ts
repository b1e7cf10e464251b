import { describe, expect, it } from 'vitest';
import { chartTitle, isBinary, rangeWindow } from '../../dashboards/web/src/chart.js';
import { autoRange } from '../../dashboards/web/src/views/device.js';
import { formatTags, parseTags, settingsPatch } from '../../dashboards/web/src/views/device-admin.js';
import { brokerHost, snippets } from '../../dashboards/web/src/views/first-run.js';
import { summarize } from '../../dashboards/web/src/views/overview.js';

// The dashboard's decisions that need no browser; the pages themselves are tested in Chromium.
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('automatic range', () => {
  it('starts at a young device’s first reading and grows with the clock', () => {
    const r = autoRange(NOW - 30_000, NOW - 1000, NOW);
    expect(r.spanMs).toBe(HOUR);
    expect(r.startAt).toBeLessThan(NOW - 30_000);
    expect(r.startAt).toBeGreaterThan(NOW - 35_000);
    // Ten minutes later the same range covers those ten minutes too, still from the start.
    expect(rangeWindow(r, NOW + 10 * MIN).from).toBe(r.startAt);
    // Past an hour it slides: the last hour.
    expect(rangeWindow(r, NOW + 2 * HOUR).from).toBe(NOW + HOUR);
  });

  it('is the last hour for an older device, and holds the last reading of a silent one', () => {
    expect(autoRange(NOW - 5 * HOUR, NOW - 1000, NOW)).toEqual({ spanMs: HOUR, from: NOW - HOUR, to: NOW });
    expect(autoRange(undefined, NOW - 3 * HOUR, NOW).spanMs).toBe(24 * HOUR);
    expect(autoRange(undefined, NOW - 3 * 24 * HOUR, NOW).spanMs).toBe(7 * 24 * HOUR);
    expect(autoRange(undefined, NOW - 90 * 24 * HOUR, NOW).spanMs).toBe(7 * 24 * HOUR);
    expect(autoRange(undefined, undefined, NOW).spanMs).toBe(HOUR);
  });

  it('never makes an empty range of a device heard this instant', () => {
    const w = rangeWindow(autoRange(NOW, NOW, NOW), NOW);
    expect(w.to - w.from).toBeGreaterThanOrEqual(5000);
  });
});

describe('chart kinds and titles', () => {
  it('knows binary sensors by metric or by 0/1 readings', () => {
    expect(isBinary('motion', '1', [0.5])).toBe(true);
    expect(isBinary('bell', '1', [0, 1, 1, 0])).toBe(true);
    expect(isBinary('bell', '1', [0, 2])).toBe(false);
    expect(isBinary('bell', '1', [])).toBe(false);
    expect(isBinary('linkquality', '1', [0, 1])).toBe(false);
    expect(isBinary('temperature', 'Cel', [0, 1])).toBe(false);
    // An id from the wire is no key into the metric table.
    expect(isBinary('__proto__', '1', [0, 1])).toBe(true);
    expect(isBinary('constructor', 'Cel', [0, 1])).toBe(false);
  });

  it('names the metric only when it differs from the sensor', () => {
    expect(chartTitle('humidity', 'humidity')).toEqual({ name: 'humidity', sub: '' });
    expect(chartTitle('t1', 'temperature')).toEqual({ name: 't1', sub: 'temperature' });
  });
});

describe('device counts', () => {
  it('counts every state, waiting included, so the parts add up', () => {
    const s = summarize(['online', 'waiting', 'waiting', 'stale', 'offline', 'waiting']);
    expect(s.text).toBe('6 devices · 1 online · 1 stale · 1 offline · 3 waiting');
    expect(summarize([]).text).toBe('0 devices · 0 online · 0 stale · 0 offline · 0 waiting');
    // A state this page does not know yet is still counted, not dropped.
    expect(summarize(['online', 'sleeping'] as string[]).text).toBe(
      '2 devices · 1 online · 0 stale · 0 offline · 0 waiting · 1 sleeping',
    );
  });
});

describe('tags in the admin form', () => {
  it('reads name=value pairs into a null-prototype record', () => {
    const t = parseTags(' room = kitchen , __proto__=x, constructor=y,, ');
    expect(typeof t).toBe('object');
    const tags = t as Record<string, string>;
    expect(Object.getPrototypeOf(tags)).toBe(null);
    expect(Object.keys(tags)).toEqual(['room', '__proto__', 'constructor']);
    expect(tags.room).toBe('kitchen');
    expect(Object.getOwnPropertyDescriptor(tags, '__proto__')?.value).toBe('x');
  });

  it('refuses what the hub would refuse, with the reason', () => {
    expect(parseTags('battery')).toMatch(/name=value/);
    expect(parseTags('a b=c')).toMatch(/a name is 1 to 64/);
    expect(parseTags(`${'k'.repeat(65)}=v`)).toMatch(/a name is 1 to 64/);
    expect(parseTags('room=')).toMatch(/1 to 128/);
    expect(parseTags(`room=${'v'.repeat(129)}`)).toMatch(/1 to 128/);
    expect(parseTags('room=a, room=b')).toMatch(/twice/);
  });

  it('sends only what changed; a tag taken out is removed, the location stays', () => {
    const before = { name: 'Porch', tags: { location: 'garden', room: 'porch', owner: 'ana' } };
    expect(formatTags(before.tags)).toBe('room=porch, owner=ana');
    expect(settingsPatch(before, 'Porch', { room: 'porch', owner: 'ana' })).toEqual({});
    expect(settingsPatch(before, ' Porch 2 ', { room: 'hall' })).toEqual({
      name: 'Porch 2',
      tags: { room: 'hall', owner: null },
    });
    expect(settingsPatch(before, '', { room: 'porch', owner: 'ana' })).toEqual({ name: null });
  });
});

describe('first-run examples', () => {
  it('uses the page’s host when the broker listens everywhere, and warns for loopback', () => {
    expect(brokerHost('0.0.0.0', 'hub.local')).toEqual({ host: 'hub.local', localOnly: false });
    expect(brokerHost('::', '[fd00::5]')).toEqual({ host: 'fd00::5', localOnly: false });
    expect(brokerHost('127.0.0.1', '127.0.0.1')).toEqual({ host: '127.0.0.1', localOnly: true });
    expect(brokerHost('192.168.1.20', 'localhost')).toEqual({ host: '192.168.1.20', localOnly: false });
  });

  it('carries credentials placeholders when the broker needs a login', () => {
    const open = snippets('hub.local', 1883);
    const auth = snippets('hub.local', 1883, true);
    for (const s of open) expect(s.code).not.toContain('PASSWORD');
    for (const s of auth.filter((s) => s.id !== 'simulate')) expect(s.code).toContain('PASSWORD');
    expect(snippets('fd00::5', 1883).find((s) => s.id === 'node')!.code).toContain("'mqtt://[fd00::5]:1883'");
  });
});
