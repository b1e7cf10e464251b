import { describe, expect, it } from 'vitest';
import { SeriesClock } from '../../hub/pipeline/series-clock.js';

describe('SeriesClock', () => {
  it("keeps each series' hub times strictly increasing, 1 µs apart within a millisecond", () => {
    const c = new SeriesClock();
    const t = 1_795_000_000_000;
    expect([c.next('a', 's', t), c.next('a', 's', t), c.next('a', 's', t - 5)]).toEqual([
      t,
      t + 0.001,
      t + 0.002,
    ]);
    // Another sensor, and another device with the same sensor name, are series of their own.
    expect(c.next('a', 'x', t)).toBe(t);
    expect(c.next('b', 's', t)).toBe(t);
    // A later time is taken as it is.
    expect(c.next('a', 's', t + 10)).toBe(t + 10);
  });

  it('holds many series (its storage grows) and starts over past its bound', () => {
    const c = new SeriesClock(3000);
    const t = 1_795_000_000_000;
    for (let i = 0; i < 2500; i++) c.next(`d${i}`, 's', t);
    for (let i = 0; i < 2500; i++) expect(c.next(`d${i}`, 's', t)).toBe(t + 0.001);
    for (let i = 2500; i < 3100; i++) c.next(`d${i}`, 's', t);
    // Past 3000 series the maps started over: d0 is new again.
    expect(c.next('d0', 's', t)).toBe(t);
  });

  it('gives device times in the same millisecond as the previous one the next free microsecond', () => {
    const c = new SeriesClock();
    const t = 1_795_000_000_000;
    expect([1, 2, 3].map((v) => c.deviceTime('a', 's', t, v))).toEqual([t, t + 0.001, t + 0.002]);
    // A later millisecond is taken as sent, and its own repeats step from it.
    expect(c.deviceTime('a', 's', t + 1, 4)).toBe(t + 1);
    expect(c.deviceTime('a', 's', t + 1, 5)).toBe(t + 1.001);
    // An older time (a replay, a backfill) is kept as it is.
    expect(c.deviceTime('a', 's', t - 1000, 6)).toBe(t - 1000);
    // Whole seconds, several readings in one: all apart, in order.
    const sec = 1_795_000_001_000;
    const times = [10, 11, 12, 13].map((v) => c.deviceTime('tas', 'x', sec, v));
    expect(times).toEqual([sec, sec + 0.001, sec + 0.002, sec + 0.003]);
  });

  it('says NaN for a resend (same device time, same value) and keeps different values apart', () => {
    const c = new SeriesClock();
    const t = 1_795_000_000_000;
    expect(c.deviceTime('a', 's', t, 1)).toBe(t);
    expect(c.deviceTime('a', 's', t, 1)).toBeNaN();
    expect(c.deviceTime('a', 's', t, 2)).toBe(t + 0.001);
    expect(c.deviceTime('a', 's', t, 2)).toBeNaN();
    // The same value at another time is a new reading.
    expect(c.deviceTime('a', 's', t + 5, 2)).toBe(t + 5);
  });

  it('runs on past 1000 readings in one millisecond without going back, and after hub times', () => {
    const c = new SeriesClock();
    const t = 1_795_000_000_000;
    let last = -1;
    for (let i = 0; i < 1500; i++) {
      const x = c.deviceTime('a', 's', t, i);
      expect(x).toBeGreaterThan(last);
      last = x;
    }
    // A device time of the next millisecond does not land on a time already given.
    expect(c.deviceTime('a', 's', t + 1, -1)).toBeGreaterThan(last);
    const h = c.next('b', 's', t);
    expect(c.deviceTime('b', 's', t, 1)).toBe(h + 0.001);
  });
});
