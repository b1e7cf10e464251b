import fc from 'fast-check';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { MAX_FAST_PACKET, PublishFramer } from '../../hub/broker-framing.js';

const bytes = (p: Packet) => mqttPacket.generate(p);
const publish = (
  topic: string,
  payload: string | Buffer,
  qos: 0 | 1 = 0,
  retain = false,
  messageId = 7,
): Packet =>
  ({ cmd: 'publish', topic, payload, qos, retain, dup: false, ...(qos > 0 ? { messageId } : {}) }) as Packet;

/** What a client sends in one connection: the framer sees these bytes in chunks of any size. */
const STREAM: Packet[] = [
  {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: 4,
    clean: true,
    clientId: 'probe',
    keepalive: 30,
  } as Packet,
  publish('sensors/kitchen/temperature', '21.5'),
  publish('sensors/kitchen/humidity', '{"value":40}'),
  publish('sensors/kitchen/co2', '600', 1),
  publish('sensors/garage/door', '1', 0, true),
  { cmd: 'subscribe', messageId: 3, subscriptions: [{ topic: 'hub/#', qos: 0 }] } as Packet,
  publish('sensors/ünïcode/t', 'x'),
  { cmd: 'pingreq' } as Packet,
  publish('sensors/big/blob', Buffer.alloc(MAX_FAST_PACKET + 10, 0x31)),
  publish('sensors/after/big', ''),
  publish('sensors/declined/t', '5'),
  { cmd: 'disconnect' } as Packet,
];

/** Runs the stream through a framer in the given chunks; logs what each side saw, in order. */
function frame(chunks: Buffer[], decline = (topic: string) => topic.includes('declined')) {
  const seen: string[] = [];
  const parser = mqttPacket.parser();
  // The broker accepts the CONNECT (here: as soon as it is parsed); larger packets may follow.
  parser.on('packet', (p: Packet) => p.cmd === 'connect' && framer.accept());
  parser.on('packet', (p: Packet) =>
    seen.push(
      p.cmd === 'publish'
        ? `broker publish ${p.topic} q${p.qos} r${p.retain} ${p.payload.length}`
        : `broker ${p.cmd}`,
    ),
  );
  parser.on('error', (err) => seen.push(`broker error ${err.message}`));
  const framer: PublishFramer = new PublishFramer({
    fast: (topic, payload) => {
      if (decline(topic)) return false;
      seen.push(`fast ${topic} ${payload.toString()}`);
      return true;
    },
    slow: (b) => {
      parser.parse(b);
    },
    refuse: (reason) => seen.push(`refused ${reason}`),
  });
  for (const c of chunks) framer.feed(c);
  return seen;
}

const EXPECTED = [
  'broker connect',
  'fast sensors/kitchen/temperature 21.5',
  'fast sensors/kitchen/humidity {"value":40}',
  'broker publish sensors/kitchen/co2 q1 rfalse 3',
  'broker publish sensors/garage/door q0 rtrue 1',
  'broker subscribe',
  'fast sensors/ünïcode/t x',
  'broker pingreq',
  `broker publish sensors/big/blob q0 rfalse ${MAX_FAST_PACKET + 10}`,
  'fast sensors/after/big ',
  'broker publish sensors/declined/t q0 rfalse 1',
  'broker disconnect',
];

function split(all: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  for (let k = 0; i < all.length; k++) {
    const n = sizes[k % sizes.length]!;
    out.push(all.subarray(i, i + n));
    i += n;
  }
  return out;
}

describe('PublishFramer', () => {
  const all = Buffer.concat(STREAM.map(bytes));

  it('takes plain QoS 0 publishes and hands every other packet to the broker, in order, whole', () => {
    expect(frame([all])).toEqual(EXPECTED);
  });

  it('gives the same result however the bytes are split into reads', () => {
    expect(frame(split(all, [1]))).toEqual(EXPECTED);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }), (sizes) => {
        expect(frame(split(all, sizes))).toEqual(EXPECTED);
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a malformed length and passes nothing that follows', () => {
    const bad = Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const seen = frame([
      bytes(STREAM[0]!),
      bytes(publish('sensors/a/t', '1')),
      bad,
      bytes(publish('sensors/b/t', '2')),
    ]);
    expect(seen).toEqual(['broker connect', 'fast sensors/a/t 1', 'refused malformed_length']);
  });

  it('handles a read that arrives while a packet is being handled after the current one', () => {
    const seen: string[] = [];
    const second = bytes(publish('sensors/second/t', '2'));
    let framer: PublishFramer;
    const parser = mqttPacket.parser();
    parser.on('packet', (p: Packet) => {
      seen.push(`broker ${p.cmd}`);
      // The broker's parser may read the socket again from inside a packet's handling.
      framer.feed(second);
    });
    framer = new PublishFramer({
      fast: (topic) => {
        seen.push(`fast ${topic}`);
        return true;
      },
      slow: (b) => {
        parser.parse(b);
      },
      refuse: (reason) => seen.push(`refused ${reason}`),
    });
    framer.feed(bytes(STREAM[0]!));
    seen.length = 0;
    framer.feed(Buffer.concat([bytes({ cmd: 'pingreq' } as Packet), bytes(publish('sensors/first/t', '1'))]));
    expect(seen).toEqual(['broker pingreq', 'fast sensors/first/t', 'fast sensors/second/t']);
  });
});
