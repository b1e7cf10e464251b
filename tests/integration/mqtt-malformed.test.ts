// What MQTT 3.1.1 forbids, sent as raw bytes over a real socket to a real hub: each case
// names its clause and what the hub must do (section 4.8: close the connection, unless
// the clause asks for an answer). After each, the hub still serves a new connection;
// at the end a normal client still gets its readings stored, and nothing any of these
// connections sent was stored.
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';
import {
  CONNACK_OK,
  connectPacket,
  PINGREQ,
  PINGRESP,
  pkt,
  publishPacket,
  RawDevice,
  remainingLength,
  str,
  u16,
} from '../support/mqtt-raw.js';

let influx: TestInfluxd;
let hub: Awaited<ReturnType<typeof startTestHub>>;
let port: number;

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, { registry: { checkEvery: 0 } });
  port = Number(new URL(hub.mqttUrl).port);
});
afterAll(async () => {
  await hub?.stop();
  await influx?.stop();
});

/** What the hub must do: close (sending nothing), or answer these bytes (then close, or stay open). */
type Expect = 'close' | { answer: Buffer; afterwards: 'close' | 'open' };

interface Case {
  clause: string;
  what: string;
  /** Whether a valid CONNECT (and its CONNACK) comes first. */
  connected: boolean;
  /** Written one after another (a split packet is several writes). */
  writes: Buffer[];
  expect: Expect;
}

const bad = Buffer.from([0x73, 0xff, 0x2f, 0x74]); // "s\xff/t": 0xff never occurs in UTF-8
const nul = Buffer.from('sensors/mal\u0000x/t');
const surrogate = Buffer.from([0x73, 0x2f, 0xed, 0xa0, 0x80]); // U+D800 encoded
const overlong = Buffer.from([0x73, 0xc0, 0xaf, 0x74]); // "/" as two bytes
const t = (n: number) => `sensors/mal_${n}/temperature`;
const sub = (id: number, ...filters: Buffer[]) => pkt(0x82, u16(id), ...filters);
const filter = (f: string | Buffer, qos = 0) => Buffer.concat([str(f), Buffer.from([qos])]);

const before = (what: string, clause: string, writes: Buffer[], expect: Expect = 'close'): Case => ({
  clause,
  what,
  connected: false,
  writes,
  expect,
});
const after = (what: string, clause: string, writes: Buffer[], expect: Expect = 'close'): Case => ({
  clause,
  what,
  connected: true,
  writes,
  expect,
});

const bigPublishHeader = (total: number) => {
  // A QoS 0 PUBLISH whose declared size is `total`: only its fixed header and topic are sent.
  const topic = str(t(90));
  const len = total - 1 - remainingLength(total).length;
  return Buffer.concat([Buffer.from([0x30]), remainingLength(len), topic]);
};

