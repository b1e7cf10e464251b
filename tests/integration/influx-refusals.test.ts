import { pino } from 'pino';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { eventually, mqttMessage, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

let influx: TestInfluxd;
const admin = async (q: string, auth = true) => {
  const u = new URL('/query', influx.url);
  u.searchParams.set('q', q);
  if (auth) {
    u.searchParams.set('u', 'root');
    u.searchParams.set('p', 'root-pass');
  }
  return (await fetch(u, { method: 'POST' })).status;
};

beforeAll(async () => {
  influx = await startTestInfluxd(0, { authEnabled: true });
  // The first user of an auth-enabled influxd may be created without credentials.
  expect(await admin(`CREATE USER "root" WITH PASSWORD 'root-pass' WITH ALL PRIVILEGES`, false)).toBe(200);
  influx.auth = { username: 'root', password: 'root-pass' };
});
afterAll(async () => {
  await influx?.stop();
});

test('InfluxDB refuses the credentials (401): readings stay in the spool, none quarantined; once the user exists every reading lands', async () => {
  const logged: Array<{ module?: string; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => logged.push(JSON.parse(l)) });
  // The database exists; the hub's user does not, yet.
  const database = `auth_${process.pid}`;
  expect(await admin(`CREATE DATABASE "${database}"`)).toBe(200);
  const hub = await startTestHub(
    influx.url,
    { influx: { database, username: 'hub', password: 'right-one', maxRetryDelay: 300 } },
    { logger },
  );
  try {
    const t0 = Date.now() - 10_000;
    for (let i = 0; i < 500; i++)
      hub.ingest(mqttMessage(`sensors/auth${i % 5}/t`, JSON.stringify({ value: i, ts: t0 + i })));
    const refused = await eventually(async () => {
      const res = await fetch(`${hub.httpUrl}/healthz`);
      const body = (await res.json()) as { influx: { writer: string; lastError: string; queued: number } };
      return body.influx.writer === 'refused' ? { status: res.status, body } : undefined;
    });
    expect(refused.status).toBe(503);
    expect(refused.body.influx.lastError).toMatch(/^401 /);
    expect(refused.body.influx.queued).toBe(500);
    // Retried a few times (backoff up to 300 ms), still in the spool, nothing split off.
    await new Promise((r) => setTimeout(r, 1500));
    const text = await hub.metrics.registry.metrics();
    expect(Number(/hub_influx_write_refusals_total\{status="401"\} (\d+)/.exec(text)?.[1])).toBeGreaterThan(
      2,
    );
    expect(text).toMatch(/hub_influx_writer_state\{state="refused"\} 1/);
    expect(hub.quarantine.total()).toBe(0);

    // Now the user exists, with the password the hub has.
    expect(await admin(`CREATE USER "hub" WITH PASSWORD 'right-one' WITH ALL PRIVILEGES`)).toBe(200);

    expect(await hub.flush(15_000)).toBe(0);
    expect(await influx.count(hub.database)).toBe(500);
    expect(hub.quarantine.total()).toBe(0);
    const health = await fetch(`${hub.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { influx: { writer: string } }).influx.writer).toBe('ok');
    // One log line per change of state, not one per retry.
    const changes = logged
      .filter((l) => /^InfluxDB (refuses|accepts|write failed)/.test(l.msg))
      .map((l) => l.msg);
    expect(changes[0]).toBe('InfluxDB refuses write requests; readings stay in the spool and are retried');
    expect(changes.at(-1)).toBe('InfluxDB accepts writes again');
    expect(changes).toHaveLength(2);
  } finally {
    await hub.stop();
  }
}, 40_000);
