// Each route module on an app built by createHttpApp, driven with inject() and fake
// dependencies: no port, no InfluxDB.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EventBus } from '../../hub/core/bus.js';
import { HubError } from '../../hub/core/errors.js';
import { devicesRoutes } from '../../hub/http/devices.js';
import { healthRoutes } from '../../hub/http/health.js';
import { hubStatusRoutes } from '../../hub/http/hub-status.js';
import { quarantineRoutes } from '../../hub/http/quarantine.js';
import type { HttpDeps, RouteModule } from '../../hub/http/route-module.js';
import { ROUTE_MODULES } from '../../hub/http/routes.js';
import { createHttpApp } from '../../hub/http/server.js';
import { createMetrics } from '../../hub/prometheus.js';
import { Quarantine } from '../../hub/quarantine.js';
import { DeviceRegistry } from '../../hub/registry.js';
import type { InfluxHttp } from '../../hub/storage/influx-http.js';

const log = pino({ level: 'silent' });
const apps: Array<{ close(): Promise<unknown> }> = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

function fakeDeps(over: Partial<HttpDeps> = {}): HttpDeps {
  const bus = new EventBus(log);
  const registry = new DeviceRegistry(bus, [{ id: 'lab', name: 'Lab', tags: {} }], { checkEveryMs: 0 });
  return {
    log,
    bus,
    registry,
    devices: {
      remove: async (id) => {
        throw new HubError('HUB_NOT_FOUND', `no device ${id}`);
      },
      update: async (id) => registry.get(id)!,
    },
    quarantine: new Quarantine(bus, log),
    metrics: createMetrics(),
    influx: {
      rows: async () => [],
      query: async () => [],
    } as unknown as InfluxHttp,
    health: async () => ({ ok: true, influx: { url: 'http://secret-host:8086' } }),
    ...over,
  };
}

async function appWith(routes: readonly RouteModule[], deps = fakeDeps(), token?: string) {
  const app = await createHttpApp({ ...deps, routes, ...(token ? { token } : {}) });
  apps.push(app);
  return app;
}

