import { describe, expect, it } from 'vitest';
import type { Reading } from '../../hub/core/reading.js';
import { toLine } from '../../hub/storage/line-protocol.js';

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
