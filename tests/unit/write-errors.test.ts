import { expect, test } from 'vitest';
import {
  classify,
  deviceOf,
  measurementOf,
  parseRetryAfter,
  timestampOf,
} from '../../hub/storage/write-errors.js';

test('InfluxDB 1.x write answers map to what the writer does', () => {
  expect(classify(204, '')).toEqual({ kind: 'ok' });
  expect(classify(503, 'busy', '3')).toMatchObject({ kind: 'retry', retryAfterMs: 3000 });
  expect(classify(500, '{"error":"timeout"}')).toMatchObject({ kind: 'retry', reason: '500 timeout' });
  expect(classify(429, '')).toMatchObject({ kind: 'retry' });
  expect(classify(413, '')).toMatchObject({ kind: 'split' });
  expect(classify(404, '{"error":"database not found: \\"x\\""}')).toMatchObject({ kind: 'no_database' });
  const conflict =
    '{"error":"partial write: field type conflict: input field \\"value\\" on measurement \\"humidity\\" is type float, already exists as type string dropped=3"}';
  expect(classify(400, conflict)).toMatchObject({ kind: 'type_conflict', measurements: ['humidity'] });
  expect(classify(400, '{"error":"partial write: points beyond retention policy dropped=2"}')).toMatchObject({
    kind: 'retention',
  });
  expect(classify(400, '{"error":"unable to parse \'x\': missing fields"}')).toMatchObject({ kind: 'bad' });
});

test('Retry-After as seconds or a date, capped at a minute', () => {
  expect(parseRetryAfter(undefined)).toBeUndefined();
  expect(parseRetryAfter('120')).toBe(60_000);
  const at = new Date(Date.now() + 5000).toUTCString();
  expect(parseRetryAfter(at)).toBeGreaterThan(3000);
});

test('fields of a line-protocol line, with escapes', () => {
  const line = 'air\\ temp,device=a\\,b,sensor=s value=1 1700000000000123';
  expect(measurementOf(line)).toBe('air temp');
  expect(deviceOf(line)).toBe('a,b');
  expect(timestampOf(line)).toBe(1700000000000.123);
});
