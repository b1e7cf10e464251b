import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../hub/config/load.js';
import { freePort } from '../../hub/core/net.js';
import { startHub } from '../../hub/hub.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';

let influx: TestInfluxd;
beforeAll(async () => {
  influx = await startTestInfluxd();
});
afterAll(async () => {
  await influx?.stop();
});

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('hub lifecycle', () => {
  it('loses no acknowledged reading when stopped under load', async () => {
    const hub = await startTestHub(influx.url, { influx: { flushInterval: 500, batchSize: 5000 } });
    const client = await mqtt.connectAsync(hub.mqttUrl, { reconnectPeriod: 0 });
    client.on('error', () => undefined);
    const acked: number[] = [];
    let seq = 0;
    let stopping: Promise<void> | undefined;
    // Keep 50 QoS 1 publishes in flight until the connection closes under us.
    await new Promise<void>((resolve) => {
      const pump = () => {
        if (client.disconnected || client.disconnecting || seq >= 200_000) return;
        const n = seq++;
        client.publish('sensors/load/counter', String(n), { qos: 1 }, (err) => {
          if (!err) acked.push(n);
          if (acked.length === 3000 && !stopping) stopping = hub.stop();
          pump();
        });
      };
      for (let i = 0; i < 50; i++) pump();
      client.on('close', () => resolve());
    });
    await stopping;
    client.end(true);
    expect(acked.length).toBeGreaterThanOrEqual(3000);
    const stored = await influx.query(hub.database, `SELECT value FROM counter WHERE device = 'load'`);
    const values = new Set(stored[0]!.values.map((v) => v[1] as number));
    const missing = acked.filter((n) => !values.has(n));
    expect(missing).toEqual([]);
  });

  it('starts while InfluxDB is down and writes the queued readings once it is up', async () => {
    const port = await freePort();
    // The retry ceiling only sets how soon after InfluxDB is up the backlog goes out.
    const hub = await startTestHub(`http://127.0.0.1:${port}`, { influx: { maxRetryDelay: 2000 } });
    const client = await mqtt.connectAsync(hub.mqttUrl);
    for (let i = 0; i < 20; i++)
      await client.publishAsync('sensors/early/temperature', String(i), { qos: 1 });
    await client.endAsync();
    const health = await fetch(`${hub.httpUrl}/healthz`);
    expect(health.status).toBe(503);
    const late = await startTestInfluxd(port);
    try {
      await eventually(async () => (await late.count(hub.database, 'temperature')) === 20, 30_000, 200);
    } finally {
      await hub.stop();
      await late.stop();
    }
  }, 60_000);

  it('survives an InfluxDB restart without losing readings', async () => {
    const other = await startTestInfluxd();
    const hub = await startTestHub(other.url);
    const client = await mqtt.connectAsync(hub.mqttUrl);
    try {
      for (let i = 0; i < 10; i++) await client.publishAsync('sensors/r/temperature', String(i), { qos: 1 });
      await hub.flush();
      await other.proc.stop();
      for (let i = 10; i < 30; i++) await client.publishAsync('sensors/r/temperature', String(i), { qos: 1 });
      await other.restart();
      await eventually(async () => (await other.count(hub.database, 'temperature')) === 30, 20_000, 200);
    } finally {
      await client.endAsync();
      await hub.stop();
      await other.stop();
    }
  });

  it('runs and stops its own influxd when no URL is configured', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hub-managed-'));
    const database = uniqueDb();
    const hub = await startHub(
      parseConfig({
        mqtt: { port: 0 },
        http: { port: 0 },
        influx: { database, flushInterval: 50, managed: { dataDir: join(dataDir, 'influxdb') } },
        dataDir,
      }),
      { logger: pino({ level: 'silent' }) },
    );
    const pidFile = join(dataDir, 'influxdb', 'influxd.pid');
    const { readFileSync } = await import('node:fs');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(isAlive(pid)).toBe(true);
    const client = await mqtt.connectAsync(hub.mqttUrl);
    await client.publishAsync('sensors/m/temperature', '1', { qos: 1 });
    await client.endAsync();
    const res = await eventually(async () => {
      const r = await fetch(`${hub.httpUrl}/api/readings?device=m&sensor=temperature&from=-1h`);
      const body = (await r.json()) as { points?: unknown[] };
      return body.points?.length === 1 ? body : undefined;
    });
    expect(res.points).toEqual([{ ts: expect.any(Number), value: 1 }]);
    await hub.stop();
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(pidFile)).toBe(false);
  });
});
