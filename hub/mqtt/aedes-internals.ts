/**
 * Every use of Aedes and mqtt-packet, private parts included, in one place. The hub's
 * hot path needs a few fields their typings do not show (the client's parser, its
 * keepalive timer, its read batch count, the broker's client table and persistence);
 * both packages are pinned to an exact version in package.json, and
 * tests/unit/aedes-internals.test.ts fails when one of these fields moves or changes
 * shape. Nothing else in the project imports `aedes` or `mqtt-packet`.
 */
import type { Duplex } from 'node:stream';
import { Aedes, type AedesOptions, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { Pausable } from './flow-control.js';

export type { Aedes, Client, PublishPacket };

/** The parts of an Aedes client the hub uses that are not in its typings. */
interface ClientInternals {
  _parser: { parse(buf: Buffer): number };
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
}

interface BrokerInternals {
  maxTopicLevels: number;
  clients: Record<string, Client>;
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
export async function createAedes(opts: AedesOptions): Promise<Aedes> {
  mqttPacket.writeToStream.cacheNumbers = false;
  return Aedes.createBroker(opts);
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

/** Hands a new connection to Aedes. */
export function handleConnection(aedes: Aedes, conn: Duplex): Client {
  return aedes.handle(conn);
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
