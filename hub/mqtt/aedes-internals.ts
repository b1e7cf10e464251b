/**
 * Every use of Aedes, aedes-persistence and mqtt-packet, private parts included, in one
 * place. The hub's hot path needs a few fields their typings do not show (the client's
 * parser, its keepalive timer, its read batch count, the broker's client table and
 * persistence); the packages are pinned to an exact version in package.json, and
 * tests/unit/aedes-internals.test.ts fails when one of these fields moves or changes
 * shape. Nothing else in the project imports them.
 *
 * Aedes 2.0.0-beta.1 (the one Aedes with MQTT 5) was cut before three fixes of 1.2.0;
 * this file closes each for the hub (see createAedes and handleConnection):
 * - GHSA-52qw-whmv-87c5: maps keyed by wire strings (client ids, topic filters, broker
 *   ids) are plain objects, so `constructor` or `__proto__` read back as present;
 * - GHSA-p8r9-qf8w-p73r: a clean session's stored QoS 2 publishes outlive it;
 * - GHSA-5jvp-3p2v-5qgf: no bound on QoS 2 publishes awaiting PUBREL (the hub's own
 *   mqtt.maxAwaitingPubrel in broker.ts bounds them; `maxInflightInbound` is passed on
 *   for the Aedes versions that know it).
 * Each fix is harmless once Aedes has its own, so moving to 2.0.0 final is a version bump.
 */
import type { Duplex } from 'node:stream';
import { Aedes, type AedesOptions, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import memoryPersistenceModule from 'aedes-persistence';
import mqttPacket from 'mqtt-packet';
import type { Pausable } from './flow-control.js';

// A CommonJS module whose typings declare an ES default export: imported from ESM, the
// default is module.exports itself, the factory.
const memoryPersistence = memoryPersistenceModule as unknown as () => object;

export type { Aedes, Client, PublishPacket };

/** MQTT 5 properties of a PUBLISH, as mqtt-packet reads them (the ones the hub looks at). */
export interface PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  topicAlias?: number;
  contentType?: string;
  userProperties?: Record<string, string | string[]>;
  willDelayInterval?: number;
  subscriptionIdentifier?: number | number[];
}

/** The parts of an Aedes client the hub uses that are not in its typings. */
interface ClientInternals {
  _parser: {
    parse(buf: Buffer): number;
    prependListener(event: 'packet', fn: (packet: { cmd: string; subscriptions?: unknown }) => void): void;
  };
  /** Maps keyed by topic filter and by broker id: made null-prototype here (GHSA-52qw-whmv-87c5). */
  duplicates: Record<string, unknown>;
  /** MQTT 5 inbound topic aliases of this connection (alias -> topic). */
  _topicAliases: Map<number, string>;
  /** MQTT 5: Clean Start of the CONNECT (clean is the session's persistence there). */
  _cleanStart?: boolean;
  _keepaliveInterval: number;
  _keepaliveTimer: NodeJS.Timeout | null;
  /** Packets of the current socket read not completed yet; the next read starts at 0. */
  _parsingBatch: number;
  /** Set only by a DISCONNECT packet. */
  _disconnected: boolean;
  clean: boolean;
  subscriptions: Record<string, unknown>;
  pause(): void;
  resume(): void;
}

/** Aedes's store of received QoS 2 publishes (aedes-persistence), as the hub uses it. */
interface IncomingStore {
  incomingGetPacket(client: Client, packet: { messageId?: number }): Promise<unknown>;
  incomingDelPacket(client: Client, packet: { messageId: number }): Promise<void>;
  /** Drops every stored QoS 2 publish of the client id (aedes-persistence 11). */
  cleanIncoming(client: Client): Promise<void>;
}

interface BrokerInternals {
  maxTopicLevels: number;
  clients: Record<string, Client>;
  brokers: Record<string, number>;
  /** Client ids whose session a new connection is taking over right now. */
  _takingOver?: Set<string>;
  persistence: IncomingStore;
  /** What Aedes calls for a client's publish (its typings know only publish(packet, done)). */
  publish(packet: AedesPublishPacket, client: Client | null, done?: (err?: Error) => void): void;
}

const internals = (c: Client) => c as unknown as ClientInternals;
const brokerInternals = (a: Aedes) => a as unknown as BrokerInternals;

