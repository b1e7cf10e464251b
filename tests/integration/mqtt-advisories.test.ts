// The three attacks Aedes 1.2.0 fixed and 2.0.0-beta.1 (the hub's Aedes, for MQTT 5)
// does not, each reproduced against the hub's broker on a real socket with real
// clients. Each case fails without the hub's own fix (hub/mqtt/aedes-internals.ts,
// hub/mqtt/broker.ts).
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawMessage } from '../../hub/core/raw-message.js';
import { Broker } from '../../hub/mqtt/broker.js';
import { eventually } from '../support/hub.js';
import { connectPacket, pkt, publishPacket, RawDevice, str, u16 } from '../support/mqtt-raw.js';

const AWAITING_CAP = 10;
let broker: Broker;
let port: number;
const ingested: Array<{ topic: string; payload: string; clientId?: string }> = [];
const errors: unknown[] = [];
const onError = (err: unknown) => errors.push(err);

beforeAll(async () => {
  process.on('uncaughtException', onError);
  broker = new Broker({
    host: '127.0.0.1',
    port: 0,
    users: [],
    log: pino({ level: 'silent' }),
    maxAwaitingPubrel: AWAITING_CAP,
    onMessage(msg: RawMessage) {
      ingested.push({ topic: msg.topic, payload: msg.payload.toString(), clientId: msg.clientId });
    },
  });
  await broker.start();
  port = broker.port;
});
afterAll(async () => {
  await broker?.stop();
  process.off('uncaughtException', onError);
});

async function client(clientId: string, protocolVersion: 4 | 5 = 4): Promise<MqttClient> {
  const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
    clientId,
    protocolVersion,
    reconnectPeriod: 0,
    connectTimeout: 3000,
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

function nextMessage(c: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) => {
    const on = (t: string, payload: Buffer) => {
      if (t !== topic) return;
      c.off('message', on);
      resolve(payload.toString());
    };
    c.on('message', on);
  });
}

const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '__defineGetter__',
];

describe('GHSA-52qw-whmv-87c5: client ids and topic filters named like Object.prototype members', () => {
  for (const version of [4, 5] as const) {
    for (const name of PROTOTYPE_NAMES) {
      it(`MQTT ${version === 5 ? '5' : '3.1.1'}: "${name}" is an ordinary client id, topic and filter`, async () => {
        const first = await client(name, version);
        // A second connection with the same id takes the session over [MQTT-3.1.4-2].
        const closed = new Promise<void>((r) => first.once('close', () => r()));
        const second = await client(name, version);
        await closed;
        expect(second.connected).toBe(true);

        const granted = await second.subscribeAsync(name, { qos: 1 });
        expect(granted.map((g) => g.qos)).toEqual([1]);
        const got = nextMessage(second, name);
        await second.publishAsync(name, 'hello', { qos: 1 });
        expect(await got).toBe('hello');
        // Subscribing again with another QoS replaces the subscription: one copy arrives.
        await second.subscribeAsync(name, { qos: 0 });
        const copies: string[] = [];
        second.on('message', (t, p) => t === name && copies.push(p.toString()));
        await second.publishAsync(name, 'once', { qos: 1 });
        await eventually(() => copies.length > 0);
        await second.publishAsync(`${name}-flush`, 'x', { qos: 1 });
        expect(copies).toEqual(['once']);
        await second.endAsync();
        expect(errors).toEqual([]);
      });
    }
  }

  it('a SUBSCRIBE listing __proto__ beside other filters gets a code for each, and the others deliver', async () => {
    const c = await client('proto-multi', 5);
    // mqtt.js rejects when any filter is refused; the SUBACK rides on the error.
    const suback = await c.subscribeAsync(['__proto__', 'plain/+'], { qos: 1 }).then(
      () => undefined,
      (err: { packet?: { granted: number[] } }) => err.packet,
    );
    // Refused (not a crash): Aedes 2.0.0-beta.1 cannot take it beside other filters.
    expect(suback?.granted).toEqual([0x87, 1]);
    const got = nextMessage(c, 'plain/x');
    await c.publishAsync('plain/x', 'still served', { qos: 1 });
    expect(await got).toBe('still served');
    await c.endAsync();
    expect(errors).toEqual([]);
  });
});

