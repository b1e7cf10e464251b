import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Reading } from '../../hub/core/reading.js';
import { toLine, writeLine } from '../../hub/storage/line-protocol.js';

const base: Reading = {
  device: 'kitchen',
  sensor: 'temperature',
  metric: 'temperature',
  value: 21.5,
  unit: 'Cel',
  ts: 1_700_000_000_123,
  source: 'mqtt',
  quality: 'good',
};

describe('line protocol', () => {
  it('writes measurement = metric, sorted tags, one float field and a ms timestamp', () => {
    expect(toLine(base)).toBe(
      'temperature,device=kitchen,sensor=temperature,source=mqtt,unit=Cel value=21.5 1700000000123000',
    );
  });

  it('writes sub-millisecond steps as microseconds', () => {
    expect(toLine({ ...base, ts: 1_700_000_000_123.002 })).toMatch(/ 1700000000123002$/);
  });

  it('writes integers as floats so the field type never flips', () => {
    expect(toLine({ ...base, value: 21 })).toContain(' value=21 ');
    expect(toLine({ ...base, value: 21 })).not.toContain('21i');
  });

  it('sorts declared tags in and escapes spaces, commas and equals signs', () => {
    const line = toLine({ ...base, tags: { location: 'living room, east', floor: 'a=b' } });
    expect(line).toBe(
      'temperature,device=kitchen,floor=a\\=b,location=living\\ room\\,\\ east,sensor=temperature,source=mqtt,unit=Cel value=21.5 1700000000123000',
    );
  });
});

describe('writeLine', () => {
  const id = fc.stringMatching(/^[A-Za-z0-9_.-]{1,64}$/);
  const reading = fc.record({
    device: id,
    sensor: id,
    metric: id,
    value: fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }),
      fc.maxSafeInteger(),
      fc.constantFrom(0, -0, 1e21, 123456789012, 0.1, 21.5, -1e-7),
    ),
    unit: fc.constantFrom('Cel', '%RH', '1', 'm/s', 'µg/m3', 'ppm', 'a b,c=d'),
    ts: fc.oneof(
      fc.integer({ min: 0, max: 4_102_444_800_000 }),
      fc.double({ min: 0, max: 4_102_444_800_000, noNaN: true }),
    ),
    source: fc.constantFrom('mqtt', 'firmata', 'simulator'),
    quality: fc.constant('good'),
    tags: fc.option(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 12 })), {
      nil: undefined,
    }),
  }) as fc.Arbitrary<Reading>;

  it('writes the same bytes as toLine and a newline, or -1 without writing when it might not fit', () => {
    fc.assert(
      fc.property(
        fc.array(reading, { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 0, max: 400 }),
        (rs, size) => {
          const expected = Buffer.from(rs.map((r) => `${toLine(r)}\n`).join(''));
          const big = Buffer.alloc(expected.length + 1024, 0xee);
          let o = 3;
          for (const r of rs) o = writeLine(r, big, o);
          expect(big.subarray(3, o).toString()).toBe(expected.toString());
          // A buffer too small: -1 and nothing written; else the whole line.
          const small = Buffer.alloc(size + 200, 0xee);
          const end = writeLine(rs[0]!, small.subarray(0, size), 0);
          if (end < 0) expect(small.every((b) => b === 0xee)).toBe(true);
          else expect(small.subarray(0, end).toString()).toBe(`${toLine(rs[0]!)}\n`);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
