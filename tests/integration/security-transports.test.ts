// Access control over every transport the hub listens on: one contract suite run over
// plain MQTT, MQTT over TLS, over WebSocket and over secure WebSocket, with the mqtt
// package and mosquitto_pub/_sub, against a real hub writing to a real influxd.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect as connectNet } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { passwd } from '../../hub/security/passwd-cli.js';
import { clientCertificate } from '../../hub/security/tls.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startBuiltHub } from '../support/hub-child.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

const run = promisify(execFile);
let influx: TestInfluxd;
let hub: HubHandle & { database: string };
let dataDir: string;
let ca: string;
const clients: MqttClient[] = [];

/** A non-loopback address of this machine, if it has one. */
const publicAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

const PASSWORDS = { admin: 'admin-secret-1', kitchen: 'kitchen-secret-1', cellar: 'cellar-secret-1' };

beforeAll(async () => {
  influx = await startTestInfluxd();
  dataDir = mkdtempSync(join(tmpdir(), 'hub-sec-'));
  const file = join(dataDir, 'passwd');
  await passwd({ file, user: 'admin', password: PASSWORDS.admin, batch: true, create: true });
  await passwd({ file, user: 'kitchen', password: PASSWORDS.kitchen, batch: true });
  await passwd({ file, user: 'cellar', password: PASSWORDS.cellar, batch: true });
  hub = await startTestHub(influx.url, {
    dataDir,
    mqtt: {
      passwordFile: file,
      acl: [
        { user: 'admin', publish: ['#'], subscribe: ['#'] },
        { user: '*', subscribe: ['hub/readings/%u/#'] },
      ],
      listeners: [
        { protocol: 'mqtt', host: '127.0.0.1', port: 0 },
        { protocol: 'mqtts', host: '127.0.0.1', port: 0 },
        { protocol: 'ws', host: '127.0.0.1', port: 0 },
        { protocol: 'wss', host: '127.0.0.1', port: 0 },
        { protocol: 'mqtts', host: '127.0.0.1', port: 0, requireClientCert: true, useCertCNAsUser: true },
        ...(publicAddress ? [{ protocol: 'mqtt' as const, host: publicAddress, port: 0 }] : []),
      ],
    },
    registry: { checkEvery: 0 },
  });
  ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await hub?.stop();
  await influx?.stop();
});

const TRANSPORTS = ['mqtt', 'mqtts', 'ws', 'wss'] as const;
type Transport = (typeof TRANSPORTS)[number];
const urlOf = (t: Transport, index = 0) => hub.mqttListeners.filter((l) => l.protocol === t)[index]!.url;

async function connect(t: Transport, opts: IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync(urlOf(t), {
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...(t === 'mqtts' || t === 'wss' ? { ca, rejectUnauthorized: true } : {}),
    ...opts,
  });
  clients.push(c);
  return c;
}

const as = (user: keyof typeof PASSWORDS, t: Transport, clientId = `${user}-${t}-${Math.random()}`) =>
  connect(t, { username: user, password: PASSWORDS[user], clientId });

/** The SUBACK codes, in order (the client library rejects on any refusal and puts them on the error). */
async function granted(c: MqttClient, filters: string[]): Promise<number[]> {
  const res = await c
    .subscribeAsync(filters)
    .catch((e: { packet?: { granted?: number[] } }) => e.packet?.granted ?? Promise.reject(e));
  return Array.isArray(res) ? res.map((g) => (typeof g === 'number' ? g : g.qos)) : [];
}

