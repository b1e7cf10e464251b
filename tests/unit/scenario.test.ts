import { describe, expect, it } from 'vitest';
import { BAD_PAYLOADS, Scenario } from '../../simulators/scenario.js';

const values = (s: Scenario) => s.points().map((p) => p.value);

describe('Scenario', () => {
  it('ramps, steps, spikes and holds at the sampling interval', () => {
    const s = new Scenario({ start: 20, every: 1000 })
      .hold(2000)
      .ramp(30, 5000)
      .step(25, 2000)
      .spike(50, 1000)
      .hold(1000);
    expect(values(s)).toEqual([20, 20, 20, 22, 24, 26, 28, 25, 25, 50, 25]);
    expect(s.points().map((p) => p.offsetMs)).toEqual([
      0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000,
    ]);
    expect(s.durationMs).toBe(11_000);
    expect(s.level).toBe(25);
  });

  it('flaps around a value, alternating above and below it', () => {
    const v = values(new Scenario({ start: 30, every: 1000 }).flap(30, 1, 6000));
    expect(v).toEqual([31, 29, 31, 29, 31, 29]);
    const slow = values(new Scenario({ start: 30, every: 500 }).flap(30, 2, 4000, 2000));
    expect(slow).toEqual([32, 32, 28, 28, 32, 32, 28, 28]);
  });

  it('sends nothing during a silence, and bad payloads in place of values', () => {
    const s = new Scenario({ start: 5 }).hold(2000).silence(10_000).bad(3).hold(1000);
    const pts = s.points();
    expect(pts.map((p) => p.offsetMs)).toEqual([0, 1000, 12_000, 13_000, 14_000, 15_000]);
    expect(pts.slice(2, 5).map((p) => p.bad)).toEqual(BAD_PAYLOADS.slice(0, 3));
    expect(pts[5]).toEqual({ offsetMs: 15_000, value: 5 });
  });

  it('is the same for the same seed, and differs for another', () => {
    const make = (seed: number) =>
      new Scenario({ start: 20, seed }).ramp(25, 60_000).noise(0.5).dropouts(0.2);
    expect(make(7).points()).toEqual(make(7).points());
    expect(make(7).points()).not.toEqual(make(8).points());
    const n = make(7).points().length;
    // About 20 % of 60 samples dropped: far from none and far from all.
    expect(n).toBeGreaterThan(30);
    expect(n).toBeLessThan(58);
  });

  it('refuses lengths and chances that mean nothing', () => {
    expect(() => new Scenario({ start: Number.NaN })).toThrow(RangeError);
    expect(() => new Scenario({ start: 1, every: 0 })).toThrow(RangeError);
    expect(() => new Scenario({ start: 1 }).hold(-1)).toThrow(RangeError);
    expect(() => new Scenario({ start: 1 }).hold(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => new Scenario({ start: 1 }).dropouts(2)).toThrow(RangeError);
  });
});
