import { describe, expect, it } from 'vitest';
import { RejectError } from '../../hub/core/errors.js';
import { parseDeviceTime } from '../../hub/core/time.js';

describe('device times', () => {
  it('reads zone-less ISO times as UTC by default, as Telegraf does', () => {
    expect(parseDeviceTime('2019-11-03T19:34:28')).toBe(Date.UTC(2019, 10, 3, 19, 34, 28));
    expect(parseDeviceTime('2019-11-03 19:34:28.250')).toBe(Date.UTC(2019, 10, 3, 19, 34, 28, 250));
  });

  it('reads zone-less times in the configured zone, across DST', () => {
    // Europe/Berlin: CET (+1) in winter, CEST (+2) in summer
    expect(parseDeviceTime('2024-01-15T12:00:00', 'Europe/Berlin')).toBe(Date.UTC(2024, 0, 15, 11));
    expect(parseDeviceTime('2024-07-15T12:00:00', 'Europe/Berlin')).toBe(Date.UTC(2024, 6, 15, 10));
    // the hour after the autumn change exists twice; either reading is an instant of that wall time
    const amb = parseDeviceTime('2024-10-27T02:30:00', 'Europe/Berlin');
    expect([Date.UTC(2024, 9, 27, 0, 30), Date.UTC(2024, 9, 27, 1, 30)]).toContain(amb);
    expect(parseDeviceTime('2024-03-10T12:00:00', 'America/New_York')).toBe(Date.UTC(2024, 2, 10, 16));
  });

  it('keeps explicit offsets and Z exact, whatever the configured zone', () => {
    expect(parseDeviceTime('2023-09-12T10:40:12.345Z', 'Asia/Tokyo')).toBe(
      Date.UTC(2023, 8, 12, 10, 40, 12, 345),
    );
    expect(parseDeviceTime('2019-10-24T12:48:08+02:00', 'UTC')).toBe(Date.UTC(2019, 9, 24, 10, 48, 8));
  });

  it('reads epoch seconds and milliseconds, numbers or numeric strings', () => {
    expect(parseDeviceTime(1631266595.43)).toBe(1631266595430);
    expect(parseDeviceTime('1700000000')).toBe(1700000000000);
    expect(parseDeviceTime(1700000000123)).toBe(1700000000123);
  });

  it('keeps an ISO time in 1970 in 1970 (the seconds rule is for numbers only)', () => {
    expect(parseDeviceTime('1970-01-01T00:00:12')).toBe(12_000);
  });

  it('rejects what is not a time', () => {
    for (const bad of ['yesterday', '2019-13-01T00:00:00', '2019-01-01T25:00:00', null, {}, -5, 'NaN']) {
      expect(() => parseDeviceTime(bad), String(bad)).toThrow(RejectError);
    }
  });
});
