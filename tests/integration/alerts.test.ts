import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../hub/alerts/types.js';
import type { HubConfigInput } from '../../hub/config/schema.js';
import { flap, publishValues, ramp, TestReceiver } from '../support/alerts.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

let influx: TestInfluxd;
let hub: Awaited<ReturnType<typeof startTestHub>>;
let c: MqttClient;
/** Every rule's receiver. */
const all = new TestReceiver();
/** Receives the flaky-* rules only, and is the one taken down and made to refuse. */
const flaky = new TestReceiver();

const rules = [
  {
    name: 'gh-hot',
    match: { device: 'gh-*', metric: 'temperature' },
    above: 30,
    clear: 28,
    for: '400ms',
    severity: 'critical',
  },
  { name: 'freezer-warming', match: { device: 'freezer' }, rate: { above: 2, per: '30s' } },
  { name: 'silent', match: { device: 'quiet' }, stale: true },
  { name: 'gone', match: { device: 'leaver' }, offline: true },
  { name: 'flaky-hot', match: { device: 'fl-*' }, above: 50 },
];

beforeAll(async () => {
  await all.start();
  await flaky.start();
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, {
    registry: { checkEvery: 50, staleAfter: 2 },
    devices: [{ id: 'quiet', tags: {}, expectedInterval: '150ms' }],
    alerts: {
      rules,
      notify: [{ webhook: all.url }, { webhook: flaky.url, rules: ['flaky-*'] }],
      maxRetryDelay: '400ms',
    },
  } as HubConfigInput);
  c = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'alerts-test', reconnectPeriod: 0 });
});

afterAll(async () => {
  await c?.endAsync();
  await hub?.stop();
  await influx?.stop();
  await all.stop();
  await flaky.stop();
});

const api = async () =>
  (await (await fetch(`${hub.httpUrl}/api/alerts`)).json()) as {
    alerts: Alert[];
    history: Alert[];
    silences: Array<{ id: string }>;
  };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('threshold rules on real MQTT readings', () => {
  it('a spike shorter than `for` says nothing; a ramp fires once; flapping inside the band does not resolve', async () => {
    await publishValues(c, 'gh-1', 'temperature', [25, 40, 25]);
    await sleep(1500);
    expect(all.states('gh-hot', 'gh-1')).toEqual([]);

    await publishValues(c, 'gh-1', 'temperature', ramp(25, 33, 8));
    await eventually(() => all.states('gh-hot', 'gh-1').length === 1);
    await publishValues(c, 'gh-1', 'temperature', flap(29.5, 1, 8), 20);
    await sleep(300);
    expect(all.states('gh-hot', 'gh-1')).toEqual(['firing']);

    await publishValues(c, 'gh-1', 'temperature', [27]);
    await eventually(() => all.states('gh-hot', 'gh-1').length === 2);
    const [fired, resolved] = all.received.filter((b) => b.device === 'gh-1');
    expect(fired).toMatchObject({
      rule: 'gh-hot',
      sensor: 'temperature',
      state: 'firing',
      unit: 'Cel',
      severity: 'critical',
    });
    expect(resolved).toMatchObject({ state: 'resolved', value: 27 });
    expect(fired!.id).not.toBe(resolved!.id);
    expect(typeof fired!.since).toBe('number');

    // The retained topic holds the same object as the last webhook.
    const sub = await mqtt.connectAsync(hub.mqttUrl, { reconnectPeriod: 0 });
    const got = new Promise<Record<string, unknown>>((resolve) =>
      sub.on('message', (_t, p) => resolve(JSON.parse(p.toString()) as Record<string, unknown>)),
    );
    await sub.subscribeAsync('hub/alerts/gh-hot/gh-1/temperature');
    expect(await got).toEqual(resolved);
    await sub.endAsync();

    // The change history, in InfluxDB and in the API.
    const rows = await eventually(async () => {
      const r = await influx.query(
        hub.database,
        `SELECT * FROM alerts WHERE "rule"='gh-hot' AND "device"='gh-1'`,
      );
      return r[0]?.values.length === 2 ? r[0] : undefined;
    }, 10_000);
    expect(rows.values.map((v) => v[rows.columns.indexOf('state')])).toEqual(['firing', 'resolved']);
    const body = await api();
    expect(body.alerts.filter((a) => a.device === 'gh-1')).toEqual([]);
    expect(body.history.filter((a) => a.device === 'gh-1').map((a) => a.state)).toEqual([
      'resolved',
      'firing',
    ]);
  });

  it('a rate rule fires on a fast rise, not on the slow drift before it', async () => {
    await publishValues(c, 'freezer', 'temperature', [-18, -17.8, -17.5, -17.4], 50);
    await sleep(200);
    expect(all.states('freezer-warming', 'freezer')).toEqual([]);
    await publishValues(c, 'freezer', 'temperature', [-16, -15]);
    await eventually(() => all.states('freezer-warming', 'freezer').length === 1);
    const fired = all.received.find((b) => b.rule === 'freezer-warming')!;
    expect(fired.value).toBeCloseTo(3, 5);
  });

  it('stale and offline rules follow the registry', async () => {
    await publishValues(c, 'quiet', 'temperature', [20, 20, 20], 150);
    await eventually(() => all.states('silent', 'quiet').length === 1, 5000);
    await publishValues(c, 'quiet', 'temperature', [20]);
    await eventually(() => all.states('silent', 'quiet').join() === 'firing,resolved');

    const leaver = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'leaver-client', reconnectPeriod: 0 });
    await publishValues(leaver, 'leaver', 'temperature', [20]);
    leaver.stream.destroy(); // a lost connection, not a clean DISCONNECT
    await eventually(() => all.states('gone', 'leaver').length === 1);
    expect(all.received.find((b) => b.rule === 'gone')).toMatchObject({ sensor: '_device', value: null });
  });
});

