import { fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { PublisherOptions } from '../support/bench-publishers.js';
import { startHubChild } from '../support/hub-child.js';
import { startTestInfluxd, type TestInfluxd, uniqueDb } from '../support/influxd.js';

let influx: TestInfluxd;
beforeAll(async () => {
  influx = await startTestInfluxd();
});
afterAll(async () => {
  await influx?.stop();
});

const metric = (text: string, name: string) =>
  Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);

// A QoS 0 burst must not keep the hub's event loop to itself. The hub answers
// HTTP and writes to InfluxDB while it is still reading the burst, instead of after it
// (else readings would wait in the spool for seconds).
test('during a QoS 0 burst the hub answers HTTP and writes to InfluxDB before the burst is read', async () => {
  const database = uniqueDb('burst');
  const hub = await startHubChild({
    mqtt: { port: 0 },
    http: { port: 0 },
    influx: { url: influx.url, database },
    dataDir: mkdtempSync(join(tmpdir(), 'hub-burst-')),
  });
  // The burst comes from another process, so this one only watches.
  const perClient = 3000;
  const opts: PublisherOptions = {
    url: hub.mqttUrl,
    clients: 40,
    messages: perClient,
    qos: 0,
    kind: 'single',
    window: perClient,
  };
  const total = opts.clients * perClient;
  const pubs = fork(
    fileURLToPath(new URL('../support/bench-publishers.ts', import.meta.url)),
    [JSON.stringify(opts)],
    {
      execArgv: ['--import', 'tsx'],
    },
  );
  try {
    await new Promise((r) => pubs.once('message', r));
    // The hub is stopped while the burst is sent: it finds all of it waiting in its sockets.
    hub.proc.kill('SIGSTOP');
    const sent = new Promise((r) => pubs.once('message', r));
    pubs.send('go');
    // Long enough to fill the sockets (what does not fit follows as the hub reads).
    await Promise.race([sent, new Promise((r) => setTimeout(r, 2000))]);
    hub.proc.kill('SIGCONT');
    // Scrapes answered while the hub had not yet read the whole burst, and what they said.
    const during: Array<{ read: number; written: number }> = [];
    for (let i = 0; i < 400; i++) {
      const text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
      const read = metric(text, 'hub_messages_total');
      if (read >= total) break;
      during.push({ read, written: metric(text, 'hub_influx_points_written_total') });
      await new Promise((r) => setTimeout(r, 20));
    }
    await sent;
    expect(during.filter((s) => s.read > 0).length).toBeGreaterThan(1);
    expect(during.some((s) => s.written > 0)).toBe(true);
    expect(await hub.flush()).toBe(0);
    expect(await influx.count(database)).toBe(total);
  } finally {
    pubs.kill();
    await hub.kill();
  }
}, 60_000);
