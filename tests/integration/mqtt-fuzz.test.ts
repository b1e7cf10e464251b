// Mutated valid MQTT streams into a live hub over real sockets (fast-check): bytes
// flipped, streams cut short, stretches repeated, written in reads of any size. The hub
// must stay up with its memory bounded, and a normal client publishing meanwhile must
// get every reading stored.
import fc from 'fast-check';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';
import type { Packet } from '../support/mqtt-packet.js';
import * as mqttPacket from '../support/mqtt-packet.js';
import { RawDevice } from '../support/mqtt-raw.js';

const STREAMS = Number(process.env.FUZZ_STREAMS ?? 300);

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

const id = fc.integer({ min: 1, max: 65535 });
const topic = fc
  .tuple(
    fc.constantFrom('sensors', 'tele', 'homie', 'zigbee2mqtt', 'hub', '$SYS'),
    fc.string({ maxLength: 12 }),
  )
  .map(([a, b]) => `${a}/fz_${b}/t`);
const payload = fc.oneof(
  fc.double().map(String),
  fc.json({ maxDepth: 2 }),
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
);
const packet: fc.Arbitrary<Packet> = fc.oneof(
  fc.record({
    cmd: fc.constant('publish' as const),
    topic,
    payload,
    qos: fc.constantFrom(0, 0, 0, 1, 2) as fc.Arbitrary<0 | 1 | 2>,
    retain: fc.boolean(),
    dup: fc.constant(false),
    messageId: id,
  }),
  fc.record({
    cmd: fc.constant('subscribe' as const),
    messageId: id,
    subscriptions: fc.array(
      fc.record({
        topic: fc.constantFrom('#', 'sensors/+/t', 'hub/#', 'a/b'),
        qos: fc.constantFrom(0, 1, 2),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  }) as fc.Arbitrary<Packet>,
  fc.record({
    cmd: fc.constant('unsubscribe' as const),
    messageId: id,
    unsubscriptions: fc.constantFrom<string[]>(['#'], ['sensors/+/t', 'a/b']),
  }) as fc.Arbitrary<Packet>,
  fc.constantFrom<Packet>({ cmd: 'pingreq' }, { cmd: 'disconnect' }),
  id.map((messageId) => ({ cmd: 'pubrel', messageId }) as Packet),
  id.map((messageId) => ({ cmd: 'puback', messageId }) as Packet),
);
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }),
  fc.record({
    kind: fc.constant('length' as const),
    at: fc.nat(),
    byte: fc.constantFrom(0x7f, 0xff, 0x80, 0),
  }),
);
const stream = fc.record({
  clientId: fc.string({ minLength: 1, maxLength: 20 }),
  clean: fc.boolean(),
  packets: fc.array(packet, { maxLength: 12 }),
  mutations: fc.array(mutation, { maxLength: 4 }),
  reads: fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 6 }),
});

function bytesOf(s: typeof stream extends fc.Arbitrary<infer T> ? T : never): Buffer {
  const parts: Buffer[] = [
    mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clean: s.clean,
      clientId: s.clientId,
      keepalive: 30,
    } as Packet),
  ];
  for (const p of s.packets) {
    const q = p.cmd === 'publish' && p.qos === 0 ? { ...p, messageId: undefined } : p;
    parts.push(mqttPacket.generate(q as Packet));
  }
  let buf = Buffer.concat(parts);
  for (const m of s.mutations) {
    const at = m.at % buf.length;
    if (m.kind === 'flip') buf[at] = buf[at]! ^ m.xor;
    else if (m.kind === 'cut') buf = buf.subarray(0, at);
    else if (m.kind === 'repeat') buf = Buffer.concat([buf.subarray(0, at + m.len), buf.subarray(at)]);
    else buf[at] = m.byte;
    if (buf.length === 0) break;
  }
  return buf;
}

it(`${STREAMS} mutated packet streams: the hub stays up, its memory bounded, and a normal client's readings all arrive`, async () => {
  const normal = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'fuzz-normal', reconnectPeriod: 0 });
  const mem0 = process.memoryUsage();
  let runs = 0;
  let bytes = 0;
  let closedByHub = 0;
  let sentNormal = 0;
  await fc.assert(
    fc.asyncProperty(stream, async (s) => {
      const all = bytesOf(s);
      bytes += all.length;
      const d = await RawDevice.open(port);
      for (let i = 0, k = 0; i < all.length; k++) {
        const n = s.reads[k % s.reads.length]!;
        await d.send(all.subarray(i, i + n));
        i += n;
      }
      const early = await d.closedWithin(20);
      if (early) closedByHub++;
      d.sock.end();
      if (!(await d.closedWithin(1000))) d.destroy();
      runs++;
      if (runs % 10 === 0) {
        await normal.publishAsync('sensors/fuzz_normal/temperature', `${sentNormal}`, { qos: 1 });
        sentNormal++;
      }
    }),
    { numRuns: STREAMS, seed: 11, endOnFailure: true },
  );
  await normal.endAsync();
  const mem1 = process.memoryUsage();
  console.log(
    `fuzz: ${runs} streams, ${bytes} bytes, ${closedByHub} closed by the hub before the client ended them; ` +
      `heap +${((mem1.heapUsed - mem0.heapUsed) / 2 ** 20).toFixed(1)} MiB, rss +${((mem1.rss - mem0.rss) / 2 ** 20).toFixed(1)} MiB`,
  );
  expect(runs).toBe(STREAMS);
  // The hub shares this process: what it holds for closed connections shows here.
  expect(mem1.heapUsed - mem0.heapUsed).toBeLessThan(64 * 2 ** 20);
  expect(mem1.rss - mem0.rss).toBeLessThan(128 * 2 ** 20);
  const values = await eventually(async () => {
    await hub.flush();
    const series = await influx.query(
      hub.database,
      `SELECT value FROM temperature WHERE device = 'fuzz_normal'`,
    );
    const v = series.flatMap((x) => x.values.map((row) => Number(row[1])));
    return v.length === sentNormal ? v : undefined;
  });
  expect(values.sort((a, b) => a - b)).toEqual(Array.from({ length: sentNormal }, (_, i) => i));
  expect((await fetch(`${hub.httpUrl}/healthz`)).ok).toBe(true);
}, 60_000);
