import { describe, expect, it } from 'vitest';
import { alertWarnings } from '../../hub/alerts/check.js';
import { AlertEngine } from '../../hub/alerts/engine.js';
import type { AlertChange } from '../../hub/alerts/types.js';
import { alertsSchema } from '../../hub/config/alerts.js';
import type { Reading } from '../../hub/core/reading.js';

/** An engine over rules as a user writes them, on a clock the test moves. */
function setup(rules: unknown[]) {
  const parsed = alertsSchema.parse({ rules });
  let now = 1_000_000;
  let n = 0;
  const changes: AlertChange[] = [];
  const engine = new AlertEngine(parsed.rules, {
    now: () => now,
    newId: () => `id-${++n}`,
    onChange: (c) => changes.push(c),
  });
  const read = (value: number, over: Partial<Reading> = {}) =>
    engine.readings([
      {
        device: 'greenhouse',
        sensor: 'air',
        metric: 'temperature',
        unit: 'Cel',
        value,
        ts: now,
        source: 'mqtt',
        quality: 'good',
        ...over,
      },
    ]);
  const advance = (ms: number) => {
    now += ms;
    engine.tick();
  };
  /** What webhooks were told, as "state value". */
  const notified = () => changes.filter((c) => c.notify).map((c) => `${c.alert.state} ${c.alert.value}`);
  return { engine, read, advance, changes, notified, at: () => now };
}

const hot = { name: 'hot', match: { device: 'green*', metric: 'temperature' }, above: 30 };