describe('operator actions over HTTP', () => {
  it('acknowledges an alert; a silence holds its notification until removed; bad input is refused', async () => {
    await publishValues(c, 'gh-2', 'temperature', [35]);
    await eventually(async () =>
      (await api()).alerts.find((a) => a.device === 'gh-2' && a.state === 'firing'),
    );
    const ack = await fetch(`${hub.httpUrl}/api/alerts/gh-hot/gh-2/temperature/ack`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ by: 'ops' }),
    });
    expect(ack.status).toBe(200);
    expect((await api()).alerts.find((a) => a.device === 'gh-2')).toMatchObject({
      acknowledged: true,
      acknowledgedBy: 'ops',
    });
    for (const path of ['gh-hot/__proto__/temperature', 'nope/gh-2/temperature', 'gh-hot/a%20b/x']) {
      const r = await fetch(`${hub.httpUrl}/api/alerts/${path}/ack`, { method: 'POST' });
      expect([400, 404]).toContain(r.status);
    }

    const bad = await fetch(`${hub.httpUrl}/api/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'gh-3', for: 'forever' }),
    });
    expect(bad.status).toBe(400);
    const created = await fetch(`${hub.httpUrl}/api/silences`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ device: 'gh-3', for: '1h', comment: 'maintenance' }),
    });
    expect(created.status).toBe(201);
    const silence = (await created.json()) as { id: string };
    await publishValues(c, 'gh-3', 'temperature', [35]);
    await eventually(async () =>
      (await api()).alerts.find((a) => a.device === 'gh-3' && a.state === 'firing'),
    );
    await sleep(300);
    expect(all.states('gh-hot', 'gh-3')).toEqual([]);
    expect((await api()).alerts.find((a) => a.device === 'gh-3')?.silenced).toBe(true);
    const del = await fetch(`${hub.httpUrl}/api/silences/${silence.id}`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    await eventually(() => all.states('gh-hot', 'gh-3').length === 1);
    expect((await fetch(`${hub.httpUrl}/api/silences/${silence.id}`, { method: 'DELETE' })).status).toBe(404);
  });
});

describe('webhook delivery', () => {
  it('a receiver down for a while gets every change once, in order, when it is back', async () => {
    await flaky.down();
    await publishValues(c, 'fl-1', 'temperature', [60, 40, 61, 41]);
    await sleep(1000);
    expect(flaky.states('flaky-hot', 'fl-1')).toEqual([]);
    await flaky.start();
    await eventually(() => flaky.states('flaky-hot', 'fl-1').length === 4, 10_000);
    await sleep(800);
    const got = flaky.received.filter((b) => b.device === 'fl-1');
    expect(got.map((b) => `${b.state} ${b.value}`)).toEqual([
      'firing 60',
      'resolved 40',
      'firing 61',
      'resolved 41',
    ]);
    expect(new Set(got.map((b) => b.id)).size).toBe(4);
    // The other receiver is not held up by this one, and gets the flaky rule too (every rule).
    expect(all.states('flaky-hot', 'fl-1')).toHaveLength(4);
    expect(flaky.received.every((b) => String(b.rule).startsWith('flaky-'))).toBe(true);
  });

  it('a receiver answering 500, then 401, is retried until it takes the change, which is never lost', async () => {
    flaky.mode = 500;
    const before = flaky.attempts;
    await publishValues(c, 'fl-2', 'temperature', [70]);
    await eventually(() => flaky.attempts >= before + 2, 5000);
    flaky.mode = 401;
    const mid = flaky.attempts;
    await eventually(() => flaky.attempts >= mid + 2, 5000);
    expect(flaky.states('flaky-hot', 'fl-2')).toEqual([]);
    flaky.mode = 'ok';
    await eventually(() => flaky.states('flaky-hot', 'fl-2').length === 1, 5000);
    await sleep(800);
    expect(flaky.states('flaky-hot', 'fl-2')).toEqual(['firing']);
  });
});

describe('a hub restart while an alert fires', () => {
  it('is still firing afterwards, not notified again, and its resolve is sent once', async () => {
    const receiver = new TestReceiver();
    await receiver.start();
    const dataDir = mkdtempSync(join(tmpdir(), 'hub-alerts-restart-'));
    const config = {
      dataDir,
      alerts: {
        rules: [{ name: 'r-hot', match: { metric: 'temperature' }, above: 30, for: '200ms' }],
        notify: [{ webhook: receiver.url }],
      },
    } as HubConfigInput;
    let h = await startTestHub(influx.url, config);
    try {
      let p = await mqtt.connectAsync(h.mqttUrl, { reconnectPeriod: 0 });
      await publishValues(p, 'boiler', 'temperature', [35]);
      await eventually(() => receiver.states('r-hot', 'boiler').length === 1);
      await p.endAsync();
      await h.stop();

      h = await startTestHub(influx.url, config);
      const body = (await (await fetch(`${h.httpUrl}/api/alerts`)).json()) as { alerts: Alert[] };
      expect(body.alerts.map((a) => `${a.rule} ${a.device} ${a.state}`)).toEqual(['r-hot boiler firing']);
      p = await mqtt.connectAsync(h.mqttUrl, { reconnectPeriod: 0 });
      // Retained again after the restart (the broker's retained store is in memory).
      const retained = new Promise<string>((resolve) => p.on('message', (_t, m) => resolve(m.toString())));
      await p.subscribeAsync('hub/alerts/#');
      expect(JSON.parse(await retained)).toMatchObject({ state: 'firing', device: 'boiler' });
      await publishValues(p, 'boiler', 'temperature', [36, 37]);
      await sleep(1200);
      expect(receiver.states('r-hot', 'boiler')).toEqual(['firing']);
      await publishValues(p, 'boiler', 'temperature', [20]);
      await eventually(() => receiver.states('r-hot', 'boiler').length === 2);
      expect(receiver.states('r-hot', 'boiler')).toEqual(['firing', 'resolved']);
      await p.endAsync();
    } finally {
      await h.stop();
      await receiver.stop();
    }
  });
});
