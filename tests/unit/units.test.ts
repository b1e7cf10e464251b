import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { convert, knownUnitCodes, resolveUnit } from '../../hub/core/units.js';

const u = (s: string) => {
  const d = resolveUnit(s);
  if (!d) throw new Error(`unit ${s} unknown`);
  return d;
};

describe('units', () => {
  it('resolves the spellings devices use to UCUM codes', () => {
    expect(u('°C').code).toBe('Cel');
    expect(u('degF').code).toBe('[degF]');
    expect(u('mbar').code).toBe('hPa');
    expect(u('inHg').code).toBe("[in_i'Hg]");
    expect(u('lux').code).toBe('lx');
    expect(resolveUnit('furlongs')).toBeUndefined();
  });

  it('converts absolute temperatures with the offset and differences without it', () => {
    expect(convert(212, u('°F'), u('Cel'))).toBeCloseTo(100, 10);
    expect(convert(300, u('K'), u('Cel'))).toBeCloseTo(26.85, 10);
    // A 2 °F rise is 1.11 K, not -16.7 °C.
    expect(convert(2, u('°F'), u('Cel'), true)).toBeCloseTo(10 / 9, 10);
  });

  it('converts pressure, light and voltage by scale', () => {
    expect(convert(1013.25, u('hPa'), u('Pa'))).toBeCloseTo(101_325, 6);
    expect(convert(29.92, u('inHg'), u('Pa'))).toBeCloseTo(101_320.76, 1);
    expect(convert(1.5, u('klx'), u('lx'))).toBe(1500);
    expect(convert(3300, u('mV'), u('V'))).toBeCloseTo(3.3, 12);
  });

  it('refuses to convert between quantities', () => {
    expect(convert(1, u('Pa'), u('Cel'))).toBeUndefined();
  });

  it('round-trips every pair of units of one quantity (property)', () => {
    const codes = knownUnitCodes().map((c) => u(c));
    const pairs = codes.flatMap((a) => codes.filter((b) => b.base === a.base).map((b) => [a, b] as const));
    fc.assert(
      fc.property(
        fc.constantFrom(...pairs),
        fc.double({ min: -1e6, max: 1e6, noNaN: true }),
        fc.boolean(),
        ([a, b], x, diff) => {
          const there = convert(x, a, b, diff)!;
          const back = convert(there, b, a, diff)!;
          expect(back).toBeCloseTo(x, Math.abs(x) > 1000 ? 3 : 6);
        },
      ),
    );
  });

  it('keeps differences linear: convert(a - b) = convert(a) - convert(b) (property)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -1000, max: 1000, noNaN: true }),
        fc.double({ min: -1000, max: 1000, noNaN: true }),
        (a, b) => {
          const f = u('°F');
          const c = u('Cel');
          expect(convert(a - b, f, c, true)!).toBeCloseTo(convert(a, f, c)! - convert(b, f, c)!, 6);
        },
      ),
    );
  });
});