const CASES: Case[] = [
  // --- before and at CONNECT ---
  before('a PUBLISH first', 'MQTT-3.1.0-1', [publishPacket(t(1), '1')]),
  before('a PINGREQ first', 'MQTT-3.1.0-1', [PINGREQ]),
  before('a SUBSCRIBE first', 'MQTT-3.1.0-1', [sub(1, filter('#'))]),
  before('a protocol name that is not MQTT', 'MQTT-3.1.2-1', [connectPacket({ name: 'MQTX' })]),
  before('an unsupported protocol level', 'MQTT-3.1.2-2', [connectPacket({ level: 6 })], {
    answer: Buffer.from([0x20, 0x02, 0x00, 0x01]),
    afterwards: 'close',
  }),
  before('CONNECT fixed-header flags not 0', 'MQTT-2.2.2-2', [connectPacket({ headerFlags: 1 })]),
  before('the reserved connect flag set', 'MQTT-3.1.2-3', [connectPacket({ flags: 0x03 })]),
  before('will retain without a will', 'MQTT-3.1.2-15', [connectPacket({ flags: 0x22 })]),
  before('will QoS 1 without a will', 'MQTT-3.1.2-13', [connectPacket({ flags: 0x0a })]),
  before('will QoS 3', 'MQTT-3.1.2-14', [
    connectPacket({ flags: 0x1e, will: { topic: 'w', payload: 'x', qos: 3 } }),
  ]),
  before('a password without a username', 'MQTT-3.1.2-22', [connectPacket({ flags: 0x42, password: 'pw' })]),
  before('a client id that is not UTF-8', 'MQTT-1.5.3-1', [connectPacket({ clientId: bad })]),
  before('a client id with U+0000', 'MQTT-1.5.3-2', [connectPacket({ clientId: Buffer.from('a\u0000b') })]),
  before('a client id with an encoded surrogate', 'MQTT-1.5.3-1', [connectPacket({ clientId: surrogate })]),
  before('a client id with an overlong encoding', 'MQTT-1.5.3-1', [connectPacket({ clientId: overlong })]),
  before('a will topic that is not UTF-8', 'MQTT-1.5.3-1', [
    connectPacket({ will: { topic: bad, payload: 'offline' } }),
  ]),
  before('a will topic with U+0000', 'MQTT-1.5.3-2', [connectPacket({ will: { topic: nul, payload: 'x' } })]),
  before('a username that is not UTF-8', 'MQTT-1.5.3-1', [connectPacket({ username: bad })]),
  before('a username with U+0000', 'MQTT-1.5.3-2', [connectPacket({ username: Buffer.from('u\u0000') })]),
  before(
    'an empty client id with CleanSession 0',
    'MQTT-3.1.3-8',
    [connectPacket({ clientId: '', flags: 0 })],
    {
      answer: Buffer.from([0x20, 0x02, 0x00, 0x02]),
      afterwards: 'close',
    },
  ),
  before('a client id longer than the packet', 'MQTT-1.5.3', [
    pkt(0x10, str('MQTT'), Buffer.from([4, 2]), u16(30), u16(200), Buffer.from('short')),
  ]),
  before('bytes after the last CONNECT field', 'MQTT-3.1.3', [
    connectPacket({ trailing: Buffer.from([1, 2]) }),
  ]),
  before('a CONNECT declaring 1 MiB (over the cap before CONNACK), body not sent', 'MQTT-2.2.3', [
    Buffer.concat([Buffer.from([0x10]), remainingLength(1024 * 1024), str('MQTT')]),
  ]),
  before('a CONNECT of 20 KiB (a password over the cap before CONNACK)', 'MQTT-2.2.3', [
    connectPacket({ username: 'u', password: Buffer.alloc(20 * 1024, 0x61) }),
  ]),
  after('a second CONNECT', 'MQTT-3.1.0-2', [connectPacket({ clientId: 'again' })]),

  // --- fixed headers ---
  after('PUBLISH with QoS 3', 'MQTT-3.3.1-4', [pkt(0x36, str(t(2)), u16(1), Buffer.from('1'))]),
  after('PUBLISH QoS 0 with DUP', 'MQTT-3.3.1-2', [publishPacket(t(3), '1', { dup: true })]),
  after('SUBSCRIBE flags 0', 'MQTT-3.8.1-1', [pkt(0x80, u16(1), filter('a/#'))]),
  after('UNSUBSCRIBE flags 0', 'MQTT-3.10.1-1', [pkt(0xa0, u16(1), str('a/#'))]),
  after('PUBREL flags 0', 'MQTT-3.6.1-1', [pkt(0x60, u16(1))]),
  after('PUBACK flags 2', 'MQTT-2.2.2-2', [pkt(0x42, u16(1))]),
  after('PINGREQ flags 1', 'MQTT-2.2.2-2', [Buffer.from([0xc1, 0x00])]),
  after('DISCONNECT flags 1', 'MQTT-2.2.2-2', [Buffer.from([0xe1, 0x00])]),
  after('reserved packet type 0', 'MQTT-2.2.1', [Buffer.from([0x00, 0x00])]),
  after('reserved packet type 15', 'MQTT-2.2.1', [Buffer.from([0xf0, 0x00])]),
  after('a CONNACK from a client', 'MQTT-2.2.1', [CONNACK_OK]),
  after('a SUBACK from a client', 'MQTT-2.2.1', [pkt(0x90, u16(1), Buffer.from([0]))]),
  after('a PINGRESP from a client', 'MQTT-2.2.1', [PINGRESP]),
  after('a remaining length of five bytes', 'MQTT-2.2.3', [
    Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
  ]),
  after('PINGREQ with a body', 'MQTT-3.12.1', [Buffer.from([0xc0, 0x01, 0x00])]),
  after('DISCONNECT with a body', 'MQTT-3.14.1', [Buffer.from([0xe0, 0x01, 0x00])]),
  after('PUBACK with a remaining length of 3', 'MQTT-3.4.1', [pkt(0x40, u16(1), Buffer.from([0]))]),
  after('a PUBLISH declaring 64 MiB (over mqtt.maxPacketBytes), body not sent', 'MQTT-2.2.3', [
    bigPublishHeader(64 * 1024 * 1024),
  ]),
  after('a PUBLISH one byte over mqtt.maxPacketBytes, body not sent', 'MQTT-2.2.3', [
    bigPublishHeader(512 * 1024 + 1),
  ]),

  // --- packet identifiers ---
  after('PUBLISH QoS 1 with packet id 0', 'MQTT-2.3.1-1', [publishPacket(t(4), '1', { qos: 1, id: 0 })]),
  after('PUBLISH QoS 2 with packet id 0', 'MQTT-2.3.1-1', [publishPacket(t(5), '1', { qos: 2, id: 0 })]),
  after('SUBSCRIBE with packet id 0', 'MQTT-2.3.1-1', [sub(0, filter('a/#'))]),
  after('UNSUBSCRIBE with packet id 0', 'MQTT-2.3.1-1', [pkt(0xa2, u16(0), str('a/#'))]),

  // --- strings ---
  after('a QoS 0 topic that is not UTF-8', 'MQTT-1.5.3-1', [publishPacket(bad, '1')]),
  after('a QoS 1 topic that is not UTF-8', 'MQTT-1.5.3-1', [publishPacket(bad, '1', { qos: 1, id: 1 })]),
  after('a QoS 0 topic with U+0000', 'MQTT-1.5.3-2', [publishPacket(nul, '1')]),
  after('a retained topic with U+0000', 'MQTT-1.5.3-2', [publishPacket(nul, '1', { retain: true })]),
  after('a topic with an encoded surrogate', 'MQTT-1.5.3-1', [publishPacket(surrogate, '1')]),
  after('a topic longer than the packet', 'MQTT-3.3.2-1', [pkt(0x30, u16(40), Buffer.from('sensors/x'))]),
  after('a subscription filter that is not UTF-8', 'MQTT-1.5.3-1', [sub(1, filter(bad))]),
  after('a subscription filter with U+0000', 'MQTT-1.5.3-2', [sub(1, filter(nul))]),
  after('an unsubscribe filter that is not UTF-8', 'MQTT-1.5.3-1', [pkt(0xa2, u16(1), str(bad))]),
  after('SUBSCRIBE without a filter', 'MQTT-3.8.3-3', [pkt(0x82, u16(1))]),
  after('SUBSCRIBE requesting QoS 3', 'MQTT-3.8.3-4', [sub(1, filter('a/#', 3))]),
  after('UNSUBSCRIBE without a filter', 'MQTT-3.10.3-2', [pkt(0xa2, u16(1))]),

  // --- after DISCONNECT, split and truncated packets, and what must be answered ---
  after('a PUBLISH after DISCONNECT in the same write is not ingested', 'MQTT-3.14.4-1', [
    Buffer.concat([
      Buffer.from([0xe0, 0x00]),
      publishPacket(t(6), '1'),
      publishPacket(t(6), '2', { qos: 1, id: 9 }),
    ]),
  ]),
  after('a truncated PUBLISH, then the client half-closes', 'MQTT-4.8', [
    publishPacket(t(7), '21.5').subarray(0, 10),
  ]),
  after(
    'a fixed header split byte by byte (PINGREQ)',
    'MQTT-3.12.4-1',
    [Buffer.from([0xc0]), Buffer.from([0x00])],
    { answer: PINGRESP, afterwards: 'open' },
  ),
  after(
    'a remaining length split across writes (QoS 1 PUBLISH of 200 bytes)',
    'MQTT-2.2.3',
    (() => {
      const p = publishPacket(t(80), Buffer.alloc(180, 0x31), { qos: 1, id: 3 });
      return [p.subarray(0, 2), p.subarray(2, 5), p.subarray(5)];
    })(),
    { answer: Buffer.from([0x40, 0x02, 0x00, 0x03]), afterwards: 'open' },
  ),
  after(
    'a topic with a literal U+FFFD is well-formed UTF-8',
    'MQTT-1.5.3',
    [publishPacket('sensors/mal_81/t\uFFFD', '1'), PINGREQ],
    { answer: PINGRESP, afterwards: 'open' },
  ),
  after(
    'a PUBLISH of 400 KiB (over maxPayloadBytes, under maxPacketBytes) is read and acknowledged',
    'MQTT-3.3.4',
    [publishPacket(t(82), Buffer.alloc(400 * 1024, 0x31), { qos: 1, id: 4 })],
    { answer: Buffer.from([0x40, 0x02, 0x00, 0x04]), afterwards: 'open' },
  ),
];