/**
 * A started Aedes broker. Also turns off mqtt-packet's number cache, a process-wide
 * setting: its default is a table of 65,536 two-byte buffers (about 8 MB of heap) made
 * on the first packet written, to save one tiny allocation per PUBACK.
 */
export async function createAedes(opts: AedesOptions & { maxInflightInbound?: number }): Promise<Aedes> {
  mqttPacket.writeToStream.cacheNumbers = false;
  // aedes-persistence 11 has cleanIncoming (GHSA-p8r9-qf8w-p73r); the 10.x that
  // 2.0.0-beta.1 depends on does not.
  const aedes = await Aedes.createBroker({ persistence: memoryPersistence(), ...opts });
  const b = brokerInternals(aedes);
  // GHSA-52qw-whmv-87c5: keyed by client ids and broker ids from the wire. Nothing
  // is connected yet, so both start empty.
  b.clients = Object.create(null);
  b.brokers = Object.create(null);
  guardIncoming(aedes);
  return aedes;
}

/**
 * GHSA-p8r9-qf8w-p73r: the stored QoS 2 publishes of a session end with it [MQTT-3.1.2-4,
 * MQTT-3.1.2-6]: at a Clean Start (once a takeover of the id is done, as 'client' is
 * emitted), when a clean session's connection closes, and when a session expires.
 * Otherwise a new publish reusing a packet id after a clean reconnect is taken for a
 * resend and not delivered, and clients that never send PUBREL grow the store for ever.
 */
function guardIncoming(aedes: Aedes): void {
  const b = brokerInternals(aedes);
  const clean = (c: Client) => {
    b.persistence.cleanIncoming(c).catch((err: unknown) => aedes.emit('clientError', c, err));
  };
  aedes.on('client', (c) => {
    const ci = internals(c);
    if (c.version === 5 ? ci._cleanStart === true : ci.clean !== false) clean(c);
  });
  aedes.on('clientDisconnect', (c) => {
    // A connection taken over hands its session to the new one.
    const now = b.clients[c.id];
    if (internals(c).clean !== false && (now === undefined || now === c) && !b._takingOver?.has(c.id))
      clean(c);
  });
  onSessionEnded(aedes, (c) => clean(c));
}

/**
 * Calls `ended` when a session that outlived its connection ends: its expiry came, or
 * too many sessions wait to expire and Aedes ends a leaving one at once.
 */
export function onSessionEnded(aedes: Aedes, ended: (client: Client) => void): void {
  const b = brokerInternals(aedes);
  aedes.on('sessionLimitReached', (c, info) => {
    if (info.reason === 'sessionExpiry' && b.clients[c.id] === undefined) ended(c);
  });
  aedes.on('sessionExpired', (c) => {
    if (b.clients[c.id] === undefined) ended(c);
  });
}

/** Whether mqtt-packet's process-wide number cache is on (createAedes turns it off). */
export function numberCacheEnabled(): boolean {
  return mqttPacket.writeToStream.cacheNumbers;
}

/** Aedes refuses a publish with more topic levels than this. */
export function maxTopicLevels(aedes: Aedes): number {
  return brokerInternals(aedes).maxTopicLevels;
}

/** The connected clients by client id (a record without a prototype). */
export function connectedClients(aedes: Aedes): Readonly<Record<string, Client>> {
  return brokerInternals(aedes).clients;
}

/**
 * A SUBSCRIBE filter Aedes 2.0.0-beta.1 cannot take beside others: its de-duplication of
 * a SUBSCRIBE's filters builds a plain object, where `__proto__` sets the prototype
 * (the result is garbage, and the broker throws). Such a filter is refused (SUBACK
 * failure) when the SUBSCRIBE lists others; alone, it is subscribed normally.
 */
export const PROTO_FILTER_STANDIN = '\u0000__proto__';

