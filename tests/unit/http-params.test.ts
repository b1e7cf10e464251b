import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { historyInfluxQL, quoteString } from '../../hub/http/query.js';
import { rawGet, startTestHttp, type TestHttp } from '../support/http-app.js';

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const ROUTES = ['/api/readings', '/api/trends', '/api/quarantine', '/api/stream', '/api/devices', '/api/hub'];
const PARAMS = ['device', 'sensor', 'from', 'to', 'every', 'points', 'limit', 'token'];

/** Every own property of Object.prototype with its value, to tell it was not written to. */
const protoSnapshot = () =>
  Object.getOwnPropertyNames(Object.prototype).map((k) => [
    k,
    Object.getOwnPropertyDescriptor(Object.prototype, k)?.value,
  ]);

let http: TestHttp;
const before = protoSnapshot();

/** A route that fails inside: the answer must not carry what went wrong. */
const failing = (app: FastifyInstance) => {
  app.get('/api/boom', async () => {
    throw new Error('connect ECONNREFUSED secret-host:8086 SELECT * FROM "x"');
  });
};

beforeAll(async () => {
  http = await startTestHttp({ plugins: [failing] });
  http.reading('lab', 'temperature');
});
afterAll(async () => {
  await http?.stop();
  expect(protoSnapshot()).toEqual(before);
});

/** GET through a real socket for the stream (it never ends), inject() for the rest. */
async function get(url: string): Promise<{ status: number; body: string }> {
  if (url.startsWith('/api/stream')) return rawGet(http.port, url);
  const res = await http.app.inject({ url });
  return { status: res.statusCode, body: res.body };
}

describe('query values and path parameters', () => {
  it('answers 404 for a sensor named like a prototype key (it was 500)', async () => {
    for (const key of PROTO_KEYS) {
      const res = await http.app.inject({ url: `/api/readings?device=lab&sensor=${key}` });
      expect(res.statusCode, key).toBe(404);
      expect(res.json()).toEqual({ error: 'HUB_NOT_FOUND', message: `no sensor lab/${key}` });
      const dev = await http.app.inject({ url: `/api/devices/${key}` });
      expect(dev.statusCode, key).toBe(404);
    }
    expect(protoSnapshot()).toEqual(before);
  });

  it('never answers 500 to prototype keys, huge values or repeated keys on any route', async () => {
    const values = [...PROTO_KEYS, 'x'.repeat(5000), '9'.repeat(400), '-99999999999999999999d', '', '%00'];
    const failures: string[] = [];
    for (const route of ROUTES) {
      const queries = [
        ...PROTO_KEYS.map((k) => `${k}=1`),
        ...PROTO_KEYS.map((k) => `device=lab&sensor=${k}`),
        ...PROTO_KEYS.map((k) => `device=${k}&sensor=temperature`),
        ...PROTO_KEYS.map((k) => `${k}[x]=1&${k}.y=2`),
        ...PARAMS.flatMap((p) => values.map((v) => `${p}=${encodeURIComponent(v)}`)),
        ...PARAMS.map((p) => `${p}=a&${p}=b`),
        ...PARAMS.map((p) => `${p}[]=a`),
        'device=lab&sensor=temperature&from=0&to=99999999999999999999',
        'device=lab&sensor=temperature&from=99999999999999999000&to=99999999999999999999',
        'device=lab&sensor=temperature&every=99999999999999999999d',
        'device=lab&sensor=temperature&every=auto&points=1e3',
      ];
      for (const q of queries) {
        const res = await get(`${route}?${q}`);
        if (res.status >= 500) failures.push(`${route}?${q.slice(0, 60)}: ${res.status} ${res.body}`);
      }
    }
    expect(failures).toEqual([]);
    expect(protoSnapshot()).toEqual(before);
  });

  it('refuses a repeated key with a clear 400 in the error shape', async () => {
    const res = await http.app.inject({ url: '/api/readings?device=a&device=b&sensor=temperature' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: 'HUB_BAD_REQUEST',
      message: 'device: expected one value, given once',
    });
    const stream = await rawGet(http.port, '/api/stream?device=a&device=b');
    expect(stream.status).toBe(400);
    const long = await http.app.inject({ url: `/api/quarantine?device=${'x'.repeat(200)}` });
    expect(long.json()).toEqual({ error: 'HUB_BAD_REQUEST', message: 'device: longer than 128 characters' });
  });

  it('survives arbitrary query strings on every route', async () => {
    const key = fc.oneof(fc.constantFrom(...PARAMS, ...PROTO_KEYS), fc.string({ maxLength: 8 }));
    const value = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('lab', 'temperature', '-1h', 'now', 'auto', ...PROTO_KEYS),
      fc.integer().map(String),
    );
    const query = fc
      .array(fc.tuple(key, value), { maxLength: 6 })
      .map((kv) => kv.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'));
    const raw = fc.string({ maxLength: 60 }).map((s) => encodeURI(s).replace(/#/g, '%23'));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.oneof(query, raw), async (route, q) => {
        const res = await get(`${route}?${q}`);
        expect(res.status, `${route}?${q}`).toBeLessThan(500);
        if (res.status >= 400) expect(JSON.parse(res.body).error).toMatch(/^HUB_(BAD_REQUEST|NOT_FOUND)$/);
      }),
      { numRuns: 300 },
    );
    expect(protoSnapshot()).toEqual(before);
  });

  it('answers a failure inside the hub with a generic 500 and a request id, not its message', async () => {
    const res = await http.app.inject({ url: '/api/boom' });
    expect(res.statusCode).toBe(500);
    const body = res.json() as { error: string; message: string };
    expect(body.error).toBe('HUB_INTERNAL');
    expect(body.message).toMatch(/^internal error \(request [\w-]+\); see the hub log$/);
    expect(res.body).not.toMatch(/secret-host|ECONNREFUSED|SELECT/);
  });
});

