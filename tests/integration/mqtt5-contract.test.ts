// The hub's MQTT 5 contract, on a real socket to a real hub (real influxd), with the
// mqtt package at protocol 5, mosquitto_pub -V mqttv5 and raw bytes where no client
// library would send them. Each case names its clause of MQTT 5.0.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { Broker } from '../../hub/mqtt/broker.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';
import { connectPacket, pkt, RawDevice, remainingLength, str, u16 } from '../support/mqtt-raw.js';

const run = promisify(execFile);
const MAX_PACKET = 64 * 1024;
const RECEIVE_MAX = 5;
let influx: TestInfluxd;
let hub: HubHandle & { database: string };
let port: number;
const clients: MqttClient[] = [];

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, {
    mqtt: { maxPayloadBytes: 16 * 1024, maxPacketBytes: MAX_PACKET, receiveMaximum: RECEIVE_MAX },
    registry: { checkEvery: 0 },
  });
  port = Number(new URL(hub.mqttUrl).port);
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  await hub?.stop();
  await influx?.stop();
});

async function v5(
  clientId: string,
  opts: IClientOptions = {},
): Promise<{ c: MqttClient; connack: mqtt.IConnackPacket }> {
  const c = mqtt.connect(hub.mqttUrl, { clientId, protocolVersion: 5, reconnectPeriod: 0, ...opts });
  clients.push(c);
  const connack = await new Promise<mqtt.IConnackPacket>((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
  return { c, connack };
}

const points = (measurement: string, device: string) =>
  influx.query(hub.database, `SELECT value FROM "${measurement}" WHERE device = '${device}'`);
const values = async (measurement: string, device: string) =>
  ((await points(measurement, device))[0]?.values ?? []).map((v) => v[1]);

// Raw MQTT 5 packets (properties as bytes [MQTT-2.2.2]).
const props = (...p: Buffer[]) => {
  const body = Buffer.concat(p);
  return Buffer.concat([remainingLength(body.length), body]);
};
const alias = (n: number) => Buffer.from([0x23, n >> 8, n & 0xff]);
const formatUtf8 = Buffer.from([0x01, 0x01]);
const receiveMaximumProp = (n: number) => Buffer.from([0x21, n >> 8, n & 0xff]);
const connect5 = (clientId: string, p: Buffer = props()) =>
  pkt(0x10, str('MQTT'), Buffer.from([5, 0x02]), u16(30), p, str(clientId));
const publish5 = (
  topic: string,
  payload: string | Buffer,
  opts: { qos?: number; id?: number; p?: Buffer } = {},
) =>
  pkt(
    0x30 | ((opts.qos ?? 0) << 1),
    str(topic),
    opts.id !== undefined ? u16(opts.id) : Buffer.alloc(0),
    opts.p ?? props(),
    typeof payload === 'string' ? Buffer.from(payload) : payload,
  );

async function raw5(clientId: string): Promise<RawDevice> {
  const d = await RawDevice.open(port);
  await d.send(connect5(clientId));
  await d.receive(2);
  // CONNACK: 0x20, its length, flags, reason code 0, properties.
  await d.receive(2 + d.received[1]!);
  const connack = d.take(2 + d.received[1]!);
  if (connack[0] !== 0x20 || connack[3] !== 0) throw new Error(`no CONNACK 0: ${connack.toString('hex')}`);
  return d;
}

/** Reason code of an MQTT 5 acknowledgement (absent: 0, success) [MQTT-3.4.2.1]. */
const ackReason = (p: Buffer) => (p[1]! > 2 ? p[4]! : 0);

/** The next packet a raw device received, whole (type byte first). */
async function nextPacket(d: RawDevice): Promise<Buffer> {
  await d.receive(2);
  let len = 0;
  let mul = 1;
  let i = 1;
  for (; i < d.received.length; i++) {
    len += (d.received[i]! & 0x7f) * mul;
    mul *= 128;
    if (!(d.received[i]! & 0x80)) break;
  }
  await d.receive(i + 1 + len);
  return d.take(i + 1 + len);
}

describe('3.1 CONNECT / 3.2 CONNACK', () => {
  it('[MQTT-3.1.2-2] a protocol level 5 CONNECT is accepted beside 3.1.1 on the same listener', async () => {
    const { connack } = await v5('c5-hello');
    expect(connack.reasonCode).toBe(0);
    const old = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'c4-hello', protocolVersion: 4 });
    expect(old.connected).toBe(true);
    await old.endAsync();
  });

  it('[MQTT-3.2.2.3] CONNACK advertises the limits the hub enforces', async () => {
    const { connack } = await v5('c5-props');
    expect(connack.properties).toMatchObject({
      maximumPacketSize: MAX_PACKET,
      receiveMaximum: RECEIVE_MAX,
      topicAliasMaximum: 10,
      sharedSubscriptionAvailable: false,
    });
    // Retain, wildcard subscriptions and subscription identifiers are available: not sent [MQTT-3.2.2.3.5, .11, .12].
    expect(connack.properties?.retainAvailable).toBeUndefined();
    expect(connack.properties?.wildcardSubscriptionAvailable).toBeUndefined();
    expect(connack.properties?.subscriptionIdentifiersAvailable).toBeUndefined();
  });

  it('[MQTT-3.2.2.3.2] a Session Expiry Interval over mqtt.maxSessionExpirySeconds is granted the cap', async () => {
    const { connack } = await v5('c5-forever', {
      clean: false,
      properties: { sessionExpiryInterval: 0xffffffff },
    });
    expect(connack.properties?.sessionExpiryInterval).toBe(86_400);
  });
});

