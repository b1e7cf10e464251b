import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_FAST_PACKET, PublishFramer } from '../../hub/mqtt/framing.js';
import type { Packet } from '../support/mqtt-packet.js';
import * as mqttPacket from '../support/mqtt-packet.js';
import { connectPacket } from '../support/mqtt-raw.js';

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

describe('PublishFramer checks', () => {
  const CONNECT = bytes(STREAM[0]!);

  /** A framer after an accepted CONNECT (unless `accepted` is false); logs what it passed and refused. */
  function framer(opts: { maxPacket?: number; accepted?: boolean; connect?: boolean } = {}) {
    const seen: string[] = [];
    const replies: string[] = [];
    const f = new PublishFramer(
      {
        fast: (topic) => {
          seen.push(`fast ${topic}`);
          return true;
        },
        slow: (b) => {
          seen.push(`slow ${b.length}`);
        },
        refuse: (reason, _detail, reply) => {
          seen.push(`refused ${reason}`);
          if (reply) replies.push(reply.toString('hex'));
        },
      },
      { maxPacket: opts.maxPacket ?? 1024 * 1024, maxPacketBeforeConnack: 1024 },
    );
    if (opts.connect !== false) {
      f.feed(CONNECT);
      if (opts.accepted !== false) f.accept();
      seen.length = 0;
    }
    return { f, seen, replies };
  }

  it('refuses a packet over the cap at its fixed header, before its body arrives', () => {
    const { f, seen } = framer({ maxPacket: 4096 });
    // PUBLISH declaring 5000 bytes: only the two-byte remaining length is fed.
    f.feed(Buffer.from([0x30, 0x86, 0x27]));
    expect(seen).toEqual(['refused packet_too_large']);
    f.feed(Buffer.alloc(5000));
    expect(seen).toHaveLength(1);
    expect(f.done).toBe(true);
  });

  it('applies the smaller cap until the CONNECT is accepted', () => {
    const big = bytes(publish('sensors/a/t', Buffer.alloc(2000, 0x31), 1));
    const before = framer({ accepted: false });
    before.f.feed(big);
    expect(before.seen).toEqual(['refused packet_too_large']);
    const after = framer();
    after.f.feed(big);
    expect(after.seen).toEqual([`slow ${big.length}`]);
  });

  it('refuses a first packet that is not CONNECT, and a second CONNECT', () => {
    const first = framer({ connect: false });
    first.f.feed(bytes(publish('sensors/a/t', '1')));
    expect(first.seen).toEqual(['refused not_connect_first']);
    const second = framer();
    second.f.feed(CONNECT);
    expect(second.seen).toEqual(['refused second_connect']);
  });

  it.each([
    ['SUBSCRIBE with flags 0', [0x80, 0x05, 0x00, 0x01, 0x00, 0x01, 0x23], 'reserved_flags'],
    ['PUBREL with flags 0', [0x60, 0x02, 0x00, 0x01], 'reserved_flags'],
    ['PUBACK with flags 2', [0x42, 0x02, 0x00, 0x01], 'reserved_flags'],
    ['PUBLISH QoS 3', [0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01], 'qos_3'],
    ['PUBLISH QoS 0 with DUP', [0x38, 0x03, 0x00, 0x01, 0x61], 'reserved_flags'],
    ['PUBLISH QoS 1 with packet id 0', [0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00], 'packet_id_0'],
    ['SUBSCRIBE with packet id 0', [0x82, 0x06, 0x00, 0x00, 0x00, 0x01, 0x23, 0x00], 'packet_id_0'],
    ['UNSUBSCRIBE with packet id 0', [0xa2, 0x05, 0x00, 0x00, 0x00, 0x01, 0x23], 'packet_id_0'],
    ['PINGREQ with a body', [0xc0, 0x01, 0x00], 'malformed_packet'],
    ['DISCONNECT with a body', [0xe0, 0x01, 0x00], 'malformed_packet'],
    ['a CONNACK from a client', [0x20, 0x02, 0x00, 0x00], 'reserved_type'],
    ['packet type 15', [0xf0, 0x00], 'reserved_type'],
    ['a fast-path topic that is not UTF-8', [0x30, 0x04, 0x00, 0x02, 0x61, 0xff], 'invalid_utf8'],
    ['a fast-path topic with U+0000', [0x30, 0x04, 0x00, 0x02, 0x61, 0x00], 'null_character'],
    ['a QoS 1 topic that is not UTF-8', [0x32, 0x06, 0x00, 0x02, 0xc0, 0xaf, 0x00, 0x01], 'invalid_utf8'],
    ['a subscription filter with U+0000', [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00], 'null_character'],
    ['SUBSCRIBE requesting QoS 3', [0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 0x23, 0x03], 'malformed_packet'],
  ])('refuses %s', (_what, packet, reason) => {
    const { f, seen } = framer();
    f.feed(Buffer.concat([Buffer.from(packet), bytes(publish('sensors/after/t', '1'))]));
    expect(seen).toEqual([`refused ${reason}`]);
  });

  it('checks a header split at any byte the same way', () => {
    const bad = Buffer.from([0x32, 0x06, 0x00, 0x02, 0xc0, 0xaf, 0x00, 0x01]);
    const good = bytes(publish('sensors/ok/t', '1'));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 10 }), (sizes) => {
        const { f, seen } = framer();
        for (const c of split(Buffer.concat([good, bad, good]), sizes)) f.feed(c);
        expect(seen).toEqual(['fast sensors/ok/t', 'refused invalid_utf8']);
      }),
      { numRuns: 100 },
    );
  });

  it('passes nothing after a DISCONNECT', () => {
    const { f, seen } = framer();
    f.feed(Buffer.concat([bytes({ cmd: 'disconnect' } as Packet), bytes(publish('sensors/late/t', '1'))]));
    f.feed(bytes(publish('sensors/later/t', '2', 1)));
    expect(seen).toEqual(['slow 2']);
  });

  it('answers CONNACK 2 to an empty client id without a clean session, CONNACK 1 to another protocol level', () => {
    const empty = framer({ connect: false });
    empty.f.feed(connectPacket({ clientId: '', flags: 0 }));
    expect(empty.seen).toEqual(['refused identifier_rejected']);
    expect(empty.replies).toEqual(['20020002']);
    const v6 = framer({ connect: false });
    const connect = Buffer.from(CONNECT);
    connect[8] = 6; // after 0x10, length, 0x00 0x04 "MQTT"
    v6.f.feed(connect);
    expect(v6.replies).toEqual(['20020001']);
  });

  it('accepts well-formed UTF-8 beyond ASCII, a literal U+FFFD included', () => {
    const { f, seen } = framer();
    f.feed(bytes(publish('sensors/ünï/t\uFFFD', '1')));
    f.feed(bytes(publish('sensors/日本/t', '1', 1)));
    expect(seen).toEqual([
      'fast sensors/ünï/t\uFFFD',
      `slow ${bytes(publish('sensors/日本/t', '1', 1)).length}`,
    ]);
  });
});