describe('alert engine', () => {
  it('fires only after the condition held for `for`, and a spike shorter than that says nothing', () => {
    const t = setup([{ ...hot, for: '5m' }]);
    t.read(31);
    expect(t.engine.active().map((a) => a.state)).toEqual(['pending']);
    t.advance(60_000);
    t.read(25); // a one-minute spike
    expect(t.engine.active()).toEqual([]);
    expect(t.notified()).toEqual([]);
    t.read(32);
    t.advance(4 * 60_000);
    expect(t.notified()).toEqual([]);
    t.advance(60_000); // five minutes since 32: the tick fires it without a new reading
    expect(t.notified()).toEqual(['firing 32']);
    expect(t.engine.active()[0]).toMatchObject({ state: 'firing', since: t.at(), rule: 'hot' });
  });

  it('does not flap inside the hysteresis band and resolves at `clear`', () => {
    const t = setup([{ ...hot, clear: 28 }]);
    for (const v of [31, 29.9, 30.1, 29, 30.5, 28.5, 29.9]) t.read(v);
    expect(t.notified()).toEqual(['firing 31']);
    t.read(28);
    expect(t.notified()).toEqual(['firing 31', 'resolved 28']);
    // Without clear, the threshold itself resolves.
    const plain = setup([hot]);
    for (const v of [31, 29.9, 30.1]) plain.read(v);
    expect(plain.notified()).toEqual(['firing 31', 'resolved 29.9', 'firing 30.1']);
  });

  it('below and outside rules, each with their clear', () => {
    const t = setup([
      { name: 'cold', match: { metric: 'temperature' }, below: 5, clear: 7 },
      { name: 'band', match: { metric: 'temperature' }, outside: [0, 40], clear: [2, 38] },
    ]);
    for (const v of [6, 4, 6, 7, -1, 1, 2]) t.read(v);
    const by = (rule: string) =>
      t.changes
        .filter((c) => c.notify && c.alert.rule === rule)
        .map((c) => `${c.alert.state} ${c.alert.value}`);
    expect(by('cold')).toEqual(['firing 4', 'resolved 7', 'firing -1']);
    expect(by('band')).toEqual(['firing -1', 'resolved 2']);
  });

  it('converts a rule given in °F into the metric canonical unit', () => {
    const t = setup([{ name: 'hotF', match: { metric: 'temperature' }, above: 95, unit: '°F' }]);
    t.read(34.9);
    expect(t.notified()).toEqual([]);
    t.read(35.1);
    expect(t.notified()).toEqual(['firing 35.1']);
    expect(t.engine.active()[0]!.unit).toBe('Cel');
  });

  it('rate rules fire on a fast rise within `per`, not on a slow one, and never extrapolate', () => {
    const t = setup([{ name: 'warming', match: { metric: 'temperature' }, rate: { above: 2, per: '10m' } }]);
    // 1 °C per 10 minutes: slow.
    for (let i = 0; i <= 30; i++) {
      t.read(-18 + i * 0.1);
      t.advance(60_000);
    }
    expect(t.notified()).toEqual([]);
    // Two readings a second apart with a small step: no extrapolation to a huge rate.
    t.read(-14.8);
    expect(t.notified()).toEqual([]);
    // 3 °C within 5 minutes: fast.
    for (let i = 1; i <= 5; i++) {
      t.advance(60_000);
      t.read(-14.8 + i * 0.6);
    }
    expect(t.notified()).toHaveLength(1);
    expect(t.changes.find((c) => c.notify)!.alert.value).toBeGreaterThan(2);
    // Flat for 10 minutes: the change within the window falls to 0 and it resolves.
    for (let i = 0; i < 11; i++) {
      t.advance(60_000);
      t.read(-11.8);
    }
    expect(t.notified().map((s) => s.split(' ')[0])).toEqual(['firing', 'resolved']);
  });

  it('a falling rate with below, in a unit of its own (a difference: no offset)', () => {
    const t = setup([
      { name: 'drop', match: { metric: 'temperature' }, rate: { below: -3.6, per: '1h' }, unit: '°F' },
    ]);
    t.read(20);
    t.advance(600_000);
    t.read(18.1); // -1.9 °C is -3.42 °F
    expect(t.notified()).toEqual([]);
    t.advance(600_000);
    t.read(17.9); // -2.1 °C is -3.78 °F
    expect(t.notified()).toHaveLength(1);
  });

  it('stale and offline rules follow the registry and the bus', () => {
    const t = setup([
      { name: 'silent', match: { device: '*' }, stale: true, for: '10m' },
      { name: 'gone', match: { device: 'green*' }, offline: true },
    ]);
    t.engine.staleness('greenhouse', 'air', 'temperature', true);
    t.advance(9 * 60_000);
    expect(t.notified()).toEqual([]);
    t.advance(60_000);
    expect(t.notified()).toEqual(['firing null']);
    t.read(20); // it speaks again
    expect(t.notified()).toEqual(['firing null', 'resolved null']);
    t.engine.availability('greenhouse', 'offline');
    t.engine.availability('kitchen', 'offline');
    expect(t.engine.active().map((a) => `${a.rule} ${a.device} ${a.sensor}`)).toEqual([
      'gone greenhouse _device',
    ]);
    t.engine.availability('greenhouse', 'online');
    expect(t.engine.active()).toEqual([]);
  });

  it('acknowledge marks the alert; silence holds notifications back and sends a still-firing one when it ends', () => {
    const t = setup([hot]);
    t.read(31);
    const acked = t.engine.acknowledge('hot', 'greenhouse', 'air', 'ops');
    expect(acked).toMatchObject({ acknowledged: true, acknowledgedBy: 'ops', state: 'firing' });
    expect(t.engine.acknowledge('hot', 'nope', 'air')).toBeUndefined();
    t.read(29);
    const s = t.engine.silence({ device: 'green*', until: t.at() + 60_000 });
    t.read(31);
    t.read(29);
    t.read(32);
    expect(t.engine.active()[0]).toMatchObject({ silenced: true, acknowledged: false });
    expect(t.notified()).toEqual(['firing 31', 'resolved 29']);
    t.advance(60_000);
    expect(t.notified()).toEqual(['firing 31', 'resolved 29', 'firing 32']);
    expect(t.engine.silences()).toEqual([]);
    // Removing a silence by id releases at once too.
    t.read(20);
    const s2 = t.engine.silence({ rule: 'hot', until: t.at() + 3_600_000 });
    expect(s2.id).not.toBe(s.id);
    t.read(33);
    expect(t.notified()).toHaveLength(4);
    expect(t.engine.unsilence(s2.id)).toBe(true);
    expect(t.notified().at(-1)).toBe('firing 33');
    expect(t.engine.unsilence(s2.id)).toBe(false);
  });

  it('a restored firing alert stays firing and is not notified again; its resolve is', () => {
    const t = setup([hot]);
    t.read(31);
    const stored = t.engine.stored('hot', 'greenhouse', 'air')!;
    const again = setup([hot]);
    again.engine.restore([JSON.parse(JSON.stringify(stored))], []);
    again.read(35);
    expect(again.notified()).toEqual([]);
    expect(again.engine.active()[0]).toMatchObject({ state: 'firing', value: 35 });
    again.read(10);
    expect(again.notified()).toEqual(['resolved 10']);
  });

  it('prototype keys as device, sensor and tag values are ordinary ids', () => {
    const t = setup([
      {
        name: 'proto',
        match: { device: '__proto__', sensor: 'constructor', tags: { toString: 'x*' } },
        above: 1,
      },
    ]);
    t.read(5, { device: '__proto__', sensor: 'constructor', tags: { toString: 'xy' } });
    t.read(5, { device: '__proto__', sensor: 'constructor' }); // same series, cached
    t.read(5, { device: 'hasOwnProperty', sensor: 'constructor', tags: {} });
    expect(t.engine.active().map((a) => `${a.device}/${a.sensor}`)).toEqual(['__proto__/constructor']);
    expect(({} as Record<string, unknown>).constructor).toBe(Object);
  });

  it('a thousand rules apply only where they match', () => {
    const rules = Array.from({ length: 1000 }, (_, i) => ({
      name: `r${i}`,
      match: { device: `dev-${i}`, metric: i % 2 ? 'temperature' : 'humidity' },
      above: 50,
    }));
    const t = setup([...rules, { name: 'all', match: { metric: 'temp*' }, above: 60 }]);
    t.read(55, { device: 'dev-1' });
    t.read(55, { device: 'dev-2' }); // dev-2's rule is on humidity
    t.read(65, { device: 'dev-3' });
    expect(
      t.engine
        .active()
        .map((a) => a.rule)
        .sort(),
    ).toEqual(['all', 'r1', 'r3']);
  });
});