describe.each(TRANSPORTS)('over %s', (t) => {
  it('refuses a wrong password', async () => {
    const err = await connect(t, { username: 'kitchen', password: 'wrong' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/Bad username or password/i);
  });

  it("does not store device A's publishes for device B, in any format", async () => {
    const c = await as('kitchen', t);
    const victim = `cellar${t}`;
    // Each format names the device in its own place in the topic.
    const forged: Array<[string, string]> = [
      [`sensors/${victim}/temperature`, '99'],
      [`sensors/${victim}`, '{"temperature":99}'],
      [`tele/${victim}/SENSOR`, '{"AM2301":{"Temperature":99}}'],
      [`tele/${victim}/LWT`, 'Offline'],
      [`${victim}/sensor/temperature/state`, '99'],
      [`homie/${victim}/env/temperature`, '99'],
      [`zigbee2mqtt/${victim}`, '{"temperature":99}'],
      ['zigbee2mqtt/bridge/state', '{"state":"offline"}'],
      [`${victim}/status/temperature:0`, '{"id":0,"tC":99}'],
      [`homeassistant/sensor/${victim}/t/config`, '{"unit_of_measurement":"°F"}'],
    ];
    for (const [topic, payload] of forged) await c.publishAsync(topic, payload, { qos: 0 });
    // Its own device goes through; QoS 1, acknowledged after the forged ones were handled.
    await c.publishAsync(`sensors/kitchen/${t}`, '21.5', { qos: 1 });
    await eventually(() => hub.registry.get('kitchen')?.sensors[t]);
    expect(hub.registry.get(victim)).toBeUndefined();
    expect(hub.registry.list().map((d) => d.id)).not.toContain(victim);
    expect(hub.quarantine.recent(1000, victim)).toEqual([]);
    await hub.flush();
    const stored = await influx.query(hub.database, `SELECT * FROM /.*/ WHERE device = '${victim}'`);
    expect(JSON.stringify(stored)).not.toContain(victim);
  });

  it('disconnects an MQTT 3.1.1 device that publishes QoS 1 for another device; MQTT 5 gets PUBACK 0x87', async () => {
    const c3 = await as('kitchen', t);
    const gone = new Promise<void>((r) => c3.once('close', () => r()));
    c3.publish(`sensors/cellar${t}/x`, '1', { qos: 1 });
    await gone;
    const c5 = await connect(t, { username: 'kitchen', password: PASSWORDS.kitchen, protocolVersion: 5 });
    const err = await c5
      .publishAsync(`sensors/cellar${t}/x`, '1', { qos: 1 })
      .catch((e: { code?: number }) => e);
    expect((err as { code?: number }).code).toBe(0x87);
    expect(c5.connected).toBe(true);
    expect(hub.registry.get(`cellar${t}`)).toBeUndefined();
  });

  it("refuses a device user's # subscription and grants its own readings", async () => {
    const c = await as('kitchen', t);
    expect(await granted(c, ['#', 'hub/readings/kitchen/#'])).toEqual([128, 0]);
    const c5 = await connect(t, { username: 'kitchen', password: PASSWORDS.kitchen, protocolVersion: 5 });
    expect(await granted(c5, ['hub/readings/cellar/#', '#', 'hub/readings/kitchen/+'])).toEqual([
      0x87, 0x87, 0,
    ]);
  });

  it('lets an admin see everything', async () => {
    const admin = await as('admin', t);
    await admin.subscribeAsync('#');
    const seen = new Promise<string>((resolve) =>
      admin.on('message', (topic, payload) => {
        if (topic === `hub/readings/cellar/${t}-seen`) resolve(payload.toString());
      }),
    );
    const cellar = await as('cellar', t);
    await cellar.publishAsync(`sensors/cellar/${t}-seen`, '12', { qos: 1 });
    expect(JSON.parse(await seen)).toMatchObject({ device: 'cellar', sensor: `${t}-seen`, value: 12 });
  });
});

describe('anonymous access (mqtt.allowAnonymous: loopback, the default)', () => {
  it('lets an anonymous client in from loopback', async () => {
    const c = await connect('mqtt');
    expect(c.connected).toBe(true);
  });

  it.runIf(publicAddress)('refuses an anonymous client that comes from a non-loopback address', async () => {
    const url = hub.mqttListeners.find((l) => l.host === publicAddress)!.url;
    const err = await mqtt
      .connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000 })
      .catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(/Not authorized/i);
    const ok = await mqtt.connectAsync(url, {
      reconnectPeriod: 0,
      username: 'kitchen',
      password: PASSWORDS.kitchen,
    });
    clients.push(ok);
    expect(ok.connected).toBe(true);
  });
});

