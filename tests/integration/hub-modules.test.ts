import { connect } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubModule } from '../../hub/modules/module.js';
import { startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

let influx: TestInfluxd;
beforeAll(async () => {
  influx = await startTestInfluxd();
});
afterAll(async () => {
  await influx?.stop();
});

/** Whether something accepts TCP connections on 127.0.0.1:port. */
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

describe('startHub modules', () => {
  it('stops its modules in reverse start order, and a failing stop step skips none of the others', async () => {
    const lines: Array<{ msg: string; module?: string; step?: string }> = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const probe: HubModule = {
      name: 'probe',
      start: () => undefined,
      stop: () => {
        throw new Error('probe cannot stop');
      },
    };
    const hub = await startTestHub(influx.url, {}, { logger, modules: [probe] });
    const started = lines.filter((l) => l.msg === 'module started').map((l) => l.module);
    expect(started).toEqual([
      'quarantine',
      'storage',
      'device-admin',
      'registry',
      'ingest',
      'broker',
      'outbound',
      'alerts',
      'boards',
      'http',
      'probe',
    ]);
    const health = (await (await fetch(`${hub.httpUrl}/healthz`)).json()) as Record<string, unknown>;
    expect(Object.keys(health).sort()).toEqual([
      'alerts',
      'devices',
      'influx',
      'mqtt',
      'ok',
      'quarantined',
      'spool',
    ]);

    const mqttPort = Number(new URL(hub.mqttUrl).port);
    const httpPort = Number(new URL(hub.httpUrl).port);
    await hub.stop();
    const stopped = lines.filter((l) => l.msg === 'module stopped').map((l) => l.module);
    expect(stopped).toEqual(started.filter((m) => m !== 'probe').reverse());
    expect(lines.filter((l) => l.msg === 'stop step failed').map((l) => l.step)).toEqual(['probe']);
    expect(await listening(mqttPort)).toBe(false);
    expect(await listening(httpPort)).toBe(false);
  });
});