/** Hands a new connection to Aedes. */
export function handleConnection(aedes: Aedes, conn: Duplex): Client {
  const client = aedes.handle(conn);
  const c = internals(client);
  // GHSA-52qw-whmv-87c5: keyed by topic filters and broker ids from the wire. The
  // client has read nothing yet (reading starts on a later turn).
  c.subscriptions = Object.create(null);
  c.duplicates = Object.create(null);
  c._parser.prependListener('packet', (packet) => {
    if (packet.cmd !== 'subscribe' || !Array.isArray(packet.subscriptions)) return;
    const subs = packet.subscriptions as Array<{ topic: string }>;
    if (subs.length < 2) return;
    for (const sub of subs) if (sub.topic === '__proto__') sub.topic = PROTO_FILTER_STANDIN;
  });
  return client;
}

/** The MQTT protocol level of a connected client (3, 4 or 5). */
export function protocolLevel(client: Client): number {
  return client.version;
}

/**
 * Puts `feed` in front of a client's parser: every byte the client sends goes to
 * `feed`; the returned function passes whole packets on to Aedes's own parser.
 */
export function interceptParser(client: Client, feed: (buf: Buffer) => void): (bytes: Buffer) => void {
  const c = internals(client);
  const parser = c._parser;
  const parse = parser.parse.bind(parser);
  parser.parse = (buf: Buffer) => {
    // Any bytes from the client count as a sign of life [MQTT-3.1.2-22] (Aedes
    // refreshes this per packet it handles; framed publishes refresh it per read).
    if (c._keepaliveInterval > 0) c._keepaliveTimer?.refresh();
    feed(buf);
    return 0;
  };
  return (bytes) => {
    parse(bytes);
  };
}

/** Whether the client's connection is closed (or closing) already. */
export function connectionGone(client: Client): boolean {
  return client.conn.destroyed;
}

/** Closes a client's connection, after writing `reply` if given (within a second). */
export function closeConnection(client: Client, reply?: Buffer): void {
  const conn = client.conn;
  if (conn.destroyed) return;
  if (reply) {
    conn.end(reply);
    setTimeout(() => conn.destroy(), 1000).unref();
  } else conn.destroy();
}

/** False for a persistent session (CleanSession 0), whose subscriptions outlive the connection. */
export function isCleanSession(client: Client): boolean {
  return internals(client).clean !== false;
}

/** Whether the client left with a DISCONNECT packet: the test Aedes uses for the will [MQTT-3.1.2-8]. */
export function sentDisconnect(client: Client): boolean {
  return internals(client)._disconnected === true;
}

/** The topic filters Aedes holds for the client's session now. */
export function sessionFilters(client: Client): string[] {
  return Object.keys(internals(client).subscriptions);
}

/**
 * A client as flow control sees it. resume() starts the next read: Aedes counts the
 * packets of a read in _parsingBatch and reads again when it drops to 0, but a packet's
 * callback that finds the client paused returns without counting down. Every QoS 0
 * packet of that read has completed by the time the hub resumes (they complete
 * synchronously), so resume() sets the count to the 1 that Aedes's resume counts down.
 */
export class ClientReader implements Pausable {
  readonly #c: ClientInternals;
  constructor(readonly client: Client) {
    this.#c = internals(client);
  }
  get closed(): boolean {
    return this.client.closed;
  }
  pause(): void {
    this.#c.pause();
  }
  resume(): void {
    this.#c._parsingBatch = 1;
    this.#c.resume();
  }
}

/**
 * Routes a client's publish through Aedes's publish series only when `mustRoute`
 * says so; otherwise it completes at once. The hub's own publishes (no client) always route.
 */
export function interceptRouting(aedes: Aedes, mustRoute: (topic: string, retain: boolean) => boolean): void {
  const b = brokerInternals(aedes);
  const route = b.publish.bind(aedes);
  b.publish = (packet, client, done) => {
    if (client && typeof client === 'object' && !mustRoute(packet.topic, packet.retain)) {
      done?.();
      return;
    }
    route(packet, client, done);
  };
}

/** Publishes as the broker itself (no client, no authorization); done once routed. */
export function publishAsBroker(
  aedes: Aedes,
  packet: { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean },
  done: () => void,
): void {
  aedes.publish({ cmd: 'publish', dup: false, ...packet } as unknown as AedesPublishPacket, done);
}

/** Settles when the client's session holds a received QoS 2 publish with this packet id, rejects if not. */
export function storedIncoming(aedes: Aedes, client: Client, packet: PublishPacket): Promise<unknown> {
  return brokerInternals(aedes).persistence.incomingGetPacket(client, packet);
}