describe('TLS', () => {
  it('mosquitto_pub and mosquitto_sub with the generated CA, a user and a password', async () => {
    const port = String(new URL(urlOf('mqtts')).port);
    const tls = ['-h', 'localhost', '-p', port, '--cafile', join(dataDir, 'tls', 'ca.crt')];
    const sub = run('mosquitto_sub', [
      ...tls,
      '-u',
      'admin',
      '-P',
      PASSWORDS.admin,
      '-t',
      'hub/readings/kitchen/mosq',
      '-C',
      '1',
      '-W',
      '20',
    ]);
    await eventually(async () => {
      await run('mosquitto_pub', [
        ...tls,
        '-u',
        'kitchen',
        '-P',
        PASSWORDS.kitchen,
        '-t',
        'sensors/kitchen/mosq',
        '-m',
        '7',
        '-q',
        '1',
      ]);
      return hub.registry.get('kitchen')?.sensors.mosq;
    });
    // The subscription may have come after the first publish: publish until it has one.
    const pump = setInterval(() => {
      void run('mosquitto_pub', [
        ...tls,
        '-u',
        'kitchen',
        '-P',
        PASSWORDS.kitchen,
        '-t',
        'sensors/kitchen/mosq',
        '-m',
        '7',
      ]).catch(() => undefined);
    }, 300);
    try {
      const { stdout } = await sub;
      expect(JSON.parse(stdout)).toMatchObject({ device: 'kitchen', sensor: 'mosq', value: 7 });
    } finally {
      clearInterval(pump);
    }
    const wrong = await run('mosquitto_pub', [
      ...tls,
      '-u',
      'kitchen',
      '-P',
      'nope',
      '-t',
      'sensors/kitchen/mosq',
      '-m',
      '1',
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((wrong as { code: number }).code).not.toBe(0);
  });

  it('refuses a client that does not trust the hub CA', async () => {
    const err = await mqtt
      .connectAsync(urlOf('mqtts'), {
        reconnectPeriod: 0,
        rejectUnauthorized: true,
        username: 'kitchen',
        password: PASSWORDS.kitchen,
      })
      .catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(/self[- ]signed|unable to verify|certificate/i);
  });

  it('takes the user from a client certificate signed by the hub CA (useCertCNAsUser)', async () => {
    const url = urlOf('mqtts', 1);
    const { cert, key } = await clientCertificate(dataDir, 'kitchen');
    const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, ca, cert, key, rejectUnauthorized: true });
    clients.push(c);
    await c.publishAsync('sensors/kitchen/by-cert', '3', { qos: 1 });
    await eventually(() => hub.registry.get('kitchen')?.sensors['by-cert']);
    // The CN is the user: the device rule applies to it.
    const gone = new Promise<void>((r) => c.once('close', () => r()));
    c.publish('sensors/cellar/by-cert', '3', { qos: 1 });
    await gone;
    expect(hub.registry.get('cellar')?.sensors['by-cert']).toBeUndefined();
    const without = await mqtt
      .connectAsync(url, {
        reconnectPeriod: 0,
        ca,
        connectTimeout: 5000,
        username: 'kitchen',
        password: PASSWORDS.kitchen,
      })
      .catch((e: Error) => e);
    expect(without).toBeInstanceOf(Error);
  });
});

describe('/metrics', () => {
  it('counts the refusals by reason', async () => {
    const text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
    for (const reason of ['bad_credentials', 'not_own_device', 'subscribe_not_allowed'])
      expect(text).toMatch(new RegExp(`hub_mqtt_denied_total\\{reason="${reason}"\\} [1-9]`));
  });
});

