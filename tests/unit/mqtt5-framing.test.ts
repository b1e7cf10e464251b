// The hub's framing of MQTT 5 packets (hub/mqtt/framing.ts, hub/mqtt/properties.ts):
// which publishes take the fast path, what reaches the broker whole, and the refusals
// with their reason codes. The byte stream is split at every offset, as TCP may.
import { describe, expect, it } from 'vitest';
import { PublishFramer } from '../../hub/mqtt/framing.js';
import { generate, type Packet, parser } from '../support/mqtt-packet.js';
import { pkt, str, u16 } from '../support/mqtt-raw.js';

const v5 = (p: Packet) => generate(p, 5);
const CONNECT5 = v5({
  cmd: 'connect',
  protocolId: 'MQTT',
  protocolVersion: 5,
  clean: false,
  clientId: 'dev',
  keepalive: 30,
  properties: { sessionExpiryInterval: 60, receiveMaximum: 10, userProperties: { fw: '1.2' } },
  will: {
    topic: 'w',
    payload: Buffer.from('gone'),
    qos: 1,
    retain: false,
    properties: { willDelayInterval: 5 },
  },
} as Packet);
const publish = (topic: string, payload: string, extra: Record<string, unknown> = {}) =>
  v5({
    cmd: 'publish',
    topic,
    payload: Buffer.from(payload),
    qos: 0,
    retain: false,
    dup: false,
    ...extra,
  } as Packet);

/** Feeds `stream` after an MQTT 5 CONNECT, split at `cut`; logs the fast path, the broker's packets and refusals. */
function run(stream: Buffer[], cut?: number) {
  const seen: string[] = [];
  const replies: string[] = [];
  const p = parser(5);
  p.on('packet', (pk: Packet) => {
    if (pk.cmd === 'connect') framer.accept();
    seen.push(pk.cmd === 'publish' ? `broker publish ${pk.topic || '(alias)'}` : `broker ${pk.cmd}`);
  });
  p.on('error', (err) => seen.push(`broker error ${err.message}`));
  const framer: PublishFramer = new PublishFramer(
    {
      fast: (topic, payload) => {
        if (topic.includes('declined')) return false;
        seen.push(`fast ${topic} ${payload.toString()}`);
        return true;
      },
      aliased: (alias, topic) => seen.push(`aliased ${alias} ${topic}`),
      slow: (b) => p.parse(Buffer.from(b)),
      refuse: (reason, _detail, reply) => {
        seen.push(`refused ${reason}`);
        if (reply) replies.push(reply.toString('hex'));
      },
    },
    { maxPacket: 4096, topicAliasMaximum: 10 },
  );
  const all = Buffer.concat([CONNECT5, ...stream]);
  if (cut === undefined) framer.feed(all);
  else {
    framer.feed(all.subarray(0, cut));
    framer.feed(all.subarray(cut));
  }
  return { seen, replies };
}

describe('MQTT 5 framing', () => {
  const STREAM = [
    publish('sensors/a/t', '1'),
    publish('sensors/b/t', '2', { properties: { topicAlias: 3 } }),
    publish('', '3', { properties: { topicAlias: 3 } }),
    publish('sensors/c/t', '4', { properties: { userProperties: { unit: 'Cel' } } }),
    publish('', '5', { properties: { topicAlias: 4 } }),
    publish('sensors/d/t', '6', {
      qos: 1,
      messageId: 2,
      properties: { topicAlias: 5, contentType: 'text/plain' },
    }),
    publish('', '7', { properties: { topicAlias: 5 } }),
    publish('sensors/declined/t', '8'),
    v5({ cmd: 'puback', messageId: 9, reasonCode: 0x10, properties: { reasonString: 'ok' } } as Packet),
    v5({
      cmd: 'subscribe',
      messageId: 4,
      subscriptions: [{ topic: 'x/#', qos: 1, nl: true, rap: true, rh: 2 }],
    } as Packet),
    v5({ cmd: 'disconnect', reasonCode: 0x04, properties: { sessionExpiryInterval: 10 } } as Packet),
  ];
  const EXPECTED = [
    'broker connect',
    'fast sensors/a/t 1',
    'fast sensors/b/t 2',
    'aliased 3 sensors/b/t',
    'fast sensors/b/t 3',
    'broker publish sensors/c/t',
    // An alias nobody set: the broker's to refuse (DISCONNECT 0x94).
    'broker publish (alias)',
    'broker publish sensors/d/t',
    // Set by a publish the broker handled: the framer learnt it on the way.
    'fast sensors/d/t 7',
    'broker publish sensors/declined/t',
    'broker puback',
    'broker subscribe',
    'broker disconnect',
  ];

  it('takes QoS 0 publishes without properties or with only a Topic Alias; passes the rest whole', () => {
    expect(run(STREAM).seen).toEqual(EXPECTED);
  });

  it('frames the same however the bytes are split', () => {
    const total = Buffer.concat([CONNECT5, ...STREAM]).length;
    for (let cut = 1; cut < total; cut += 3) expect(run(STREAM, cut).seen).toEqual(EXPECTED);
  });

  it('refuses malformed properties with DISCONNECT 0x81, and a packet over the cap with 0x95', () => {
    const cut = pkt(0x30, str('sensors/a/t'), Buffer.from([0x05, 0x23, 0x00]));
    expect(run([cut])).toEqual({ seen: ['broker connect', 'refused malformed_packet'], replies: ['e00181'] });
    const unknown = pkt(0x30, str('sensors/a/t'), Buffer.from([0x02, 0x7f, 0x00]), Buffer.from('1'));
    expect(run([unknown]).replies).toEqual(['e00181']);
    const rh3 = pkt(0x82, u16(1), Buffer.from([0]), str('a'), Buffer.from([0x30]));
    expect(run([rh3]).replies).toEqual(['e00181']);
    const big = Buffer.concat([Buffer.from([0x30, 0x80, 0x40]), str('t')]);
    expect(run([big])).toEqual({ seen: ['broker connect', 'refused packet_too_large'], replies: ['e00195'] });
  });

  it('refuses a malformed MQTT 5 CONNECT with a CONNACK carrying the reason code', () => {
    const seen: string[] = [];
    const framer = new PublishFramer({
      fast: () => true,
      slow: () => seen.push('slow'),
      refuse: (reason, _d, reply) => seen.push(`${reason} ${reply?.toString('hex')}`),
    });
    framer.feed(pkt(0x10, str('MQTT'), Buffer.from([5, 0x02]), u16(30), Buffer.from([0x09]), str('id')));
    expect(seen).toEqual(['malformed_packet 2003008100']);
  });

  it('passes an empty client id with Clean Start 0 (MQTT 5 assigns one [MQTT-3.1.3-6]; 3.1.1 refuses it)', () => {
    const seen: string[] = [];
    const sink = {
      fast: () => true,
      slow: () => seen.push('slow'),
      refuse: (reason: string) => seen.push(reason),
    };
    new PublishFramer(sink).feed(
      pkt(0x10, str('MQTT'), Buffer.from([5, 0x00]), u16(30), Buffer.from([0]), str('')),
    );
    new PublishFramer(sink).feed(pkt(0x10, str('MQTT'), Buffer.from([4, 0x00]), u16(30), str('')));
    expect(seen).toEqual(['slow', 'identifier_rejected']);
  });
});