describe('3.3 PUBLISH: readings from MQTT 5 clients', () => {
  it('[MQTT-3.3.2.3] QoS 0 and 1 from the mqtt package, with and without properties, land in InfluxDB', async () => {
    const { c } = await v5('c5-sensor');
    await c.publishAsync('sensors/v5dev/temperature', '21.5', { qos: 0 });
    await c.publishAsync('sensors/v5dev/temperature', '22.5', { qos: 1 });
    await c.publishAsync('sensors/v5dev/humidity', '40', {
      qos: 1,
      properties: { userProperties: { unit: '%RH' }, contentType: 'text/plain', messageExpiryInterval: 60 },
    });
    await eventually(async () => (await values('temperature', 'v5dev')).length === 2);
    expect(await values('temperature', 'v5dev')).toEqual([21.5, 22.5]);
    expect(await eventually(() => values('humidity', 'v5dev').then((v) => v.length > 0 && v))).toEqual([40]);
  });

  it('[MQTT-3.3.2.3] mosquitto_pub -V mqttv5 readings land in InfluxDB', async () => {
    await run('mosquitto_pub', [
      '-V',
      'mqttv5',
      '-p',
      String(port),
      '-t',
      'sensors/mosq5/temperature',
      '-m',
      '19.5',
    ]);
    await run('mosquitto_pub', [
      '-V',
      'mqttv5',
      '-p',
      String(port),
      '-q',
      '1',
      '-t',
      'sensors/mosq5/temperature',
      '-m',
      '20',
      '-D',
      'publish',
      'user-property',
      'unit',
      'Cel',
    ]);
    await eventually(async () => (await values('temperature', 'mosq5')).length === 2);
    expect(await values('temperature', 'mosq5')).toEqual([19.5, 20]);
  });

  it("[MQTT-3.3.2.3.7] user properties unit, metric and ts carry a bare number's metadata (mosquitto_pub and mqtt)", async () => {
    const ts = Date.now() - 60_000;
    await run('mosquitto_pub', [
      ...['-V', 'mqttv5', '-p', String(port), '-q', '1', '-t', 'sensors/up5/probe', '-m', '70.7'],
      ...['-D', 'publish', 'user-property', 'unit', '°F'],
      ...['-D', 'publish', 'user-property', 'metric', 'temperature'],
      ...['-D', 'publish', 'user-property', 'ts', new Date(ts).toISOString()],
    ]);
    const { c } = await v5('c5-userprops');
    await c.publishAsync('sensors/up5/probe', '22', {
      qos: 1,
      properties: {
        contentType: 'text/plain',
        userProperties: { unit: 'Cel', metric: 'temperature', ts: String(ts + 1000) },
      },
    });
    const rows = await eventually(async () => {
      const r = (await points('temperature', 'up5'))[0]?.values ?? [];
      return r.length === 2 && r;
    });
    expect(rows.map((r) => [Number(r[0]), Math.round(Number(r[1]) * 10) / 10])).toEqual([
      [ts, 21.5],
      [ts + 1000, 22],
    ]);
  });

  it('[MQTT-3.3.2.3.7] hostile user properties on the wire: a repeated key with two values, __proto__, a huge value', async () => {
    await run('mosquitto_pub', [
      ...['-V', 'mqttv5', '-p', String(port), '-q', '1', '-t', 'sensors/uphostile/temperature', '-m', '20'],
      ...['-D', 'publish', 'user-property', 'unit', 'Cel', '-D', 'publish', 'user-property', 'unit', '°F'],
    ]);
    const { c } = await v5('c5-userprops-hostile');
    const proto: Record<string, string> = { ['__proto__']: 'polluted', unit: '%' };
    await c.publishAsync('sensors/uphostile/humidity', '41', {
      qos: 1,
      properties: { userProperties: proto },
    });
    await c.publishAsync('sensors/uphostile/pressure', '1000', {
      qos: 1,
      properties: { userProperties: { unit: 'h'.repeat(30_000) } },
    });
    const entries = await eventually(() => {
      const e = hub.quarantine.recent(1000, 'uphostile');
      return e.length === 2 && e.reverse();
    });
    expect(entries.map((e) => [e.topic, e.reason])).toEqual([
      ['sensors/uphostile/temperature', 'invalid_shape'],
      ['sensors/uphostile/pressure', 'invalid_shape'],
    ]);
    expect(entries[0]!.detail).toMatch(/unit is given 2 times with different values/);
    expect(entries[1]!.detail).toMatch(/30000 characters long/);
    // The __proto__ property is an ignored key: the reading is stored, nothing polluted.
    expect(await eventually(() => values('humidity', 'uphostile').then((v) => v.length > 0 && v))).toEqual([
      41,
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('[MQTT-3.3.2-12] a Topic Alias set by a publish names its topic in the next ones', async () => {
    const d = await raw5('c5-alias');
    await d.send(publish5('sensors/aliased/temperature', '10', { p: props(alias(1)) }));
    await d.send(publish5('', '11', { p: props(alias(1)) }));
    await d.send(publish5('', '12', { qos: 1, id: 9, p: props(alias(1)) }));
    const ack = await nextPacket(d);
    expect([ack[0], ack.readUInt16BE(2), ackReason(ack)]).toEqual([0x40, 9, 0]);
    await eventually(async () => (await values('temperature', 'aliased')).length === 3);
    expect(await values('temperature', 'aliased')).toEqual([10, 11, 12]);
    d.destroy();
  });

  it('[MQTT-3.3.2-9] a Topic Alias over the Topic Alias Maximum gets DISCONNECT 0x94', async () => {
    const d = await raw5('c5-alias-big');
    await d.send(publish5('sensors/aliasbig/temperature', '10', { p: props(alias(11)) }));
    const disconnect = await nextPacket(d);
    expect([disconnect[0], disconnect[2]]).toEqual([0xe0, 0x94]);
    expect(await d.closedWithin()).toBe(true);
  });

  it('[MQTT-3.3.2-4] a payload that is not UTF-8 although its Payload Format Indicator says so gets PUBACK 0x99, not stored', async () => {
    const d = await raw5('c5-pfi');
    await d.send(
      publish5('sensors/pfi/temperature', Buffer.from([0x32, 0xff]), { qos: 1, id: 3, p: props(formatUtf8) }),
    );
    const ack = await nextPacket(d);
    expect([ack[0], ack.readUInt16BE(2), ackReason(ack)]).toEqual([0x40, 3, 0x99]);
    // The connection stays: the next publish is taken.
    await d.send(publish5('sensors/pfi/temperature', '23', { qos: 1, id: 4, p: props(formatUtf8) }));
    const ok = await nextPacket(d);
    expect([ok[0], ok.readUInt16BE(2), ackReason(ok)]).toEqual([0x40, 4, 0]);
    expect(await eventually(() => values('temperature', 'pfi').then((v) => v.length > 0 && v))).toEqual([23]);
    d.destroy();
  });

  it('[MQTT-3.4.2.1] a well-formed publish the hub quarantines is acknowledged with success (0x00)', async () => {
    const { c } = await v5('c5-quarantined');
    const ack = await c.publishAsync('sensors/q5dev/temperature', 'not a number', { qos: 1 });
    expect((ack as { reasonCode?: number } | undefined)?.reasonCode ?? 0).toBe(0);
    expect(c.connected).toBe(true);
  });

  it('[MQTT-3.3.5-2] a publish to a topic reserved for the hub gets PUBACK 0x87; the connection stays', async () => {
    const { c } = await v5('c5-spoof');
    const err = await c.publishAsync('hub/status', 'offline', { qos: 1 }).then(
      () => undefined,
      (e: { code?: number }) => e,
    );
    expect(err?.code).toBe(0x87);
    expect(c.connected).toBe(true);
    await c.publishAsync('sensors/spoofer/temperature', '20', { qos: 1 });
  });

  it('[MQTT-3.3.5-2] each refused publish under hub/ is quarantined as reserved_topic and counted; QoS 0 keeps the connection', async () => {
    const metric = async (name: string) => {
      const text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
      return Number(new RegExp(`^${name}\\{reason="reserved_topic"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    };
    const before = await metric('hub_mqtt_publishes_refused_total');
    const { c } = await v5('c5-spoof-q0');
    await c.publishAsync('hub/readings/victim/temperature', '99', { qos: 0 });
    const q2 = await c.publishAsync('hub/devices/victim/availability', 'offline', { qos: 2 }).then(
      () => undefined,
      (e: { code?: number }) => e,
    );
    expect(q2?.code).toBe(0x87);
    await run('mosquitto_pub', [
      '-V',
      'mqttv5',
      '-p',
      String(port),
      '-i',
      'mosq-spoof',
      '-t',
      '$SYS/x',
      '-m',
      'y',
    ]);
    const entries = await eventually(() => {
      const e = hub.quarantine
        .recent()
        .filter(
          (x) => x.reason === 'reserved_topic' && ['c5-spoof-q0', 'mosq-spoof'].includes(x.clientId ?? ''),
        )
        .reverse();
      return e.length === 3 && e;
    });
    expect(entries.map((e) => [e.topic, e.clientId, Buffer.from(e.payload, 'base64').toString()])).toEqual([
      ['hub/readings/victim/temperature', 'c5-spoof-q0', '99'],
      ['hub/devices/victim/availability', 'c5-spoof-q0', 'offline'],
      ['$SYS/x', 'mosq-spoof', 'y'],
    ]);
    expect(await metric('hub_mqtt_publishes_refused_total')).toBe(before + 3);
    // The QoS 0 spoof neither reached subscribers nor closed the connection.
    expect(c.connected).toBe(true);
    await c.publishAsync('sensors/spoofer/temperature', '21', { qos: 1 });
  });

  it('[MQTT-3.3.5-2] a 3.1.1 publish under hub/ closes its connection and is quarantined too', async () => {
    const old = await mqtt.connectAsync(hub.mqttUrl, {
      clientId: 'c4-spoof',
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    clients.push(old);
    const closed = new Promise<void>((r) => old.once('close', () => r()));
    old.publish('hub/status', 'offline', { qos: 1 });
    await closed;
    await eventually(() =>
      hub.quarantine.recent().some((e) => e.clientId === 'c4-spoof' && e.reason === 'reserved_topic'),
    );
    const text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
    expect(text).toMatch(/hub_mqtt_connections_refused_total\{reason="reserved_topic"\} [1-9]/);
  });
});

describe('3.3.4 Receive Maximum, 3.2.2.3.6 / 3.1.2.11.4 Maximum Packet Size', () => {
  it('[MQTT-3.3.4-9] one QoS 2 publish more than the Receive Maximum gets DISCONNECT 0x93', async () => {
    const d = await raw5('c5-flood');
    // Receive Maximum publishes awaiting PUBREL: each gets its PUBREC.
    for (let id = 1; id <= RECEIVE_MAX; id++) {
      await d.send(publish5('sensors/flood5/temperature', `${id}`, { qos: 2, id }));
      const rec = await nextPacket(d);
      expect([rec[0], rec.readUInt16BE(2), ackReason(rec)]).toEqual([0x50, id, 0]);
    }
    await d.send(publish5('sensors/flood5/temperature', 'one too many', { qos: 2, id: 99 }));
    const disconnect = await nextPacket(d);
    expect([disconnect[0], disconnect[2]]).toEqual([0xe0, 0x93]);
    expect(await d.closedWithin()).toBe(true);
  });

  it('[MQTT-3.3.4-7] a publisher that waits for each PUBACK never exceeds the Receive Maximum', async () => {
    const { c } = await v5('c5-steady');
    for (let i = 0; i < RECEIVE_MAX * 4; i++)
      await c.publishAsync('sensors/steady5/temperature', `${i}`, { qos: 1 });
    expect(c.connected).toBe(true);
    await eventually(async () => (await values('temperature', 'steady5')).length === RECEIVE_MAX * 4);
  });

  it('[MQTT-3.2.2-15] a packet over mqtt.maxPacketBytes gets DISCONNECT 0x95 before its body is read', async () => {
    const d = await raw5('c5-huge');
    const topic = str('sensors/huge/temperature');
    // Only the fixed header and the topic are sent; the rest never comes.
    await d.send(Buffer.concat([Buffer.from([0x30]), remainingLength(MAX_PACKET), topic]));
    expect(await nextPacket(d)).toEqual(Buffer.from([0xe0, 0x01, 0x95]));
    expect(await d.closedWithin()).toBe(true);
  });

  it('[MQTT-3.1.2-25] a message larger than the Maximum Packet Size the client asked for is not sent to it', async () => {
    const { c } = await v5('c5-small', { properties: { maximumPacketSize: 256 } });
    await c.subscribeAsync('mps/+', { qos: 1 });
    const got: string[] = [];
    c.on('message', (t) => got.push(t));
    const { c: pub } = await v5('c5-big-pub');
    await pub.publishAsync('mps/big', 'x'.repeat(1000), { qos: 1 });
    await pub.publishAsync('mps/small', 'x', { qos: 1 });
    await eventually(() => got.includes('mps/small'));
    expect(got).toEqual(['mps/small']);
    expect(c.connected).toBe(true);
  });
});

describe('3.8 SUBSCRIBE options, 4.8.2 shared subscriptions', () => {
  it('[MQTT-3.8.3-3] No Local: a client does not get its own publishes back', async () => {
    const { c } = await v5('c5-nl');
    await c.subscribeAsync('opts/nl', { qos: 1, nl: true });
    const got: string[] = [];
    c.on('message', (_t, p) => got.push(p.toString()));
    await c.publishAsync('opts/nl', 'mine', { qos: 1 });
    const { c: other } = await v5('c5-nl-other');
    await other.publishAsync('opts/nl', 'theirs', { qos: 1 });
    await eventually(() => got.includes('theirs'));
    expect(got).toEqual(['theirs']);
  });

  it('[MQTT-3.3.1-12] Retain As Published keeps the RETAIN flag of a live message; without it, it is 0', async () => {
    const { c: rap } = await v5('c5-rap');
    const { c: plain } = await v5('c5-norap');
    await rap.subscribeAsync('opts/rap', { qos: 1, rap: true });
    await plain.subscribeAsync('opts/rap', { qos: 1 });
    const flags = (c: MqttClient) =>
      new Promise<boolean>((r) => c.once('message', (_t, _p, packet) => r(packet.retain)));
    const a = flags(rap);
    const b = flags(plain);
    const { c: pub } = await v5('c5-rap-pub');
    await pub.publishAsync('opts/rap', 'r', { qos: 1, retain: true });
    expect(await a).toBe(true);
    expect(await b).toBe(false);
    await pub.publishAsync('opts/rap', '', { qos: 1, retain: true });
  });

  it('[MQTT-3.3.1-11] Retain Handling 2 sends no retained message on subscribe; 0 does', async () => {
    const { c: pub } = await v5('c5-rh-pub');
    await pub.publishAsync('opts/rh', 'kept', { qos: 1, retain: true });
    const { c: rh2 } = await v5('c5-rh2');
    const { c: rh0 } = await v5('c5-rh0');
    const got2: string[] = [];
    rh2.on('message', (_t, p) => got2.push(p.toString()));
    const first = new Promise<string>((r) => rh0.once('message', (_t, p) => r(p.toString())));
    await rh2.subscribeAsync('opts/rh', { qos: 1, rh: 2 });
    await rh0.subscribeAsync('opts/rh', { qos: 1, rh: 0 });
    expect(await first).toBe('kept');
    expect(got2).toEqual([]);
    await pub.publishAsync('opts/rh', '', { qos: 1, retain: true });
  });

  it('[MQTT-4.8.2] a shared subscription is refused with SUBACK 0x9E', async () => {
    const { c } = await v5('c5-share');
    const suback = await c.subscribeAsync('$share/g/hub/readings/#', { qos: 0 }).then(
      () => undefined,
      (err: { packet?: { granted: number[] } }) => err.packet,
    );
    expect(suback?.granted).toEqual([0x9e]);
  });
});

describe('3.3.2.3.3 Message Expiry, 3.1.2.11.2 Session Expiry, 3.1.3.2.2 Will Delay', () => {
  it('[MQTT-3.3.2-5] an expired retained message is not delivered; a live one arrives with its remaining lifetime', async () => {
    const { c: pub } = await v5('c5-exp-pub');
    await pub.publishAsync('exp/short', 'gone', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 1 },
    });
    await pub.publishAsync('exp/long', 'here', {
      qos: 1,
      retain: true,
      properties: { messageExpiryInterval: 60 },
    });
    await new Promise((r) => setTimeout(r, 2100));
    const { c } = await v5('c5-exp-sub');
    const got: Array<[string, number | undefined]> = [];
    c.on('message', (t, _p, packet) => got.push([t, packet.properties?.messageExpiryInterval]));
    await c.subscribeAsync('exp/+', { qos: 1 });
    await eventually(() => got.length > 0);
    await c.publishAsync('exp/flush', 'x', { qos: 1 });
    expect(got.map(([t]) => t)).toEqual(['exp/long']);
    expect(got[0]![1]).toBeGreaterThan(50);
    expect(got[0]![1]).toBeLessThanOrEqual(60);
    await pub.publishAsync('exp/long', '', { qos: 1, retain: true });
  });

  it('[MQTT-3.3.2-5] a message queued for an absent session expires there; a live one is delivered on return', async () => {
    const opts = { clean: false, properties: { sessionExpiryInterval: 60 } };
    const { c } = await v5('c5-queue', opts);
    await c.subscribeAsync('queue/+', { qos: 1 });
    await c.endAsync();
    const { c: pub } = await v5('c5-queue-pub');
    await pub.publishAsync('queue/short', 'gone', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('queue/long', 'here', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await new Promise((r) => setTimeout(r, 2100));
    const got: string[] = [];
    const back = mqtt.connect(hub.mqttUrl, {
      clientId: 'c5-queue',
      protocolVersion: 5,
      reconnectPeriod: 0,
      ...opts,
    });
    clients.push(back);
    back.on('message', (t) => got.push(t));
    await eventually(() => got.length > 0);
    await back.publishAsync('queue/flush', 'x', { qos: 1 });
    await eventually(() => got.includes('queue/flush'));
    expect(got).toEqual(['queue/long', 'queue/flush']);
  });

  it('[MQTT-3.1.2-23] a session outlives its connection for its Session Expiry Interval, then ends', async () => {
    const opts = { clean: false, properties: { sessionExpiryInterval: 1 } };
    const { c } = await v5('c5-session', opts);
    await c.subscribeAsync('sess/t', { qos: 1 });
    await c.endAsync();
    const { c: back, connack } = await v5('c5-session', opts);
    expect(connack.sessionPresent).toBe(true);
    await back.endAsync();
    await new Promise((r) => setTimeout(r, 1600));
    const { connack: later } = await v5('c5-session', opts);
    expect(later.sessionPresent).toBe(false);
  });

  it('[MQTT-3.1.3-9] a will with a Will Delay Interval comes after the delay, without that property (Aedes issue 1098)', async () => {
    const { c: sub } = await v5('c5-will-sub');
    await sub.subscribeAsync('wills/c5', { qos: 1 });
    const will = new Promise<{ at: number; payload: string; props: object | undefined }>((r) =>
      sub.once('message', (_t, p, packet) =>
        r({ at: Date.now(), payload: p.toString(), props: packet.properties }),
      ),
    );
    const { c } = await v5('c5-will', {
      properties: { sessionExpiryInterval: 10 },
      will: {
        topic: 'wills/c5',
        payload: Buffer.from('gone'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 1 },
      },
    });
    const dropped = Date.now();
    c.stream.destroy();
    const got = await will;
    expect(got.payload).toBe('gone');
    expect(got.at - dropped).toBeGreaterThanOrEqual(900);
    expect(got.props ?? {}).not.toHaveProperty('willDelayInterval');
  });
});

describe('4.13 malformed MQTT 5 packets', () => {
  const cases: Array<[string, Buffer]> = [
    [
      '[MQTT-2.2.2-1] properties longer than the packet',
      publish5('sensors/m5/t', '1', { p: Buffer.from([0x40, 0x01]) }),
    ],
    [
      '[MQTT-2.2.2-2] an unknown property identifier',
      publish5('sensors/m5/t', '1', { p: props(Buffer.from([0x7f, 0])) }),
    ],
    [
      '[MQTT-1.5.4-1] a user property that is not UTF-8',
      publish5('sensors/m5/t', '1', { qos: 1, id: 1, p: props(Buffer.from([0x26, 0, 1, 0xff, 0, 1, 0x61])) }),
    ],
    [
      '[MQTT-3.8.3-5] SUBSCRIBE options with Retain Handling 3',
      pkt(0x82, u16(1), props(), str('a/b'), Buffer.from([0x30])),
    ],
  ];
  for (const [what, bytes] of cases) {
    it(`${what}: DISCONNECT 0x81/0x82, then closed; the hub serves on`, async () => {
      const d = await raw5('c5-malformed');
      await d.send(bytes);
      const disconnect = await nextPacket(d);
      expect(disconnect[0]).toBe(0xe0);
      expect([0x81, 0x82]).toContain(disconnect[2]);
      expect(await d.closedWithin()).toBe(true);
      (await raw5('c5-after-malformed')).destroy();
    });
  }

  it('[MQTT-3.1.2-22] a Receive Maximum of 0 in CONNECT is refused with CONNACK 0x82', async () => {
    const d = await RawDevice.open(port);
    await d.send(connect5('c5-rm0', props(receiveMaximumProp(0))));
    const connack = await nextPacket(d);
    expect([connack[0], connack[3]]).toEqual([0x20, 0x82]);
    expect(await d.closedWithin()).toBe(true);
  });
});

describe('3.4 PUBACK 0x97 while storage refuses', () => {
  it('[MQTT-3.4.2.1] a QoS 1 publish while the spool is full gets PUBACK 0x97 at once; 3.1.1 goes on to ingest', async () => {
    let full = true;
    const taken: string[] = [];
    const broker = new Broker({
      host: '127.0.0.1',
      port: 0,
      users: [],
      log: pino({ level: 'silent' }),
      storeFull: () => full,
      onMessage: (msg) => {
        taken.push(msg.payload.toString());
      },
    });
    await broker.start();
    try {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
        protocolVersion: 5,
        clientId: 'full5',
      });
      const err = await c.publishAsync('sensors/full/t', '1', { qos: 1 }).then(
        () => undefined,
        (e: { code?: number }) => e,
      );
      expect(err?.code).toBe(0x97);
      expect(taken).toEqual([]);
      full = false;
      await c.publishAsync('sensors/full/t', '2', { qos: 1 });
      expect(taken).toEqual(['2']);
      await c.endAsync();
      // 3.1.1 has no way to say it: its publish goes to ingest, which holds it until there is room.
      full = true;
      const old = await RawDevice.open(broker.port);
      await old.send(connectPacket({ clientId: 'full4' }));
      await old.receive(4);
      old.take(4);
      await old.send(pkt(0x32, str('sensors/full/t'), u16(1), Buffer.from('3')));
      await old.receive(4);
      expect(old.take(4)).toEqual(pkt(0x40, u16(1)));
      expect(taken).toEqual(['2', '3']);
      old.destroy();
    } finally {
      await broker.stop();
    }
  });
});
