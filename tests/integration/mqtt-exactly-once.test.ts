// Exactly once where MQTT promises it, and the caps that keep one client from holding
// the broker's memory: raw packets on a real socket to a real hub, readings counted in
// InfluxDB.
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Broker } from '../../hub/mqtt/broker.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';
import { connectPacket, pkt, publishPacket, RawDevice, u16 } from '../support/mqtt-raw.js';

let influx: TestInfluxd;
let hub: Awaited<ReturnType<typeof startTestHub>>;
let port: number;

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, {
    mqtt: { maxAwaitingPubrel: 10, maxRetained: 3 },
    registry: { checkEvery: 0 },
  });
  port = Number(new URL(hub.mqttUrl).port);
});
afterAll(async () => {
  await hub?.stop();
  await influx?.stop();
});

const ack = (type: number, id: number) => Buffer.concat([Buffer.from([type, 2]), u16(id)]).toString('hex');
const PUBACK = 0x40;
const PUBREC = 0x50;
const PUBCOMP = 0x70;
const pubrel = (id: number) => pkt(0x62, u16(id));

/** Every stored value of a device, oldest first. */
async function stored(device: string): Promise<number[]> {
  await hub.flush();
  const series = await influx.query(hub.database, `SELECT value FROM /.*/ WHERE device = '${device}'`);
  return series.flatMap((s) => s.values.map((v) => Number(v[1])));
}

/** Reads the next `n` bytes a device receives, as hex. */
async function next(d: RawDevice, n = 4): Promise<string> {
  await d.receive(n);
  return d.take(n).toString('hex');
}

const metric = async (re: RegExp) =>
  Number(re.exec(await (await fetch(`${hub.httpUrl}/metrics`)).text())?.[1] ?? 0);

describe('QoS 2', () => {
  it('is ingested once per packet id until its PUBREL, however often it is resent', async () => {
    const d = await RawDevice.connected(port, { clientId: 'q2-once' });
    const topic = 'sensors/q2_once/temperature';
    // The original and a DUP resend in one write, before any PUBREC, then another resend.
    await d.send(
      Buffer.concat([
        publishPacket(topic, '21.5', { qos: 2, id: 7 }),
        publishPacket(topic, '21.5', { qos: 2, id: 7, dup: true }),
      ]),
    );
    expect(await next(d)).toBe(ack(PUBREC, 7));
    expect(await next(d)).toBe(ack(PUBREC, 7));
    await d.send(publishPacket(topic, '21.5', { qos: 2, id: 7, dup: true }));
    expect(await next(d)).toBe(ack(PUBREC, 7));
    await d.send(pubrel(7));
    expect(await next(d)).toBe(ack(PUBCOMP, 7));
    // Released: the same id is a new message now.
    await d.send(publishPacket(topic, '22.5', { qos: 2, id: 7 }));
    expect(await next(d)).toBe(ack(PUBREC, 7));
    await d.send(pubrel(7));
    expect(await next(d)).toBe(ack(PUBCOMP, 7));
    d.destroy();
    expect(await stored('q2_once')).toEqual([21.5, 22.5]);
    expect(await metric(/hub_mqtt_duplicates_total\{qos="2"\} (\d+)/)).toBeGreaterThanOrEqual(2);
  });

  it('resent by a returning persistent session before its PUBREL is not ingested again', async () => {
    const topic = 'sensors/q2_session/temperature';
    const first = await RawDevice.connected(port, { clientId: 'q2-session', flags: 0x00 });
    await first.send(publishPacket(topic, '30', { qos: 2, id: 11 }));
    expect(await next(first)).toBe(ack(PUBREC, 11));
    first.destroy(); // the PUBREL never went out
    await first.closedWithin();
    const again = await RawDevice.open(port);
    await again.send(connectPacket({ clientId: 'q2-session', flags: 0x00 }));
    // CONNACK 0 (Aedes reports a session present only when it has subscriptions)
    expect(await next(again)).toMatch(/^200200|^200201/);
    await again.send(publishPacket(topic, '30', { qos: 2, id: 11, dup: true }));
    expect(await next(again)).toBe(ack(PUBREC, 11));
    await again.send(pubrel(11));
    expect(await next(again)).toBe(ack(PUBCOMP, 11));
    again.destroy();
    expect(await stored('q2_session')).toEqual([30]);
  });

  it('closes a connection past mqtt.maxAwaitingPubrel publishes awaiting PUBREL, without ingesting the one over', async () => {
    const d = await RawDevice.connected(port, { clientId: 'q2-hoard' });
    for (let id = 1; id <= 10; id++) {
      await d.send(publishPacket(`sensors/q2_hoard/s${id}`, `${id}`, { qos: 2, id }));
      expect(await next(d)).toBe(ack(PUBREC, id));
    }
    await d.send(publishPacket('sensors/q2_hoard/s11', '11', { qos: 2, id: 11 }));
    expect(await d.closedWithin()).toBe(true);
    expect(d.received.length).toBe(0);
    expect((await stored('q2_hoard')).length).toBe(10);
    expect(
      await metric(/hub_mqtt_connections_refused_total\{reason="too_many_awaiting_pubrel"\} (\d+)/),
    ).toBe(1);
  });
});