describe('the password file reloaded on SIGHUP (the built hub as a child process)', () => {
  it('takes a new user and a changed password without dropping connected clients', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-hup-'));
    const file = join(dir, 'passwd');
    await passwd({ file, user: 'old', password: 'old-pass-1', batch: true, create: true });
    const child = await startBuiltHub({
      dataDir: dir,
      mqtt: { port: 0, passwordFile: file, allowAnonymous: false },
      http: { port: 0 },
      influx: { url: influx.url, database: 'hup' },
    });
    try {
      const url = child.mqttUrl;
      const connected = await mqtt.connectAsync(url, {
        reconnectPeriod: 0,
        username: 'old',
        password: 'old-pass-1',
      });
      clients.push(connected);
      const refused = await mqtt
        .connectAsync(url, { reconnectPeriod: 0, username: 'new', password: 'new-pass-1' })
        .catch((e: Error) => e);
      expect(refused).toBeInstanceOf(Error);
      await passwd({ file, user: 'new', password: 'new-pass-1', batch: true });
      await passwd({ file, user: 'old', password: 'old-pass-2', batch: true });
      child.proc.kill('SIGHUP');
      const fresh = await eventually(() =>
        mqtt.connectAsync(url, { reconnectPeriod: 0, username: 'new', password: 'new-pass-1' }),
      );
      clients.push(fresh);
      const stale = await mqtt
        .connectAsync(url, { reconnectPeriod: 0, username: 'old', password: 'old-pass-1' })
        .catch((e: Error) => e);
      expect(stale).toBeInstanceOf(Error);
      // The client connected before the reload is still there and still publishes.
      expect(connected.connected).toBe(true);
      await connected.publishAsync('sensors/old/t', '1', { qos: 1 });
    } finally {
      await child.kill();
    }
  });
});

describe('flood protection (mqtt.limits)', () => {
  it("slows a flooding client while other devices' readings keep flowing, and loses none of the flood", async () => {
    const limited = await startTestHub(influx.url, {
      mqtt: { limits: { bytesPerSecond: 64 * 1024 } },
      registry: { checkEvery: 0 },
    });
    try {
      const counts = new Map<string, number>();
      limited.bus.on({}, 'readings', (rs) => {
        for (const r of rs) counts.set(r.device, (counts.get(r.device) ?? 0) + 1);
      });
      const flooder = await mqtt.connectAsync(limited.mqttUrl, { reconnectPeriod: 0 });
      const other = await mqtt.connectAsync(limited.mqttUrl, { reconnectPeriod: 0 });
      clients.push(flooder, other);
      const FLOOD = 400;
      const pad = 'x'.repeat(1000);
      for (let i = 0; i < FLOOD; i++)
        flooder.publish('sensors/flood', JSON.stringify({ t: i, note: pad }), { qos: 0 });
      for (let i = 0; i < 5; i++) await other.publishAsync('sensors/calm/t', String(i), { qos: 1 });
      // The calm device got through while the flood was still being read.
      expect(counts.get('calm')).toBe(5);
      expect(counts.get('flood') ?? 0).toBeLessThan(FLOOD);
      // Backpressure, not drops: every publish of the flood arrives in the end.
      await eventually(() => counts.get('flood') === FLOOD, 30_000);
      const text = await (await fetch(`${limited.httpUrl}/metrics`)).text();
      expect(text).toMatch(/hub_mqtt_denied_total\{reason="rate_limited"\} [1-9]/);
    } finally {
      await limited.stop();
    }
  }, 60_000);

  it('closes connections past mqtt.limits.maxConnections and bans a client id that reconnects too often', async () => {
    const small = await startTestHub(influx.url, {
      mqtt: { limits: { maxConnections: 2, maxReconnects: 3, banFor: '1m' } },
    });
    try {
      const a = await mqtt.connectAsync(small.mqttUrl, { reconnectPeriod: 0 });
      const b = await mqtt.connectAsync(small.mqttUrl, { reconnectPeriod: 0 });
      clients.push(a, b);
      // The third is closed before it can say anything.
      const third = connectNet(Number(new URL(small.mqttUrl).port), '127.0.0.1');
      await new Promise<void>((r) => third.once('close', () => r()));
      await Promise.all([a.endAsync(), b.endAsync()]);
      await eventually(async () => {
        const h = (await (await fetch(`${small.httpUrl}/healthz`)).json()) as { mqtt: { clients: number } };
        return h.mqtt.clients === 0;
      });
      const results: boolean[] = [];
      for (let i = 0; i < 5; i++) {
        const c = await mqtt
          .connectAsync(small.mqttUrl, { reconnectPeriod: 0, clientId: 'flapper', connectTimeout: 3000 })
          .catch(() => undefined);
        results.push(c !== undefined);
        await c?.endAsync();
      }
      expect(results).toEqual([true, true, true, false, false]);
    } finally {
      await small.stop();
    }
  });
});