describe('alert rules in config', () => {
  const problems = (rules: unknown[]) => {
    const r = alertsSchema.safeParse({ rules });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('names each problem with its path', () => {
    expect(problems([{ name: 'a/b', above: 1 }])).toEqual([
      'rules.0.name: expected a rule name of [A-Za-z0-9_.-]{1,64}',
    ]);
    expect(problems([{ name: 'x', above: 1, below: 0 }])[0]).toMatch(/one condition, got above and below/);
    expect(problems([{ name: 'x' }])[0]).toMatch(/expected one condition/);
    expect(problems([{ name: 'x', above: 30, clear: 31 }])).toEqual([
      'rules.0.clear: expected a value at or below 30',
    ]);
    expect(problems([{ name: 'x', above: 1, for: 'soon' }])[0]).toMatch(/^rules.0.for: expected a duration/);
    expect(problems([{ name: 'x', above: 1, unit: 'furlong' }])[0]).toMatch(
      /^rules.0.unit: expected a known unit/,
    );
    expect(problems([{ name: 'x', match: { device: 'a b' }, above: 1 }])[0]).toMatch(/^rules.0.match.device/);
    expect(problems([{ name: 'x', outside: [5, 1] }])[0]).toMatch(/^rules.0.outside/);
    expect(problems([{ name: 'x', rate: { above: 1 } }])[0]).toMatch(/^rules.0.rate.per/);
    expect(problems([{ name: 'x', offline: true, match: { metric: 'temperature' } }])[0]).toMatch(
      /^rules.0.match/,
    );
    expect(
      problems([
        { name: 'x', above: 1 },
        { name: 'x', below: 1 },
      ]),
    ).toEqual(['rules.1.name: duplicate rule name x']);
    expect(problems([{ name: 'x', above: Number.NaN }])[0]).toMatch(/^rules.0.above/);
  });
});

describe('check-config warnings', () => {
  it('names rules that can never match a known metric, or whose unit does not fit it', () => {
    const { rules } = alertsSchema.parse({
      rules: [
        { name: 'typo', match: { metric: 'temprature' }, above: 30 },
        { name: 'mixed', match: { metric: 'humidity' }, above: 95, unit: '°F' },
        { name: 'fine', match: { metric: 'temp*' }, above: 95, unit: '°F' },
        { name: 'board', match: { metric: 'soil_moisture' }, above: 1 },
        { name: 'gone', offline: true },
      ],
    });
    expect(alertWarnings(rules, ['soil_moisture']).map((w) => w.path)).toEqual([
      'alerts.rules[0].match.metric',
      'alerts.rules[1].unit',
    ]);
  });
});
