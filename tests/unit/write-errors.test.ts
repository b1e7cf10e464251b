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

test('refusals of the request, not of its points, are retried and never split or quarantined', () => {
  const refused = (status: number, body = '', retryAfter?: string) =>
    classify(status, body, retryAfter) as { kind: string; status?: number; retryAfterMs?: number };
  // InfluxDB 1.x with auth-enabled and a wrong password, or a user without WRITE.
  expect(refused(401, '{"error":"authorization failed"}')).toMatchObject({ kind: 'refused', status: 401 });
  expect(
    refused(403, '{"error":"\\"hub\\" user is not authorized to write to database \\"x\\""}'),
  ).toMatchObject({
    kind: 'refused',
    status: 403,
  });
  // InfluxDB 2.x/3.x: no such bucket, or a wrong token (their JSON says message, not error).
  expect(refused(404, '{"code":"not found","message":"bucket \\"sensors/raw\\" not found"}')).toMatchObject({
    kind: 'refused',
    status: 404,
  });
  expect(refused(401, '{"code":"unauthorized","message":"unauthorized access"}')).toMatchObject({
    kind: 'refused',
    reason: '401 unauthorized access',
  });
  // A proxy in front: a redirect to its login page, a 404 page of its own, a 405.
  expect(refused(302, '<html>moved</html>')).toMatchObject({ kind: 'refused', status: 302 });
  expect(refused(307, '')).toMatchObject({ kind: 'refused' });
  expect(refused(404, '<html>404 Not Found</html>')).toMatchObject({ kind: 'refused' });
  expect(refused(405, '')).toMatchObject({ kind: 'refused' });
  // A 4xx that names no point, e.g. a missing parameter; an unexpected 2xx.
  expect(refused(400, '{"error":"database is required"}')).toMatchObject({ kind: 'refused' });
  expect(refused(202, '')).toMatchObject({ kind: 'refused' });
  expect(refused(403, '', '7')).toMatchObject({ kind: 'refused', retryAfterMs: 7000 });
  // Still about the points: 1.x and 2.x parse errors, 2.x's 422, 3.x's line errors.
  expect(
    refused(400, '{"code":"invalid","message":"unable to parse \'x y\': invalid field format"}'),
  ).toMatchObject({
    kind: 'bad',
  });
  expect(
    refused(
      422,
      '{"code":"unprocessable entity","message":"failure writing points to database: partial write: points beyond retention policy dropped=1"}',
    ),
  ).toMatchObject({
    kind: 'retention',
  });
  expect(
    refused(
      400,
      '{"error":"parsing failed for write_lp endpoint","data":{"original_line":"x","line_number":1}}',
    ),
  ).toMatchObject({
    kind: 'bad',
  });
  // 1.x's own "database not found" is still the hub's to fix (CREATE DATABASE).
  expect(refused(404, '{"error":"database not found: \\"sensors\\""}')).toMatchObject({
    kind: 'no_database',
  });
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