/** Calls `released` whenever Aedes deletes a stored QoS 2 publish (on its PUBREL), before it does. */
export function onIncomingReleased(
  aedes: Aedes,
  released: (client: Client, messageId: number) => void,
): void {
  const store = brokerInternals(aedes).persistence;
  const del = store.incomingDelPacket.bind(store);
  store.incomingDelPacket = (client, packet) => {
    released(client, packet.messageId);
    return del(client, packet);
  };
}

/** The MQTT 5 properties of a publish (undefined for 3.1.1 and for none). */
export function publishProperties(packet: PublishPacket): PublishProperties | undefined {
  return (packet as { properties?: PublishProperties }).properties;
}

/**
 * Aedes issue 1098: a will's Will Delay Interval (a CONNECT property) stays on the
 * published will, so subscribers get a PUBLISH with a property PUBLISH may not carry
 * [MQTT-3.3.2]. Cleared (undefined: mqtt-packet skips it) before the will is routed.
 */
export function clearWillDelay(packet: PublishPacket): void {
  const props = publishProperties(packet);
  if (props?.willDelayInterval !== undefined) props.willDelayInterval = undefined;
}

/** Tells Aedes the client's Topic Alias `alias` names `topic` (set by a publish Aedes did not see). */
export function registerTopicAlias(client: Client, alias: number, topic: string): void {
  internals(client)._topicAliases.set(alias, topic);
}

/**
 * Answers an MQTT 5 QoS 1 or 2 publish with a refusing PUBACK or PUBREC carrying
 * `reasonCode` (and a reason string unless the client asked for none [MQTT-3.1.2-29]),
 * and makes Aedes drop the publish: the caller then calls authorizePublish's done(null).
 * Aedes's own refusal (done(err)) always says 0x87 (not authorized).
 */
export function refusePublish(
  client: Client,
  packet: PublishPacket,
  reasonCode: number,
  reason: string,
): void {
  (packet as { _notAuthorized?: boolean })._notAuthorized = true;
  if (client.conn.destroyed || typeof packet.messageId !== 'number') return;
  const wantsReasons = (client as unknown as { _requestProblemInformation?: boolean })
    ._requestProblemInformation;
  const ack = {
    cmd: packet.qos === 1 ? 'puback' : 'pubrec',
    messageId: packet.messageId,
    reasonCode,
    ...(wantsReasons !== false ? { properties: { reasonString: reason } } : {}),
  } as const;
  client.conn.write(mqttPacket.generate(ack as mqttPacket.Packet, { protocolVersion: 5 }));
}

/** Makes Aedes drop a publish it would otherwise route and acknowledge (the connection is closing). */
export function dropPublish(packet: PublishPacket): void {
  (packet as { _notAuthorized?: boolean })._notAuthorized = true;
}

/** Ends an MQTT 5 client's connection with a DISCONNECT carrying `reasonCode` (3.1.1: just closes). */
export function disconnectWith(client: Client, reasonCode: number): void {
  client.disconnect({ reasonCode });
}

/**
 * Whether `packet` fits the Maximum Packet Size the client asked for in its CONNECT
 * (MQTT 5; no limit for 3.1.1). Counted from the payload and topic first; the exact
 * size (serialized once) only when the packet is close to the limit.
 */
export function fitsClient(client: Client, packet: AedesPublishPacket): boolean {
  const max = client.maximumPacketSize;
  if (max === undefined || client.version !== 5) return true;
  const payload = packet.payload as Buffer | string;
  const body = Buffer.byteLength(payload) + Buffer.byteLength(packet.topic) + 2;
  if (body + 2 > max) return false;
  const props = (packet as { properties?: object }).properties;
  // 5 bytes of fixed header at most, 2 of packet id, 1 of properties length.
  if (props === undefined && body + 8 <= max) return true;
  const exact = mqttPacket.generate({ ...packet, cmd: 'publish', messageId: 1 } as mqttPacket.Packet, {
    protocolVersion: 5,
  });
  return exact.length <= max;
}

/** Aedes's own 'error' event (persistence failures), which its typings do not list. */
export function onBrokerError(aedes: Aedes, fn: (err: Error) => void): void {
  (aedes as unknown as NodeJS.EventEmitter).on('error', fn);
}
