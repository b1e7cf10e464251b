import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenChecker } from '../../hub/http/auth.js';
import { dashboardPlugin } from '../../hub/http/dashboard.js';
import { rawGet, startTestHttp, type TestHttp } from '../support/http-app.js';

const TOKEN = 'a-token-of-sixteen-or-more';
const bearer = { Authorization: `Bearer ${TOKEN}` };

/** Every route that serves data. */
const PROTECTED = [
  '/api/devices',
  '/api/devices/lab',
  '/api/readings?device=lab&sensor=temperature',
  '/api/trends',
  '/api/hub',
  '/api/quarantine',
  '/api/stream',
  '/metrics',
];

const pct = (c: string) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** Spellings of one request target that a router, a proxy or a client may treat as the same route. */
function variants(target: string): string[] {
  const [path, query] = target.split('?') as [string, string | undefined];
  const q = query === undefined ? '' : `?${query}`;
  const out = new Set<string>([target]);
  // Percent-encode each character in turn, in both cases of hex, then all of them.
  for (let i = 1; i < path.length; i++) {
    if (path[i] === '/') continue;
    const e = pct(path[i]!);
    out.add(`${path.slice(0, i)}${e}${path.slice(i + 1)}${q}`);
    out.add(`${path.slice(0, i)}${e.toUpperCase()}${path.slice(i + 1)}${q}`);
  }
  out.add(`${path.replace(/[^/]/g, pct)}${q}`);
  out.add(`${path.replace(/\//g, '%2f')}${q}`);
  for (const base of ['http://x', 'HTTP://X', 'https://x', 'http://x:1', 'http://user:pw@x', 'http://x/'])
    out.add(`${base}${target}`);
  out.add(`/${target}`);
  out.add(`${path.replace(/\//g, '//')}${q}`);
  out.add(`${path.toUpperCase()}${q}`);
  out.add(`${path[0]}${path[1]!.toUpperCase()}${path.slice(2)}${q}`);
  for (const tail of ['/', '/.', '//', '%2f', '%2F', ';', ';x', '%00', '%20', '.', '#x', '?'])
    out.add(`${path}${tail}${q}`);
  const last = path.slice(path.lastIndexOf('/') + 1);
  out.add(`/x/..${target}`);
  out.add(`/./${target.slice(1)}`);
  out.add(`${path}/../${last}${q}`);
  out.add(`/x/%2e%2e${target}`);
  out.add(`${path.replace('/', '/./')}${q}`);
  return [...out];
}

/**
 * What an unauthorized answer may be: an error object of the API, or the HTTP
 * parser's own refusal of a target that is no URL (`%2fapi`), and nothing else.
 */
