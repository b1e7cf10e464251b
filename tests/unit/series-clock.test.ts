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
});