/** Reads the InfluxQL string literal that starts at `i` (a quote); returns its value and where it ends. */
function readLiteral(q: string, i: number): { value: string; end: number } {
  expect(q[i]).toBe("'");
  let value = '';
  for (let j = i + 1; j < q.length; j++) {
    const c = q[j]!;
    if (c === '\\') {
      const n = q[++j]!;
      value += n === 'n' ? '\n' : n;
    } else if (c === "'") return { value, end: j + 1 };
    else {
      expect(c, 'a raw newline ends a literal').not.toBe('\n');
      value += c;
    }
  }
  throw new Error(`unterminated literal in ${q}`);
}

describe('InfluxQL built from request values', () => {
  it('keeps any device or sensor text inside its string literal', () => {
    const q0 = { from: 1000, to: 2000, every: 0 };
    fc.assert(
      fc.property(fc.string(), fc.string(), (device, sensor) => {
        const q = historyInfluxQL('temperature', { ...q0, device, sensor });
        const d = readLiteral(q, q.indexOf('device = ') + 9);
        expect(d.value).toBe(device);
        expect(q.slice(d.end, d.end + 10)).toBe(' AND senso');
        const s = readLiteral(q, d.end + ' AND sensor = '.length);
        expect(s.value).toBe(sensor);
        // What follows the literals is the query's own text, whatever the ids held.
        expect(q.slice(s.end)).toBe(' AND time >= 1000ms AND time <= 2000ms ORDER BY time ASC LIMIT 10000');
        expect(q.slice(0, q.indexOf('device = '))).toBe('SELECT value FROM "temperature" WHERE ');
      }),
      { numRuns: 500 },
    );
  });

  it('escapes quotes, backslashes and newlines', () => {
    expect(quoteString(`a'b\\c\nd`)).toBe(`'a\\'b\\\\c\\nd'`);
    expect(quoteString(`x\\' OR 1=1 --`)).toBe(`'x\\\\\\' OR 1=1 --'`);
  });
});
