// The Aedes and mqtt-packet internals hub/mqtt/aedes-internals.ts relies on, checked
// against the installed versions with a real broker and a client over an in-memory
// duplex pair: when an upgrade moves or reshapes one of them, this fails, not the hub.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type Duplex, duplexPair } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Aedes,
  type Client,
  ClientReader,
  clearWillDelay,
  closeConnection,
  connectedClients,
  connectionGone,
  createAedes,
  disconnectWith,
  fitsClient,
  handleConnection,
  interceptParser,
  interceptRouting,
  isCleanSession,
  maxTopicLevels,
  numberCacheEnabled,
  onIncomingReleased,
  PROTO_FILTER_STANDIN,
  protocolLevel,
  publishAsBroker,
  publishProperties,
  refusePublish,
  registerTopicAlias,
  sentDisconnect,
  sessionFilters,
  storedIncoming,
} from '../../hub/mqtt/aedes-internals.js';
import { generate, type Packet, parser } from '../support/mqtt-packet.js';

/** The device's end of a connection: writes packets, collects what the broker sends. */
class Device {
  readonly received: Packet[] = [];
  readonly wire: Duplex;
  readonly client: Client;
  constructor(
    aedes: Aedes,
    setup?: (client: Client) => void,
    readonly version: 4 | 5 = 4,
  ) {
    const [device, broker] = duplexPair();
    this.wire = device;
    const p = parser(version);
    p.on('packet', (pkt: Packet) => this.received.push(pkt));
    device.on('data', (b: Buffer) => p.parse(b));
    this.client = handleConnection(aedes, broker);
    setup?.(this.client);
  }
  send(...packets: Packet[]): void {
    this.wire.write(Buffer.concat(packets.map((p) => generate(p, this.version))));
  }
  async connect(
    clientId: string,
    opts: { clean?: boolean; keepalive?: number; properties?: Record<string, unknown> } = {},
  ): Promise<void> {
    this.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: this.version,
      clean: opts.clean ?? true,
      clientId,
      keepalive: opts.keepalive ?? 0,
      ...(opts.properties ? { properties: opts.properties } : {}),
    } as Packet);
    await this.next('connack');
  }
  /** Waits (bounded) until `n` packets of a kind arrived. */
  async next(cmd: Packet['cmd'], n = 1, ms = 2000): Promise<Packet> {
    const until = Date.now() + ms;
    while (this.count(cmd) < n) {
      if (Date.now() > until) throw new Error(`no ${cmd} within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return this.received.filter((p) => p.cmd === cmd)[n - 1]!;
  }
  count(cmd: Packet['cmd']): number {
    return this.received.filter((p) => p.cmd === cmd).length;
  }
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
const ping = { cmd: 'pingreq' } as Packet;

let aedes: Aedes;
beforeEach(async () => {
  aedes = await createAedes({ heartbeatInterval: 60_000 });
});
afterEach(async () => {
  await new Promise<void>((r) => aedes.close(() => r()));
});

const ROOT = join(import.meta.dirname, '../..');

/** Source files under `dir`, skipping dependencies and build output. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const path = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(path));
    else if (/\.(ts|mts|js|mjs)$/.test(e.name)) out.push(path);
  }
  return out;
}

describe('the adapter', () => {
  it('is the only importer of aedes and mqtt-packet (tests build packets through tests/support)', () => {
    const importers = ['hub', 'devices', 'simulators', 'dashboards', 'scripts', 'tests']
      .flatMap((d) => sources(join(ROOT, d)))
      .filter((f) =>
        /from '(aedes|aedes-persistence|mqtt-packet)(\/[^']*)?'|import\('(aedes|aedes-persistence|mqtt-packet)/.test(
          readFileSync(f, 'utf8'),
        ),
      )
      .map((f) => relative(ROOT, f))
      .sort();
    expect(importers).toEqual(['hub/mqtt/aedes-internals.ts', 'tests/support/mqtt-packet.ts']);
  });

  it('shares its mqtt-packet with Aedes, so the number cache setting reaches Aedes', () => {
    expect(existsSync(join(ROOT, 'node_modules/mqtt-packet/package.json'))).toBe(true);
    expect(existsSync(join(ROOT, 'node_modules/aedes/node_modules/mqtt-packet'))).toBe(false);
  });
});

describe('the broker', () => {
  it('turns off mqtt-packet number cache, and has a number of topic levels', () => {
    expect(numberCacheEnabled()).toBe(false);
    expect(maxTopicLevels(aedes)).toBe(100);
  });

  it('lists connected clients by id in a record without a prototype', async () => {
    const d = new Device(aedes);
    await d.connect('dev-1');
    const clients = connectedClients(aedes);
    expect(Object.getPrototypeOf(clients)).toBe(null);
    expect(clients['dev-1']).toBe(d.client);
    expect(Object.keys(clients)).toEqual(['dev-1']);
  });
});

describe('a client', () => {
  it("passes every byte through the hook before Aedes's parser", async () => {
    const seen: number[] = [];
    let parse!: (b: Buffer) => void;
    const d = new Device(aedes, (c) => {
      parse = interceptParser(c, (buf) => {
        seen.push(buf.length);
        parse(buf);
      });
    });
    await d.connect('dev-1');
    d.send(ping);
    await d.next('pingresp');
    expect(seen.reduce((a, b) => a + b, 0)).toBeGreaterThan(2);
  });

  it('counts bytes the hook keeps from Aedes as a sign of life for the keepalive', async () => {
    let forward = true;
    let parse!: (b: Buffer) => void;
    const d = new Device(aedes, (c) => {
      parse = interceptParser(c, (buf) => {
        if (forward) parse(buf);
      });
    });
    // Aedes closes a client silent for 1.5 times its keepalive of 1 s.
    await d.connect('dev-1', { keepalive: 1 });
    forward = false;
    for (let i = 0; i < 8; i++) {
      d.send(ping);
      await tick(250);
    }
    expect(d.client.closed).toBe(false);
    expect(d.count('pingresp')).toBe(0);
  });

  it('is not read while paused, and reads on when resumed, even paused mid-read', async () => {
    let reader!: ClientReader;
    let pauseNext = false;
    let parse!: (b: Buffer) => void;
    const d = new Device(aedes, (c) => {
      reader = new ClientReader(c);
      parse = interceptParser(c, (buf) => {
        // Paused before the packets of this read are handled, as a held client is.
        if (pauseNext) reader.pause();
        pauseNext = false;
        parse(buf);
      });
    });
    await d.connect('dev-1');
    pauseNext = true;
    d.send(ping, ping);
    await d.next('pingresp', 2);
    d.send(ping);
    await tick(100);
    expect(d.count('pingresp')).toBe(2);
    expect(reader.closed).toBe(false);
    reader.resume();
    await d.next('pingresp', 3);
    d.send(ping);
    await d.next('pingresp', 4);
  });

  it('tells a clean session from a persistent one, and restores a persistent one filters', async () => {
    const clean = new Device(aedes);
    await clean.connect('clean');
    expect(isCleanSession(clean.client)).toBe(true);
    clean.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }] } as Packet);
    await clean.next('suback');
    expect(sessionFilters(clean.client)).toEqual(['a/#']);

    const first = new Device(aedes);
    await first.connect('keep', { clean: false });
    expect(isCleanSession(first.client)).toBe(false);
    first.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'b/+', qos: 1 }] } as Packet);
    await first.next('suback');
    first.send({ cmd: 'disconnect' } as Packet);
    await tick();
    let restored: string[] = [];
    aedes.once('client', (c) => {
      restored = sessionFilters(c);
    });
    const again = new Device(aedes);
    await again.connect('keep', { clean: false });
    expect(restored).toEqual(['b/+']);
  });

  it('tells a DISCONNECT from a dropped connection', async () => {
    const left: Array<[string, boolean]> = [];
    aedes.on('clientDisconnect', (c) => left.push([c.id, sentDisconnect(c)]));
    const polite = new Device(aedes);
    await polite.connect('polite');
    polite.send({ cmd: 'disconnect' } as Packet);
    const dropped = new Device(aedes);
    await dropped.connect('dropped');
    // Ends without a DISCONNECT, as a device that loses power mid-session.
    dropped.wire.end();
    await tick(100);
    expect(new Map(left)).toEqual(
      new Map([
        ['polite', true],
        ['dropped', false],
      ]),
    );
  });

  it('is closed by closeConnection, after the reply is written if there is one', async () => {
    const d = new Device(aedes);
    await d.connect('dev-1');
    const ended = new Promise<void>((r) => d.wire.once('end', () => r()));
    expect(connectionGone(d.client)).toBe(false);
    closeConnection(d.client, generate({ cmd: 'pingresp' } as Packet));
    await ended;
    expect(d.count('pingresp')).toBe(1);

    const e = new Device(aedes);
    await e.connect('dev-2');
    closeConnection(e.client);
    expect(connectionGone(e.client)).toBe(true);
  });
});

describe('routing and QoS 2', () => {
  it("routes a client's publish only when asked to, the broker's own always", async () => {
    const asked: Array<[string, boolean]> = [];
    interceptRouting(aedes, (topic, retain) => {
      asked.push([topic, retain]);
      return topic.startsWith('routed/');
    });
    const sub = new Device(aedes);
    await sub.connect('sub');
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] } as Packet);
    await sub.next('suback');
    const pub = new Device(aedes);
    await pub.connect('pub');
    const publish = (topic: string) =>
      ({ cmd: 'publish', topic, payload: Buffer.from('1'), qos: 0, retain: false, dup: false }) as Packet;
    pub.send(publish('skipped/t'), publish('routed/t'));
    await sub.next('publish');
    await new Promise<void>((r) =>
      publishAsBroker(aedes, { topic: 'hub/own', payload: Buffer.from('x'), qos: 0, retain: false }, r),
    );
    await sub.next('publish', 2);
    const topics = sub.received.filter((p) => p.cmd === 'publish').map((p) => (p as { topic: string }).topic);
    expect(topics).toEqual(['routed/t', 'hub/own']);
    expect(asked).toEqual([
      ['skipped/t', false],
      ['routed/t', false],
    ]);
  });

  it("finds a persistent session's stored QoS 2 publish until its PUBREL releases it", async () => {
    const released: Array<[string, number]> = [];
    onIncomingReleased(aedes, (c, id) => released.push([c.id, id]));
    const d = new Device(aedes);
    await d.connect('q2', { clean: false });
    const packet = {
      cmd: 'publish',
      topic: 'sensors/q2/t',
      payload: Buffer.from('1'),
      qos: 2,
      messageId: 7,
      retain: false,
      dup: false,
    } as const;
    d.send(packet as Packet);
    await d.next('pubrec');
    await expect(storedIncoming(aedes, d.client, packet)).resolves.toBeTruthy();
    await expect(storedIncoming(aedes, d.client, { ...packet, messageId: 8 })).rejects.toBeDefined();
    d.send({ cmd: 'pubrel', messageId: 7 } as Packet);
    await d.next('pubcomp');
    expect(released).toEqual([['q2', 7]]);
    await expect(storedIncoming(aedes, d.client, packet)).rejects.toBeDefined();
  });
});

describe('MQTT 5 (Aedes 2.0.0-beta.1) and the fixes of 1.2.0 it lacks', () => {
  const publish = (topic: string, extra: Record<string, unknown> = {}) =>
    ({
      cmd: 'publish',
      topic,
      payload: Buffer.from('1'),
      qos: 0,
      retain: false,
      dup: false,
      ...extra,
    }) as Packet;

  it('keys every wire-keyed store by a null-prototype record (GHSA-52qw-whmv-87c5)', async () => {
    const d = new Device(aedes, undefined, 5);
    await d.connect('proto');
    const c = d.client as unknown as Record<string, object>;
    expect(Object.getPrototypeOf(c.subscriptions!)).toBe(null);
    expect(Object.getPrototypeOf(c.duplicates!)).toBe(null);
    const b = aedes as unknown as Record<string, object>;
    expect(Object.getPrototypeOf(b.brokers!)).toBe(null);
    expect(b._takingOver).toBeInstanceOf(Set);
  });

  it('sees a SUBSCRIBE before Aedes does, to stand in for __proto__ beside other filters', async () => {
    const seen: string[][] = [];
    aedes.authorizeSubscribe = (_c, sub, done) => {
      seen.push([sub.topic]);
      done(null, sub.topic === PROTO_FILTER_STANDIN ? null : sub);
    };
    const d = new Device(aedes, undefined, 5);
    await d.connect('proto-multi');
    d.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: '__proto__', qos: 0 },
        { topic: 'a', qos: 0 },
      ],
    } as Packet);
    const suback = (await d.next('suback')) as unknown as { granted: number[] };
    expect(seen.flat().sort()).toEqual([PROTO_FILTER_STANDIN, 'a'].sort());
    expect(suback.granted).toEqual([0x87, 0]);
  });

  it("drops a session's stored QoS 2 publishes at a Clean Start (GHSA-p8r9-qf8w-p73r)", async () => {
    const first = new Device(aedes, undefined, 5);
    await first.connect('q2c', { clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(protocolLevel(first.client)).toBe(5);
    const packet = { ...publish('q2c/t'), qos: 2, messageId: 7 } as const;
    first.send(packet as Packet);
    await first.next('pubrec');
    await expect(storedIncoming(aedes, first.client, packet as never)).resolves.toBeTruthy();
    first.wire.end();
    await tick(50);
    const again = new Device(aedes, undefined, 5);
    await again.connect('q2c', { clean: true });
    await expect(storedIncoming(aedes, again.client, packet as never)).rejects.toBeDefined();
  });

  it('takes a topic alias set from outside, answers with a reason code, disconnects with one', async () => {
    const ack: number[] = [];
    aedes.authorizePublish = (client, packet, done) => {
      if (!client) return done(null);
      if (packet.topic === 'refused/t') {
        refusePublish(client, packet, 0x97, 'full');
        return done(null);
      }
      ack.push(1);
      done(null);
    };
    const sub = new Device(aedes, undefined, 5);
    await sub.connect('alias-sub');
    sub.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 'aliased/t', qos: 0 },
        { topic: 'refused/t', qos: 0 },
      ],
    } as Packet);
    await sub.next('suback');
    const d = new Device(aedes, undefined, 5);
    await d.connect('alias-pub', { properties: { topicAliasMaximum: 0 } });
    registerTopicAlias(d.client, 1, 'aliased/t');
    // Aedes's own Topic Alias Maximum is 0 here: only the alias map is under test.
    (aedes as unknown as { topicAliasMaximum: number }).topicAliasMaximum = 5;
    d.send(publish('', { properties: { topicAlias: 1 } }));
    const got = (await sub.next('publish')) as unknown as { topic: string };
    expect(got.topic).toBe('aliased/t');
    d.send({ ...publish('refused/t'), qos: 1, messageId: 4 } as Packet);
    const puback = (await d.next('puback')) as unknown as { reasonCode: number; properties?: object };
    expect(puback.reasonCode).toBe(0x97);
    expect(puback.properties).toEqual({ reasonString: 'full' });
    await tick(50);
    expect(sub.count('publish')).toBe(1);
    disconnectWith(d.client, 0x93);
    const disconnect = (await d.next('disconnect')) as unknown as { reasonCode: number };
    expect(disconnect.reasonCode).toBe(0x93);
  });

  it("reads a client's Maximum Packet Size and a publish's properties; clears a will's delay", async () => {
    const d = new Device(aedes, undefined, 5);
    await d.connect('small', { properties: { maximumPacketSize: 64 } });
    const small = { ...publish('a/b'), payload: Buffer.from('x') } as never;
    const big = { ...publish('a/b'), payload: Buffer.alloc(100) } as never;
    expect(fitsClient(d.client, small)).toBe(true);
    expect(fitsClient(d.client, big)).toBe(false);
    const will = { ...publish('w'), properties: { willDelayInterval: 5, contentType: 'x' } } as never;
    clearWillDelay(will);
    expect(publishProperties(will)).toEqual({ willDelayInterval: undefined, contentType: 'x' });
    const expired: string[] = [];
    aedes.on('sessionExpired', (c) => expired.push(c.id));
    const s = new Device(aedes, undefined, 5);
    await s.connect('expires', { clean: false, properties: { sessionExpiryInterval: 1 } });
    s.wire.end();
    const until = Date.now() + 3000;
    while (expired.length === 0 && Date.now() < until) await tick(50);
    expect(expired).toEqual(['expires']);
  });
});