describe('GHSA-5jvp-3p2v-5qgf: QoS 2 publishes that never get their PUBREL', () => {
  it('past mqtt.maxAwaitingPubrel the connection is closed and nothing more is taken or stored', async () => {
    const before = ingested.length;
    const d = await RawDevice.connected(port, { clientId: 'q2-flood', flags: 0x00 });
    const flood: Buffer[] = [];
    for (let id = 1; id <= AWAITING_CAP + 20; id++)
      flood.push(publishPacket('sensors/q2flood/t', `${id}`, { qos: 2, id }));
    await d.send(Buffer.concat(flood));
    expect(await d.closedWithin(3000)).toBe(true);
    const taken = ingested.slice(before).filter((m) => m.clientId === 'q2-flood');
    expect(taken.map((m) => Number(m.payload))).toEqual(
      Array.from({ length: AWAITING_CAP }, (_, i) => i + 1),
    );

    // The persistent session comes back: an id past the cap was not stored, so its
    // resend is a new message (taken), while one within the cap is a known resend.
    const again = await RawDevice.connected(port, { clientId: 'q2-flood', flags: 0x00 });
    await again.send(publishPacket('sensors/q2flood/t', '15', { qos: 2, id: 15, dup: true }));
    await again.send(publishPacket('sensors/q2flood/t', '3', { qos: 2, id: 3, dup: true }));
    await again.receive(8);
    const recs = again.take(8);
    expect([recs.subarray(0, 4), recs.subarray(4)].map((b) => b.toString('hex')).sort()).toEqual(
      [pkt(0x50, u16(3)), pkt(0x50, u16(15))].map((b) => b.toString('hex')).sort(),
    );
    const resent = ingested.slice(before).filter((m) => m.clientId === 'q2-flood');
    expect(resent.map((m) => m.payload).slice(AWAITING_CAP)).toEqual(['15']);
    again.destroy();
  });
});

describe('GHSA-p8r9-qf8w-p73r: a clean session leaves no stored QoS 2 publishes behind', () => {
  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 5 ? '5' : '3.1.1'}: a publish reusing a packet id after a clean reconnect is delivered`, async () => {
      const sub = await client(`p8r9-sub-${version}`);
      const topic = `adv/p8r9/${version}`;
      await sub.subscribeAsync(topic, { qos: 2 });
      const received: string[] = [];
      sub.on('message', (t, p) => t === topic && received.push(p.toString()));

      const connect = () =>
        version === 5
          ? pkt(0x10, str('MQTT'), Buffer.from([5, 0x02]), u16(30), Buffer.from([0]), str(`p8r9-${version}`))
          : connectPacket({ clientId: `p8r9-${version}` });
      const publish = (payload: string) =>
        version === 5
          ? pkt(0x34, str(topic), u16(7), Buffer.from([0]), Buffer.from(payload))
          : publishPacket(topic, payload, { qos: 2, id: 7 });

      // A clean session publishes QoS 2 packet id 7 and leaves without its PUBREL.
      const first = await RawDevice.open(port);
      await first.send(connect());
      await first.receive(4);
      await first.send(publish('first'));
      await eventually(() => received.includes('first'));
      first.destroy();
      await eventually(() => !broker.hasClient(`p8r9-${version}`));

      // A new clean session of the same client id: its packet id 7 is a new message.
      const second = await RawDevice.open(port);
      await second.send(connect());
      await second.receive(4);
      await second.send(publish('second'));
      await eventually(() => received.includes('second'));
      second.destroy();
      await sub.endAsync();
    });
  }
});