const ERROR_BODY =
  /^(\{"error":"HUB_(UNAUTHORIZED|NOT_FOUND|BAD_REQUEST)","message":"[^"]*"\}|\{"error":"Bad Request","message":"Client Error","statusCode":400\})$/;

let http: TestHttp;

beforeAll(async () => {
  const site = mkdtempSync(join(tmpdir(), 'hub-site-'));
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>hub</title>');
  http = await startTestHttp({ token: TOKEN, plugins: [dashboardPlugin(site)] });
  http.reading('lab', 'temperature');
});
afterAll(async () => {
  await http?.stop();
});

describe('HTTP auth decides on the route', () => {
  it('answers 401 to every spelling of a protected route without the token, on a real socket', async () => {
    const leaks: string[] = [];
    for (const target of PROTECTED) {
      for (const v of variants(target)) {
        const without = await rawGet(http.port, v);
        const wrong = await rawGet(http.port, v, { Authorization: `Bearer ${TOKEN}x` });
        for (const [who, res] of [
          ['no token', without],
          ['wrong token', wrong],
        ] as const) {
          if (![400, 401, 404].includes(res.status) || !ERROR_BODY.test(res.body))
            leaks.push(`${who} ${v}: ${res.status} ${res.body.slice(0, 80)}`);
        }
        // Whatever spelling serves data with the token must be refused for want of it.
        const withToken = await rawGet(http.port, v, bearer);
        if (withToken.status === 200 && without.status !== 401)
          leaks.push(`${v}: 200 with the token, ${without.status} without`);
      }
    }
    expect(leaks).toEqual([]);
  });

  it('is refused by the route even when the router decodes or reads an absolute target', async () => {
    // These three reached the data before: the hook compared the raw URL with "/api/".
    for (const v of ['/%61pi/devices', '/%6detrics', 'http://x/api/devices']) {
      expect((await rawGet(http.port, v)).status, v).toBe(401);
      expect((await rawGet(http.port, v, bearer)).status, v).toBe(200);
    }
  });

  it('checks the token in the same way through inject()', async () => {
    for (const target of PROTECTED.filter((t) => t !== '/api/stream')) {
      const none = await http.app.inject({ url: target });
      expect(none.statusCode, target).toBe(401);
      expect(none.json()).toEqual({ error: 'HUB_UNAUTHORIZED', message: expect.any(String) });
      expect((await http.app.inject({ method: 'HEAD', url: target })).statusCode, `HEAD ${target}`).toBe(401);
      const header = await http.app.inject({ url: target, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(header.statusCode, target).toBe(200);
      const sep = target.includes('?') ? '&' : '?';
      const query = await http.app.inject({ url: `${target}${sep}token=${TOKEN}` });
      expect(query.statusCode, target).toBe(200);
    }
  });

  it('refuses tokens that are close but wrong, in a header or the query', async () => {
    const wrong: Array<Record<string, string> | string> = [
      { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
      { authorization: `Bearer ${TOKEN}${TOKEN}` },
      { authorization: `Bearer ${TOKEN.toUpperCase()}` },
      { authorization: TOKEN },
      { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` },
      { authorization: `Bearer ${TOKEN} ${TOKEN}` },
      { authorization: 'Bearer' },
      '?token=',
      `?token=${TOKEN}x`,
      `?token[]=${TOKEN}`,
      `?token=x&token=${TOKEN}`,
      `?TOKEN=${TOKEN}`,
    ];
    for (const w of wrong) {
      const res =
        typeof w === 'string'
          ? await http.app.inject({ url: `/api/devices${w}` })
          : await http.app.inject({ url: '/api/devices', headers: w });
      expect(res.statusCode, JSON.stringify(w)).toBe(401);
    }
    // The scheme is case-insensitive (RFC 7235).
    const lower = await http.app.inject({
      url: '/api/devices',
      headers: { authorization: `bearer ${TOKEN}` },
    });
    expect(lower.statusCode).toBe(200);
  });

  it('says only ok or not on /healthz without the token, everything with it', async () => {
    const none = await http.app.inject({ url: '/healthz' });
    expect(none.statusCode).toBe(200);
    expect(none.body).toBe('{"ok":true}');
    const wrong = await http.app.inject({ url: '/healthz', headers: { authorization: 'Bearer nope' } });
    expect(wrong.body).toBe('{"ok":true}');
    const full = await http.app.inject({ url: '/healthz', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(full.json()).toMatchObject({ ok: true, influx: { queued: 3 } });

    const sick = await startTestHttp({ token: TOKEN, healthy: false });
    try {
      const res = await sick.app.inject({ url: '/healthz' });
      expect(res.statusCode).toBe(503);
      expect(res.body).toBe('{"ok":false}');
    } finally {
      await sick.stop();
    }
  });

  it('answers 404 to unknown routes without saying what exists', async () => {
    for (const url of ['/nope', '/x/../metrics', '/%2e%2e/etc/passwd', `/nope?token=${TOKEN}`]) {
      const res = await rawGet(http.port, url);
      expect(res.status, url).toBe(404);
      expect(JSON.parse(res.body), url).toEqual({ error: 'HUB_NOT_FOUND', message: 'not found' });
    }
    // Under /api the token is asked first, so a guess learns nothing about which routes exist.
    expect((await http.app.inject({ url: '/api/nope' })).statusCode).toBe(401);
    const known = await http.app.inject({ url: '/api/nope', headers: bearer });
    expect(known.statusCode).toBe(404);
  });

  it('serves the dashboard files without the token', async () => {
    const res = await http.app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<title>hub</title>');
  });

  it('serves everything without a token when none is configured', async () => {
    const open = await startTestHttp();
    try {
      expect((await open.app.inject({ url: '/api/devices' })).statusCode).toBe(200);
      expect((await open.app.inject({ url: '/healthz' })).json()).toMatchObject({ influx: { queued: 3 } });
    } finally {
      await open.stop();
    }
  });
});

describe('tokenChecker', () => {
  it('accepts the token only', () => {
    const check = tokenChecker(TOKEN);
    expect(check(TOKEN)).toBe(true);
    for (const c of [undefined, '', TOKEN.slice(1), `${TOKEN} `, `${TOKEN}\0`, 'x'.repeat(10_000)])
      expect(check(c)).toBe(false);
  });
});
