import { describe, expect, it } from 'vitest';
import { IntervalLearner } from '../../hub/registry-staleness.js';

/** Notes readings `gap` ms apart, starting after `from`; returns the last time. */
function feed(l: IntervalLearner, from: number, gap: number, times: number): number {
  let t = from;
  for (let i = 0; i < times; i++) {
    t += gap;
    l.note(t);
  }
  return t;
}

describe('IntervalLearner', () => {
  it('learns the median gap once two gaps are seen', () => {
    const l = new IntervalLearner();
    l.note(0);
    l.note(1000);
    expect(l.interval).toBeUndefined();
    l.note(2000);
    expect(l.interval).toBe(1000);
    l.note(5000);
    l.note(5500);
    // gaps 1000, 1000, 3000, 500: the median of four is the upper middle one
    expect(l.interval).toBe(1000);
  });

  it('is not moved by one outage or by readings of the same message', () => {
    const l = new IntervalLearner();
    let t = feed(l, 0, 5000, 6);
    t += 600_000; // one long outage
    l.note(t);
    l.note(t); // a second reading of the same message: gap 0 teaches nothing
    expect(l.interval).toBe(5000);
  });

  it('follows a device whose interval changed, over its last nine gaps', () => {
    const l = new IntervalLearner();
    const t = feed(l, 0, 1000, 9);
    expect(l.interval).toBe(1000);
    feed(l, t, 60_000, 5);
    expect(l.interval).toBe(60_000);
  });
});
