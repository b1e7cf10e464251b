import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { METRICS } from '../../hub/core/metrics.js';
import { convert, knownUnitCodes, resolveUnit, type UnitDef } from '../../hub/core/units.js';

const units = knownUnitCodes().map((c) => resolveUnit(c)!);
const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
const sameQuantity = fc
  .constantFrom(...units)
  .chain((a) => fc.tuple(fc.constant(a), fc.constantFrom(...units.filter((u) => u.base === a.base))));
const u = (code: string): UnitDef => resolveUnit(code)!;

describe('unit conversion (properties)', () => {
  it('round-trips between any two units of one quantity', () => {
    fc.assert(
      fc.property(sameQuantity, finite, ([a, b], v) => {
        expect(close(convert(convert(v, a, b)!, b, a)!, v)).toBe(true);
      }),
    );
  });

  it('is transitive: a -> b -> c equals a -> c', () => {
    fc.assert(
      fc.property(sameQuantity, fc.constantFrom(...units), finite, ([a, b], c, v) => {
        fc.pre(c.base === a.base);
        expect(close(convert(convert(v, a, b)!, b, c)!, convert(v, a, c)!)).toBe(true);
      }),
    );
  });

  it('keeps offsets out of differences: a difference scales, and the difference of two conversions is the converted difference', () => {
    fc.assert(
      fc.property(sameQuantity, finite, finite, ([a, b], x, y) => {
        const cx = convert(x, a, b)!;
        const cy = convert(y, a, b)!;
        // Subtracting two large converted values cancels digits: the error bound
        // scales with the operands, not with their (possibly small) difference.
        const tolerance = 1e-9 * Math.max(1, Math.abs(cx), Math.abs(cy));
        expect(Math.abs(cx - cy - convert(x - y, a, b, true)!)).toBeLessThanOrEqual(tolerance);
      }),
    );
    // the case from the issue: a 2 °F rise is 1.11 K, not -16.7 °C
    expect(convert(2, u('[degF]'), u('Cel'), true)).toBeCloseTo(1.1111, 4);
    expect(convert(2, u('[degF]'), u('Cel'))).toBeCloseTo(-16.6667, 4);
  });

  it('is monotonic: a larger reading stays larger', () => {
    fc.assert(
      fc.property(sameQuantity, finite, finite, ([a, b], x, y) => {
        fc.pre(x < y && y - x > 1e-6 * Math.max(1, Math.abs(x)));
        expect(convert(x, a, b)!).toBeLessThan(convert(y, a, b)!);
      }),
    );
  });

  it('refuses to convert between quantities', () => {
    fc.assert(
      fc.property(fc.constantFrom(...units), fc.constantFrom(...units), finite, (a, b, v) => {
        fc.pre(a.base !== b.base);
        expect(convert(v, a, b)).toBeUndefined();
      }),
    );
  });

  it('knows the fixed points of the scales devices use', () => {
    expect(convert(32, u('°F'), u('Cel'))).toBeCloseTo(0, 10);
    expect(convert(212, u('degF'), u('Cel'))).toBeCloseTo(100, 10);
    expect(convert(0, u('K'), u('Cel'))).toBeCloseTo(-273.15, 10);
    expect(convert(1013.25, u('hPa'), u('Pa'))).toBeCloseTo(101325, 6);
    expect(convert(1013.25, u('mbar'), u('Pa'))).toBeCloseTo(101325, 6);
    expect(convert(101.325, u('kPa'), u('Pa'))).toBeCloseTo(101325, 6);
    expect(convert(29.92, u('inHg'), u('Pa'))).toBeCloseTo(101320.76, 1);
    expect(convert(3025, u('mV'), u('V'))).toBeCloseTo(3.025, 10);
    expect(convert(1.5, u('klx'), u('lx'))).toBeCloseTo(1500, 10);
  });

  it('gives every metric a canonical unit the table knows, that is its own base', () => {
    for (const [name, m] of Object.entries(METRICS)) {
      const def = resolveUnit(m.unit);
      expect(def, name).toBeDefined();
      expect(def!.base, name).toBe(def!.code);
      expect(m.min, name).toBeLessThan(m.max);
    }
  });
});