describe('QoS 1', () => {
  it('a DUP resend after a lost PUBACK is acknowledged and not stored twice; a new message with a reused id is', async () => {
    const topic = 'sensors/q1_dup/temperature';
    const d = await RawDevice.connected(port, { clientId: 'q1-dup' });
    await d.send(publishPacket(topic, '18', { qos: 1, id: 3 }));
    expect(await next(d)).toBe(ack(PUBACK, 3));
    d.destroy(); // as if that PUBACK had been lost with the connection
    const again = await RawDevice.connected(port, { clientId: 'q1-dup' });
    await again.send(publishPacket(topic, '18', { qos: 1, id: 3, dup: true }));
    expect(await next(again)).toBe(ack(PUBACK, 3));
    // The same id, DUP, another payload: the device never got its first try through.
    await again.send(publishPacket(topic, '19', { qos: 1, id: 3, dup: true }));
    expect(await next(again)).toBe(ack(PUBACK, 3));
    // The same payload and id without DUP is a new message.
    await again.send(publishPacket(topic, '19', { qos: 1, id: 3 }));
    expect(await next(again)).toBe(ack(PUBACK, 3));
    again.destroy();
    expect(await stored('q1_dup')).toEqual([18, 19, 19]);
    expect(await metric(/hub_mqtt_duplicates_total\{qos="1"\} (\d+)/)).toBe(1);
  });
});

describe('retained topics', () => {
  it('past mqtt.maxRetained, a retained publish to a new topic is ingested but not retained', async () => {
    const dev = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'retainer', reconnectPeriod: 0 });
    for (let i = 1; i <= 4; i++) {
      await dev.publishAsync(`sensors/ret_${i}/temperature`, `${20 + i}`, { qos: 1, retain: true });
    }
    // An update of a topic retained already is still retained.
    await dev.publishAsync('sensors/ret_1/temperature', '25', { qos: 1, retain: true });
    const retained = async () => {
      const sub = await mqtt.connectAsync(hub.mqttUrl, { reconnectPeriod: 0 });
      const got = new Map<string, string>();
      sub.on('message', (topic, payload, packet) => {
        if (packet.retain) got.set(topic, payload.toString());
      });
      await sub.subscribeAsync('sensors/+/temperature');
      await new Promise((r) => setTimeout(r, 300));
      await sub.endAsync();
      return got;
    };
    expect(await retained()).toEqual(
      new Map([
        ['sensors/ret_1/temperature', '25'],
        ['sensors/ret_2/temperature', '22'],
        ['sensors/ret_3/temperature', '23'],
      ]),
    );
    expect(await stored('ret_4')).toEqual([24]);
    expect(await metric(/hub_mqtt_retained_refused_total (\d+)/)).toBe(1);
    // Clearing a topic (an empty retained payload) makes room for another.
    await dev.publishAsync('sensors/ret_2/temperature', '', { qos: 1, retain: true });
    await dev.publishAsync('sensors/ret_5/temperature', '25', { qos: 1, retain: true });
    expect([...(await retained()).keys()].sort()).toEqual([
      'sensors/ret_1/temperature',
      'sensors/ret_3/temperature',
      'sensors/ret_5/temperature',
    ]);
    await dev.endAsync();
  });
});

describe('persistent sessions in the routing index', () => {
  let broker: Broker;
  let url: string;
  const ingested: string[] = [];
  beforeAll(async () => {
    broker = new Broker({
      host: '127.0.0.1',
      port: 0,
      users: [],
      log: pino({ level: 'silent' }),
      onMessage: (msg) => {
        ingested.push(msg.topic);
      },
    });
    await broker.start();
    url = `mqtt://127.0.0.1:${broker.port}`;
  });
  afterAll(() => broker?.stop());

  it('hold the filters Aedes holds for them, no catch-all, and lose them when the session ends', async () => {
    const ghost = await mqtt.connectAsync(url, { clientId: 'ghost', clean: false, reconnectPeriod: 0 });
    await ghost.endAsync();
    // A persistent session without subscriptions listens to nothing.
    expect(broker.hasListeners('hub/readings')).toBe(false);

    const watcher = await mqtt.connectAsync(url, { clientId: 'watcher', clean: false, reconnectPeriod: 0 });
    await watcher.subscribeAsync('sensors/pq/#', { qos: 1 });
    await watcher.endAsync();
    // Away, its session still receives: a device's QoS 1 publish is queued for it.
    const dev = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    await dev.publishAsync('sensors/pq/temperature', '7', { qos: 1 });
    await dev.endAsync();
    const back = await mqtt.connectAsync(url, { clientId: 'watcher', clean: false, reconnectPeriod: 0 });
    const got = await new Promise<string>((r) => back.once('message', (_t, p) => r(p.toString())));
    expect(got).toBe('7');
    expect(broker.hasListeners('sensors/pq')).toBe(true);
    expect(broker.hasListeners('hub/readings')).toBe(false);
    await back.endAsync();
    expect(broker.hasListeners('sensors/pq')).toBe(true);
    // A clean connection with that client id ends the session, and its filters with it.
    const clean = await mqtt.connectAsync(url, { clientId: 'watcher', clean: true, reconnectPeriod: 0 });
    expect(broker.hasListeners('sensors/pq')).toBe(false);
    await clean.endAsync();
    await eventually(() => ingested.includes('sensors/pq/temperature'));
  });
});
