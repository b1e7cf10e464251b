import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startHubChild } from '../support/hub-child.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';
import { Load } from '../support/load.js';

let influx: TestInfluxd;
beforeAll(async () => {
  influx = await startTestInfluxd();
});
afterAll(async () => {
  await influx?.stop();
});

// An acknowledgement is a promise: a kill -9 of the hub loses no reading whose PUBACK a device received.
test('kill -9 of the hub under QoS 1 load: after a restart every acknowledged reading is stored, none twice', async () => {
  const database = uniqueDb();
  const config = {
    mqtt: { port: 0 },
    http: { port: 0 },
    influx: { url: influx.url, database, flushInterval: 50 },
    dataDir: mkdtempSync(join(tmpdir(), 'hub-kill-')),
  };
  // The first hub holds everything in its spool (no batch is due before the kill), so
  // what is stored afterwards can only come from the replay of the spool.
  const first = await startHubChild({
    ...config,
    influx: { ...config.influx, batchSize: 50_000, flushInterval: 60_000 },
  });
  const load = new Load({ url: first.mqttUrl, clients: 4, rate: 2000, qos: 1, sensors: 50 });
  await load.start();
  await new Promise((r) => setTimeout(r, 2000));
  await first.kill('SIGKILL');
  load.abandon();
  expect(load.ackedCount).toBeGreaterThan(1000);
  expect(await influx.count(database)).toBe(0);

  const second = await startHubChild(config);
  try {
    expect(await second.flush()).toBe(0);
    let missing = 0;
    let stored = 0;
    for (const [key, values] of load.acked) {
      const [device, sensor] = key.split('/');
      const rows = await influx.query(
        database,
        `SELECT value FROM /.*/ WHERE device='${device}' AND sensor='${sensor}'`,
      );
      const got = rows.flatMap((s) => s.values.map((v) => Number(v[1])));
      stored += got.length;
      // None twice: every stored value of a series is distinct.
      expect(new Set(got).size).toBe(got.length);
      for (const v of values) if (!got.includes(v)) missing++;
    }
    expect(missing).toBe(0);
    expect(stored).toBeGreaterThanOrEqual(load.ackedCount);
  } finally {
    await second.kill();
  }
}, 90_000);