describe('route modules', () => {
  it('serve alone: one module on its own app answers its routes and nothing else', async () => {
    const app = await appWith([devicesRoutes]);
    const res = await app.inject({ url: '/api/devices/lab' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: 'lab', name: 'Lab', state: 'waiting' });
    const other = await app.inject({ url: '/api/quarantine' });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toEqual({ error: 'HUB_NOT_FOUND', message: 'not found' });
  });

  it('validate path parameters and queries with zod in the API wording', async () => {
    const app = await appWith(ROUTE_MODULES);
    const bad = await app.inject({ url: `/api/devices/${encodeURIComponent('a b')}` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      error: 'HUB_BAD_REQUEST',
      message: 'id: expected an id of [A-Za-z0-9_.-]{1,64}',
    });
    const limit = await app.inject({ url: '/api/quarantine?limit=ten&device=x%20y' });
    expect(limit.statusCode).toBe(400);
    expect(limit.json()).toEqual({
      error: 'HUB_BAD_REQUEST',
      message: 'limit: expected a whole number; device: expected an id of [A-Za-z0-9_.-]{1,64}',
    });
    const repeated = await app.inject({ url: '/api/trends?from=-1h&from=-2h' });
    expect(repeated.json()).toEqual({
      error: 'HUB_BAD_REQUEST',
      message: 'from: expected one value, given once',
    });
  });

  it('answers every error in the one shape {error, message}, with the token required', async () => {
    const app = await appWith(ROUTE_MODULES, fakeDeps(), 'a-token-of-sixteen-or-more');
    for (const url of ['/api/devices', '/api/hub', '/api/quarantine', '/api/readings', '/metrics']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(401);
      expect(Object.keys(res.json()).sort(), url).toEqual(['error', 'message']);
      expect(res.json().error, url).toBe('HUB_UNAUTHORIZED');
    }
    const health = await app.inject({ url: '/healthz' });
    expect(health.json()).toEqual({ ok: true });
  });

  it('takes one more module from the list, with auth and the error handler applied to it', async () => {
    const extra: RouteModule = (app) => {
      app.get(
        '/api/extra/:n',
        { schema: { params: z.object({ n: z.string().regex(/^\d+$/, { error: 'n: expected digits' }) }) } },
        async (req) => {
          if (req.params.n === '0') throw new HubError('HUB_CONFLICT', 'zero is taken');
          if (req.params.n === '1') throw new Error('ECONNREFUSED secret-host:8086');
          return { n: Number(req.params.n) };
        },
      );
    };
    const app = await appWith([...ROUTE_MODULES, extra], fakeDeps(), 'a-token-of-sixteen-or-more');
    const auth = { authorization: 'Bearer a-token-of-sixteen-or-more' };
    expect((await app.inject({ url: '/api/extra/7' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/extra/7', headers: auth })).json()).toEqual({ n: 7 });
    expect((await app.inject({ url: '/api/extra/x', headers: auth })).json()).toEqual({
      error: 'HUB_BAD_REQUEST',
      message: 'n: expected digits',
    });
    const conflict = await app.inject({ url: '/api/extra/0', headers: auth });
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json()).toEqual({ error: 'HUB_CONFLICT', message: 'zero is taken' });
    const boom = await app.inject({ url: '/api/extra/1', headers: auth });
    expect(boom.statusCode).toBe(500);
    expect(boom.json().error).toBe('HUB_INTERNAL');
    expect(boom.body).not.toMatch(/secret-host|ECONNREFUSED/);
  });

  it('health: 503 when a module is not ok, details only with the token', async () => {
    const deps = fakeDeps({
      health: async () => ({ ok: false, influx: { lastError: 'down at secret-host' } }),
    });
    const app = await appWith([healthRoutes], deps, 'a-token-of-sixteen-or-more');
    const anon = await app.inject({ url: '/healthz' });
    expect(anon.statusCode).toBe(503);
    expect(anon.json()).toEqual({ ok: false });
    const full = await app.inject({
      url: '/healthz',
      headers: { authorization: 'Bearer a-token-of-sixteen-or-more' },
    });
    expect(full.json()).toMatchObject({ influx: { lastError: 'down at secret-host' } });
  });

  it('quarantine: clamps limit and filters by device', async () => {
    const deps = fakeDeps();
    const app = await appWith([quarantineRoutes], deps);
    for (const device of ['a', 'b', 'a'])
      deps.quarantine.add(
        { topic: `sensors/${device}/t`, payload: Buffer.from('hot'), receivedAt: Date.now(), source: 'mqtt' },
        device,
        'not_a_number',
        'hot',
      );
    const res = await app.inject({ url: '/api/quarantine?limit=0&device=a' });
    expect(res.statusCode).toBe(200);
    expect(res.json().entries).toHaveLength(1);
  });

  it('devices: counts every state, waiting included, and they add up to the list', async () => {
    const app = await appWith([devicesRoutes]);
    const body = (await app.inject({ url: '/api/devices' })).json();
    expect(body.counts).toEqual({ online: 0, stale: 0, offline: 0, waiting: 1, total: 1 });
    expect(body.devices[0]).toMatchObject({ id: 'lab', declared: true });
  });

  it('devices: PATCH takes JSON only, validated before the handler runs', async () => {
    const calls: unknown[] = [];
    const deps = fakeDeps();
    deps.devices.update = async (id, patch) => {
      calls.push(patch);
      return deps.registry.get(id)!;
    };
    const app = await appWith([devicesRoutes], deps);
    const text = await app.inject({
      method: 'PATCH',
      url: '/api/devices/lab',
      headers: { 'content-type': 'application/xml' },
      payload: '<name>x</name>',
    });
    expect(text.statusCode).toBe(415);
    expect(text.json().error).toBe('HUB_BAD_REQUEST');
    const none = await app.inject({ method: 'PATCH', url: '/api/devices/lab' });
    expect(none.json()).toEqual({
      error: 'HUB_BAD_REQUEST',
      message: 'expected a JSON object with name and/or tags',
    });
    const ok = await app.inject({
      method: 'PATCH',
      url: '/api/devices/lab',
      payload: { tags: { constructor: 'x' } },
    });
    expect(ok.statusCode).toBe(200);
    expect(calls).toHaveLength(1);
    expect(Object.getPrototypeOf((calls[0] as { tags: object }).tags)).toBe(null);
    const missing = await app.inject({ method: 'DELETE', url: '/api/devices/nobody' });
    expect(missing.json()).toEqual({ error: 'HUB_NOT_FOUND', message: 'no device nobody' });
  });

  it('hub status: rate history, write queue with its unit in the name, device states', async () => {
    const deps = fakeDeps({ writeQueue: () => 12, rateHistory: { sampleMs: 1000, keepMs: 300_000 } });
    const app = await appWith([hubStatusRoutes], deps);
    const body = (await app.inject({ url: '/api/hub' })).json();
    expect(body.writeQueue).toEqual({ readings: 12 });
    expect(Array.isArray(body.rates)).toBe(true);
    expect(body.current).toEqual({ readingsPerSec: 0, storedPerSec: 0, quarantinedPerSec: 0 });
    expect(body.deviceStates).toEqual({ online: 0, stale: 0, offline: 0, waiting: 1 });
  });
});