/** The hub still serves: a new connection gets CONNACK 0 and a PINGRESP. */
async function stillServes(): Promise<void> {
  const d = await RawDevice.connected(port, { clientId: 'probe' });
  await d.send(PINGREQ);
  expect((await d.receive(2)).subarray(0, 2)).toEqual(PINGRESP);
  d.destroy();
}

describe('malformed MQTT 3.1.1 on the wire', () => {
  it.each(CASES.map((c, i) => [`${c.clause}`, `${c.what}`, i] as const))(
    '[%s] %s',
    async (_clause, _what, i) => {
      const c = CASES[i]!;
      const d = c.connected
        ? await RawDevice.connected(port, { clientId: `mal-${i}` })
        : await RawDevice.open(port);
      for (const w of c.writes) {
        await d.send(w);
        if (c.writes.length > 1) await new Promise((r) => setTimeout(r, 20));
      }
      if (c.what.includes('half-closes')) d.sock.end();
      if (c.expect === 'close') {
        expect(await d.closedWithin(), 'the hub closed the connection').toBe(true);
        expect(d.received.toString('hex'), 'and sent nothing').toBe('');
      } else {
        const { answer, afterwards } = c.expect;
        expect((await d.receive(answer.length)).subarray(0, answer.length).toString('hex')).toBe(
          answer.toString('hex'),
        );
        if (afterwards === 'close') expect(await d.closedWithin()).toBe(true);
        else {
          expect(await d.closedWithin(200)).toBe(false);
          d.destroy();
        }
      }
      await stillServes();
    },
  );

  it('counts each closed connection by reason in /metrics', async () => {
    const text = await (await fetch(`${hub.httpUrl}/metrics`)).text();
    for (const reason of [
      'packet_too_large',
      'reserved_flags',
      'reserved_type',
      'qos_3',
      'packet_id_0',
      'invalid_utf8',
      'null_character',
      'not_connect_first',
      'second_connect',
      'malformed_packet',
      'malformed_length',
      'bad_protocol_name',
      'identifier_rejected',
      'unacceptable_protocol_level',
    ]) {
      expect(text).toMatch(new RegExp(`hub_mqtt_connections_refused_total\\{reason="${reason}"\\} [1-9]`));
    }
  });

  it('stored nothing those connections sent, and a normal client still gets its readings stored', async () => {
    const client = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'after-malformed', reconnectPeriod: 0 });
    await client.publishAsync('sensors/after_malformed/temperature', '21.5', { qos: 1 });
    await client.publishAsync('sensors/after_malformed/humidity', '40');
    await client.endAsync();
    const devices = await eventually(async () => {
      await hub.flush();
      const series = await influx.query(hub.database, 'SELECT count(value) FROM /.*/ GROUP BY device');
      const names = series.map((s) => s.tags?.device);
      return names.filter((n) => n === 'after_malformed').length === 2 ? names : undefined;
    });
    // Cases 1 to 7 and 90 sent readings the hub must not take (mal_80 to mal_82 are valid packets).
    expect(devices.filter((d) => /^mal_([0-9]|90)$/.test(String(d)))).toEqual([]);
  });
});
