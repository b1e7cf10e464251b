import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { expect, test } from 'vitest';
import { parseConfig } from '../../hub/config/load.js';
import { startHub } from '../../hub/hub.js';
import { startManagedInfluxd } from '../../hub/storage/managed-influxd.js';
import { eventually, mqttMessage } from '../support/hub.js';

test('the managed influxd is restarted when it dies; readings from before and after all land', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hub-managed-'));
  const hub = await startHub(
    parseConfig({
      mqtt: { port: 0 },
      http: { port: 0 },
      influx: {
        flushInterval: 50,
        timeout: 1000,
        maxRetryDelay: 500,
        managed: { dataDir: join(dataDir, 'influxdb') },
      },
      dataDir,
    }),
    { logger: pino({ level: process.env.HUB_TEST_LOG ?? 'silent' }) },
  );
  type Health = { influxd: { pid: number; running: boolean; restarts: number } };
  const health = async () => (await (await fetch(`${hub.httpUrl}/healthz`)).json()) as Health;
  const count = async () => {
    const u = new URL('/query', hub.influxUrl);
    u.searchParams.set('db', hub.config.influx.database);
    u.searchParams.set('q', 'SELECT count(value) FROM /.*/');
    const body = (await (await fetch(u)).json()) as {
      results: Array<{ series?: Array<{ values: unknown[][] }> }>;
    };
    return (body.results[0]?.series ?? []).reduce((n, s) => n + Number(s.values[0]?.[1] ?? 0), 0);
  };
  try {
    const t0 = Date.now() - 10_000;
    for (let i = 0; i < 200; i++)
      hub.ingest(mqttMessage('sensors/m/a', JSON.stringify({ value: i, ts: t0 + i })));
    expect(await hub.flush(10_000)).toBe(0);
    const first = (await health()).influxd;
    expect(first).toMatchObject({ running: true, restarts: 0 });

    process.kill(first.pid, 'SIGKILL');
    for (let i = 200; i < 400; i++)
      hub.ingest(mqttMessage('sensors/m/a', JSON.stringify({ value: i, ts: t0 + i })));
    const back = await eventually(
      async () => {
        const h = (await health()).influxd;
        return h.restarts === 1 && h.running ? h : undefined;
      },
      15_000,
      100,
    );
    expect(back.pid).not.toBe(first.pid);
    expect(await hub.flush(15_000)).toBe(0);
    expect(await count()).toBe(400);
    expect(await hub.metrics.registry.metrics()).toMatch(/hub_influxd_restarts_total 1/);
  } finally {
    await hub.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 40_000);

test('the managed influxd keeps its port across hub restarts, so Grafana and other tools keep working', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hub-managed-port-'));
  const config = parseConfig({
    mqtt: { port: 0 },
    http: { port: 0 },
    influx: { managed: { dataDir: join(dataDir, 'influxdb') } },
    dataDir,
  });
  const logger = pino({ level: process.env.HUB_TEST_LOG ?? 'silent' });
  try {
    const first = await startHub(config, { logger });
    const url = first.influxUrl;
    await first.stop();
    expect(readFileSync(join(dataDir, 'influxdb', 'influxd.port'), 'utf8').trim()).toBe(new URL(url).port);
    const second = await startHub(config, { logger });
    try {
      expect(second.influxUrl).toBe(url);
      expect((await fetch(`${url}/ping`)).status).toBe(204);
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);

test('when another process holds the remembered port, influxd moves to a free one, says so, and remembers it', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hub-managed-taken-'));
  const warnings: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'warn' }, { write: (l: string) => warnings.push(JSON.parse(l)) });
  const blocker = createServer();
  try {
    const a = await startManagedInfluxd({ binary: 'influxd', dataDir, port: 0, log });
    const was = Number(new URL(a.url).port);
    await a.stop();
    await new Promise<void>((r) => blocker.listen(was, '127.0.0.1', r));
    const b = await startManagedInfluxd({ binary: 'influxd', dataDir, port: 0, log });
    const now = Number(new URL(b.url).port);
    await b.stop();
    expect(now).not.toBe(was);
    expect(warnings).toEqual([expect.objectContaining({ was, now })]);
    expect(readFileSync(join(dataDir, 'influxd.port'), 'utf8').trim()).toBe(String(now));
  } finally {
    blocker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 60_000);
