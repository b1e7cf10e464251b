import { createServer, type Server } from 'node:net';
import { Aedes, type AedesPublishPacket, type Client, type PublishPacket } from 'aedes';
import mqttPacket from 'mqtt-packet';
import type { Logger } from 'pino';
import { PublishFramer, type WireViolation } from './broker-framing.js';
import { fingerprint, RecentPublishes } from './broker-resends.js';
import { HubError } from './core/errors.js';
import type { RawMessage } from './core/raw-message.js';
import { topicMatches } from './core/topic.js';

export interface BrokerOptions {
  host: string;
  port: number;
  users: ReadonlyArray<{ username: string; password: string }>;
  log: Logger;
  /**
   * Called for every publish from a client, before it is acknowledged: for QoS 1 the
   * PUBACK goes out only when the returned promise settles.
   */
  onMessage(msg: RawMessage, qos: 0 | 1 | 2): void | Promise<void>;
  onClientConnect?(clientId: string): void;
  onClientDisconnect?(clientId: string, clean: boolean): void;
  /** Cap of a packet, fixed header included, once its CONNECT is accepted (mqtt.maxPacketBytes). */
  maxPacketBytes?: number;
  /** QoS 2 publishes of one connection awaiting their PUBREL (mqtt.maxAwaitingPubrel). */
  maxAwaitingPubrel?: number;
  /** Topics retained at once (mqtt.maxRetained); a retained publish to a new topic past it is not retained. */
  maxRetained?: number;
  /** A connection closed for breaking MQTT 3.1.1 or a cap, by reason (counted in /metrics). */
  onRefused?(reason: WireViolation | 'too_many_awaiting_pubrel'): void;
  /** A resend acknowledged without being ingested again. */
  onDuplicate?(qos: 1 | 2): void;
  /** A retained publish not retained because mqtt.maxRetained topics are retained already. */
  onRetainedRefused?(): void;
}

/** Default of mqtt.maxAwaitingPubrel: EMQX's max_awaiting_rel; Aedes's own default is 1000. */
export const MAX_AWAITING_PUBREL = 100;

/** Longest stretch of QoS 0 ingest before other work (writes, commits, HTTP) gets a turn. */
const SLICE_MS = 20;

/** Topics only the hub itself may publish: a device must not spoof readings or states. */
const RESERVED = /^(hub|\$SYS)\//;

/**
 * Why a device may not publish to `topic`, or undefined. The one rule of
 * authorizePublish: framed publishes (#fastPublish) that it would refuse go to it.
 */
function refused(topic: string): string | undefined {
  return RESERVED.test(topic) ? `${topic}: reserved for the hub` : undefined;
}

/**
 * The only module that touches Aedes. Readings are consumed in process, in the
 * publish path (authorizePublish), never through a socket subscriber: a slow socket
 * subscriber makes plain Aedes fall over under load.
 */
export class Broker {
  #aedes: Aedes | undefined;
  #server: Server | undefined;
  #port = 0;
  /** Clients not read until the spool catches up (QoS 0 backpressure). */
  readonly #held = new WeakSet<Client>();
  /** Clients paused for fairness, in the order they get their next turn. */
  readonly #waiting = new Set<Client>();
  #turnArmed = false;
  /** Publishes waiting for a commit, by the commit's promise. */
  readonly #acks = new Map<Promise<void>, Array<(err: Error | null) => void>>();
  #sliceStart = 0;
  /** client id -> topic filters it subscribed to */
  readonly #filters = new Map<string, Set<string>>();
  /** watched topic prefix -> how many subscribed filters can match under it */
  readonly #listeners = new Map<string, number>();
  /** topic -> whether a subscribed filter matches it; cleared when subscriptions change. */
  readonly #routed = new Map<string, boolean>();
  /** Aedes refuses a publish with more topic levels (its maxTopicLevels, read at start). */
  #maxTopicLevels = 100;
  /** Each connection's framing, told when its CONNECT is accepted. */
  readonly #framers = new WeakMap<Client, PublishFramer>();
  /** Per connection: QoS 2 packet ids ingested and not yet released by PUBREL, each with its outcome. */
  readonly #awaiting = new WeakMap<Client, Map<number, Promise<Error | null>>>();
  readonly #recent = new RecentPublishes();
  /**
   * Topics devices' publishes retain, to cap them. The hub's own retained topics
   * (availability, discovery, status) are not counted: they are bounded by the registry.
   */
  readonly #retained = new Set<string>();
  #retainedRefused = 0;
  #retainedWarnedAt = 0;

  constructor(private readonly opts: BrokerOptions) {}

  get port(): number {
    return this.#port;
  }

  get connectedClients(): number {
    return this.#aedes?.connectedClients ?? 0;
  }

  #noteFilters(clientId: string, filters: readonly string[]): void {
    let set = this.#filters.get(clientId);
    if (!set) {
      set = new Set();
      this.#filters.set(clientId, set);
    }
    for (const f of filters) {
      if (set.has(f)) continue;
      set.add(f);
      this.#countFilter(f, 1);
    }
  }

  #dropFilters(clientId: string, filters?: readonly string[]): void {
    const set = this.#filters.get(clientId);
    if (!set) return;
    for (const f of filters ?? [...set]) {
      if (set.delete(f)) this.#countFilter(f, -1);
    }
    if (set.size === 0) this.#filters.delete(clientId);
  }

  #countFilter(filter: string, delta: number): void {
    this.#routed.clear();
    const levels = filter.split('/');
    for (const [prefix, n] of this.#listeners) {
      if (filterCouldMatch(levels, prefix.split('/'))) this.#listeners.set(prefix, n + delta);
    }
  }

  /**
   * Whether any connected client subscribed to a filter that can match a topic under
   * `prefix` (e.g. "hub/readings"): the hub skips building what nobody receives. The
   * count is kept up to date on (un)subscribe and disconnect, so this is one lookup.
   */
  hasListeners(prefix: string): boolean {
    let n = this.#listeners.get(prefix);
    if (n === undefined) {
      n = 0;
      for (const set of this.#filters.values()) {
        for (const f of set) if (filterCouldMatch(f.split('/'), prefix.split('/'))) n++;
      }
      this.#listeners.set(prefix, n);
    }
    return n > 0;
  }

  /**
   * Whether a device's publish must go through the broker's routing: it is retained,
   * or some subscription (of a connected client, or of a persistent session whose
   * client is away) matches its topic. Sensor topics nobody subscribed to skip the
   * routing, which costs as much as the rest of the broker's work per message. Errs
   * towards routing: a topic starting with "$", or a persistent session whose
   * subscriptions are not known, routes.
   */
  #mustRoute(topic: string, retain: boolean): boolean {
    if (retain) return true;
    // #filters holds only clients with at least one filter.
    if (this.#filters.size === 0) return false;
    let hit = this.#routed.get(topic);
    if (hit === undefined) {
      if (this.#routed.size >= 100_000) this.#routed.clear();
      hit = topic.startsWith('$') || this.#anyFilterMatches(topic);
      this.#routed.set(topic, hit);
    }
    return hit;
  }

  #anyFilterMatches(topic: string): boolean {
    for (const set of this.#filters.values()) {
      for (const f of set) if (topicMatches(f, topic)) return true;
    }
    return false;
  }

  /**
   * Hands a device's publish to the hub. For QoS 0, a returned promise means the hub
   * is behind (see SpoolSink.waitFor): the caller holds the connection, not the
   * message. A held QoS 0 publish would keep its parser and callback state alive, and
   * one socket read can carry thousands, whereas a paused client is simply not read
   * (its backlog stays in the kernel's socket buffer) until the spool has caught up.
   */
  #ingest(client: Client, topic: string, payload: Buffer, qos: 0 | 1 | 2): void | Promise<void> {
    const msg: RawMessage = { topic, payload, receivedAt: Date.now(), source: 'mqtt', clientId: client.id };
    try {
      return this.opts.onMessage(msg, qos);
    } catch (err) {
      this.opts.log.error({ err, topic }, 'ingest failed');
    }
  }

  /**
   * Puts the hub's framing (broker-framing.ts) in front of a new connection's parser:
   * the QoS 0 publishes of a connected client that need no routing are ingested
   * straight from the socket's bytes; every other packet reaches Aedes as before.
   */
  #frame(client: Client): void {
    const c = client as unknown as AedesInternals;
    const parser = c._parser;
    const parse = parser.parse.bind(parser);
    const framer = new PublishFramer(
      {
        fast: (topic, payload) => this.#fastPublish(client, topic, payload),
        slow: (bytes) => {
          parse(bytes);
        },
        refuse: (reason, detail, reply) => this.#refuse(client, reason, detail, reply),
      },
      { maxPacket: this.opts.maxPacketBytes ?? 256 * 1024 },
    );
    this.#framers.set(client, framer);
    parser.parse = (buf: Buffer) => {
      // Any bytes from the client count as a sign of life [MQTT-3.1.2-22] (Aedes
      // refreshes this per packet it handles; framed publishes refresh it per read).
      if (c._keepaliveInterval > 0) c._keepaliveTimer?.refresh();
      framer.feed(buf);
      return 0;
    };
  }

  /** Closes a connection that broke the protocol or a cap [MQTT 3.1.1 section 4.8]. */
  #refuse(client: Client, reason: WireViolation, detail: string, reply?: Buffer): void {
    const conn = (client as unknown as AedesInternals).conn;
    this.opts.onRefused?.(reason);
    this.opts.log.debug({ clientId: client.id, reason, detail }, 'connection closed: protocol violation');
    if (conn.destroyed) return;
    if (reply) {
      // The answer first (a CONNACK refusal), then the connection ends.
      conn.end(reply);
      setTimeout(() => conn.destroy(), 1000).unref();
    } else conn.destroy();
  }

  /**
   * A framed QoS 0 publish. Declined (false), it goes through Aedes, which decides:
   * before CONNACK, after a DISCONNECT, a topic Aedes rejects or the hub reserves, or
   * one that must be routed to subscribers.
   */
  #fastPublish(client: Client, topic: string, payload: Buffer): boolean {
    if (!client.connected || client.closed || (client as unknown as AedesInternals).conn.destroyed)
      return false;
    const c0 = topic.charCodeAt(0);
    if (c0 === 36 /* $ */ || topic.includes('+') || topic.includes('#')) return false;
    // What authorizePublish refuses is left to it, so both ways apply one rule.
    if (refused(topic)) return false;
    // More than Aedes's maximum of topic levels needs at least as many characters.
    const maxLevels = this.#maxTopicLevels;
    if (topic.length >= maxLevels && topic.split('/').length > maxLevels) return false;
    if (this.#mustRoute(topic, false)) return false;
    const pending = this.#ingest(client, topic, payload, 0);
    if (pending) this.#hold(client, pending);
    else if (this.#overSlice()) this.#yieldAll();
    return true;
  }

  /**
   * Acknowledges a publish once `pending` resolves. The publishes of one spool commit
   * share its promise: one reaction per commit calls them all, instead of one each.
   * A failed commit acknowledges nothing: done(err) makes Aedes close the connection
   * without a PUBACK, so the device resends (to this hub once it stores again, or another).
   */
  #afterCommit(pending: Promise<void>, done: (err: Error | null) => void): void {
    let list = this.#acks.get(pending);
    if (!list) {
      const all: Array<(err: Error | null) => void> = [];
      list = all;
      this.#acks.set(pending, all);
      const release = (err?: unknown) => {
        this.#acks.delete(pending);
        const e = err === undefined ? null : err instanceof Error ? err : new Error(String(err));
        if (e)
          this.opts.log.debug({ err: e.message, publishes: all.length }, 'publishes refused, not stored');
        for (let i = 0; i < all.length; i++) all[i]!(e);
      };
      pending.then(
        () => release(),
        (err: unknown) => release(err ?? new Error('ingest failed')),
      );
    }
    list.push(done);
  }

  /** Stops reading a client until `until` settles (why the connection, not the message: #ingest). */
  #hold(client: Client, until: Promise<void>): void {
    if (this.#held.has(client)) return;
    this.#held.add(client);
    (client as unknown as Pausable).pause();
    const resume = () => {
      this.#held.delete(client);
      this.#resume(client);
    };
    until.then(resume, resume);
  }

  /** Reads a paused client again, unless it is still held or waiting for its turn. */
  #resume(client: Client): void {
    if (client.closed || this.#held.has(client) || this.#waiting.has(client)) return;
    const c = client as unknown as Pausable;
    // Aedes counts the packets of a read in _parsingBatch and reads again when it
    // drops to 0, but a callback that finds the client paused returns without
    // counting down. Every QoS 0 packet of that read has completed by now (they
    // complete synchronously), so the next read may start: resume() counts 1 down.
    c._parsingBatch = 1;
    c.resume();
  }

  /**
   * Pauses every client and queues it for a later turn, so the sockets still to be
   * read wait (their data stays in the kernel) and other work runs first.
   */
  #yieldAll(): void {
    const aedes = this.#aedes;
    if (!aedes || this.#turnArmed) return;
    const clients = (aedes as unknown as { clients: Record<string, Client> }).clients;
    for (const id in clients) {
      const client = clients[id]!;
      (client as unknown as Pausable).pause();
      // A client already waiting keeps its place; the one that used up the slice goes last.
      this.#waiting.add(client);
    }
    this.#turnArmed = true;
    // setImmediate, not a timer: the poll phase in between runs what waited (InfluxDB
    // responses, spool commits, HTTP) without the 1 ms floor of setTimeout.
    setImmediate(() => this.#nextTurn());
  }

  /** Resumes waiting clients one by one until one of them uses up the new slice. */
  #nextTurn(): void {
    this.#turnArmed = false;
    this.#sliceStart = 0;
    for (const client of this.#waiting) {
      this.#waiting.delete(client);
      this.#resume(client);
      // That client's backlog used up the slice: #yieldAll queued everyone again.
      if (this.#turnArmed) return;
    }
  }

  /** True once the current stretch of ingest has run longer than SLICE_MS. */
  #overSlice(): boolean {
    const now = performance.now();
    if (this.#sliceStart === 0) {
      this.#sliceStart = now;
      setImmediate(() => {
        this.#sliceStart = 0;
      });
      return false;
    }
    return now - this.#sliceStart > SLICE_MS;
  }

  /** Ingests a client's publish and calls done when it may be acknowledged. */
  #accept(client: Client, packet: PublishPacket, done: (err: Error | null) => void): void {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const pending = this.#ingest(client, packet.topic, payload, packet.qos);
    if (pending && packet.qos === 0) {
      // Paused before done(): done() of the last packet of a read would read the next one.
      this.#hold(client, pending);
      done(null);
      return;
    }
    if (!pending && packet.qos === 0 && this.#overSlice()) {
      // Fairness: Aedes handles a whole socket read of QoS 0 publishes in one go, and
      // all readable sockets in one poll phase, so a burst could keep the event loop
      // for a second; InfluxDB responses, commits and HTTP would wait that long. After
      // SLICE_MS of ingest, no client is read again before a later turn.
      this.#yieldAll();
      done(null);
      return;
    }
    if (pending) this.#afterCommit(pending, done);
    else done(null);
  }

  /**
   * QoS 1: a DUP resend of a publish the hub stored already (RecentPublishes) is
   * acknowledged again without being ingested again. A publish is remembered once it
   * may be acknowledged, so one whose storing failed is taken again when resent.
   */
  #acceptQos1(client: Client, packet: PublishPacket, id: number, done: (err: Error | null) => void): void {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const print = fingerprint(packet.topic, payload);
    if (packet.dup && this.#recent.has(client.id, id, print)) {
      this.opts.onDuplicate?.(1);
      done(null);
      return;
    }
    this.#accept(client, packet, (err) => {
      if (!err) this.#recent.remember(client.id, id, print);
      done(err);
    });
  }

  /**
   * QoS 2: ingested once per packet id until its PUBREL [MQTT-4.3.3-2]. A resend before
   * it waits for the first one's outcome and is then answered by Aedes (PUBREC) without
   * being ingested again; a returning persistent session's resend is found in Aedes's
   * store of received QoS 2 publishes. Past maxAwaitingPubrel ids awaiting PUBREL the
   * connection is closed: MQTT 3.1.1 has no way to tell a client to slow down.
   */
  #acceptQos2(client: Client, packet: PublishPacket, id: number, done: (err: Error | null) => void): void {
    let ids = this.#awaiting.get(client);
    if (!ids) {
      ids = new Map();
      this.#awaiting.set(client, ids);
    }
    const earlier = ids.get(id);
    if (earlier) {
      this.opts.onDuplicate?.(2);
      void earlier.then(done);
      return;
    }
    const cap = this.opts.maxAwaitingPubrel ?? MAX_AWAITING_PUBREL;
    if (ids.size >= cap) {
      this.opts.onRefused?.('too_many_awaiting_pubrel');
      done(new Error(`more than ${cap} QoS 2 publishes awaiting PUBREL (mqtt.maxAwaitingPubrel)`));
      return;
    }
    let settle!: (err: Error | null) => void;
    ids.set(
      id,
      new Promise<Error | null>((r) => {
        settle = r;
      }),
    );
    const take = () =>
      this.#accept(client, packet, (err) => {
        settle(err);
        done(err);
      });
    if ((client as unknown as { clean?: boolean }).clean !== false) {
      take();
      return;
    }
    const store = (this.#aedes as unknown as { persistence: IncomingStore }).persistence;
    store.incomingGetPacket(client, packet).then(() => {
      this.opts.onDuplicate?.(2);
      settle(null);
      done(null);
    }, take);
  }

  /**
   * Caps the retained store: a retained publish to a topic not retained yet, past
   * maxRetained topics, is delivered and ingested but not retained (counted and logged).
   */
  #capRetained(client: Client, packet: PublishPacket): void {
    const topic = packet.topic;
    if (packet.payload.length === 0) {
      // An empty retained publish clears the topic [MQTT-3.3.1-10].
      this.#retained.delete(topic);
      return;
    }
    if (this.#retained.has(topic)) return;
    const cap = this.opts.maxRetained ?? 10_000;
    if (this.#retained.size < cap) {
      this.#retained.add(topic);
      return;
    }
    packet.retain = false;
    this.#retainedRefused++;
    this.opts.onRetainedRefused?.();
    const now = Date.now();
    if (now - this.#retainedWarnedAt >= 60_000) {
      this.#retainedWarnedAt = now;
      this.opts.log.warn(
        {
          reason: 'retained_cap',
          topic: topic.slice(0, 128),
          clientId: client.id,
          refused: this.#retainedRefused,
        },
        `retained publish not retained: ${cap} topics are retained already (mqtt.maxRetained)`,
      );
    }
  }

  async start(): Promise<void> {
    const { opts } = this;
    // mqtt-packet's default is a table of 65,536 two-byte buffers (about 8 MB of heap)
    // made on the first packet written, to save one tiny allocation per PUBACK.
    mqttPacket.writeToStream.cacheNumbers = false;
    const log = opts.log;
    const aedes = await Aedes.createBroker({
      // Idle clients are dropped after 1.5x their keepalive [MQTT-3.1.2-24]; no broker heartbeat topic needed.
      heartbeatInterval: 60_000,
      connectTimeout: 10_000,
      drainTimeout: 10_000,
      // The hub's cap, so Aedes's own bound of its store of received QoS 2 publishes agrees.
      maxInflightInbound: opts.maxAwaitingPubrel ?? MAX_AWAITING_PUBREL,
    });
    this.#aedes = aedes;
    this.#maxTopicLevels = (aedes as unknown as { maxTopicLevels: number }).maxTopicLevels;

    if (opts.users.length > 0) {
      const users = new Map(opts.users.map((u) => [u.username, u.password]));
      aedes.authenticate = (_client, username, password, done) => {
        const ok = username !== undefined && users.get(username) === password?.toString();
        if (ok) return done(null, true);
        const err = Object.assign(new Error('bad username or password'), { returnCode: 4 as const });
        done(err, null);
      };
    }

    aedes.authorizePublish = (client: Client | null, packet, done) => {
      if (!client) return done(null); // a will published by the broker itself
      const refusal = refused(packet.topic);
      if (refusal) return done(new Error(refusal));
      if (packet.retain) this.#capRetained(client, packet);
      const id = packet.messageId;
      // A will has no packet id: it is not a resend of anything.
      if (packet.qos === 0 || typeof id !== 'number') this.#accept(client, packet, done);
      else if (packet.qos === 1) this.#acceptQos1(client, packet, id, done);
      else this.#acceptQos2(client, packet, id, done);
    };

    // A PUBREL releases a QoS 2 packet id: Aedes deletes its stored copy (only then).
    const persistence = (aedes as unknown as { persistence: IncomingStore }).persistence;
    const release = persistence.incomingDelPacket.bind(persistence);
    persistence.incomingDelPacket = (client, packet) => {
      this.#awaiting.get(client as Client)?.delete(packet.messageId);
      return release(client, packet);
    };

    aedes.on('client', (c) => {
      // Authenticated: larger packets may follow.
      this.#framers.get(c)?.accept();
      // The session's filters are those Aedes holds for it now: a returning persistent
      // session's restored ones, none for a new or clean one (which ends the session a
      // client id had before, and with it that session's filters).
      this.#dropFilters(c.id);
      const subs = Object.keys((c as unknown as { subscriptions: Record<string, unknown> }).subscriptions);
      if (subs.length > 0) this.#noteFilters(c.id, subs);
      this.#recent.touch(c.id);
      opts.onClientConnect?.(c.id);
    });
    aedes.on('subscribe', (subs, c) =>
      this.#noteFilters(
        c.id,
        subs.map((x) => x.topic),
      ),
    );
    aedes.on('unsubscribe', (topics, c) => this.#dropFilters(c.id, topics));
    // _disconnected is set only by a DISCONNECT packet: the same test Aedes uses to
    // decide whether to publish a client's will [MQTT-3.1.2-8].
    aedes.on('clientDisconnect', (c) => {
      this.#waiting.delete(c);
      // A persistent session keeps its subscriptions while its client is away: Aedes
      // queues QoS 1 publishes for it, so they are still routed.
      if ((c as unknown as { clean?: boolean }).clean !== false) this.#dropFilters(c.id);
      opts.onClientDisconnect?.(c.id, (c as unknown as { _disconnected?: boolean })._disconnected === true);
    });
    aedes.on('clientError', (c, err) => log.debug({ clientId: c.id, err: err.message }, 'client error'));
    aedes.on('connectionError', (c, err) =>
      log.debug({ clientId: c?.id, err: err.message }, 'connection error'),
    );

    // Devices' publishes that no subscription matches are not routed (#mustRoute):
    // the hub has consumed them in authorizePublish already.
    // (Aedes calls publish(packet, client, done) for a client's publish; its typings
    // know only the programmatic publish(packet, done).)
    type Publish = (packet: AedesPublishPacket, client: unknown, done?: (err?: Error) => void) => void;
    const route = (aedes.publish as unknown as Publish).bind(aedes);
    const publish: Publish = (packet, client, done) => {
      if (client && typeof client === 'object' && !this.#mustRoute(packet.topic, packet.retain)) {
        done?.();
        return;
      }
      route(packet, client, done);
    };
    aedes.publish = publish as unknown as typeof aedes.publish;

    const server = createServer((conn) => {
      const client = aedes.handle(conn, undefined as never) as unknown as Client;
      this.#frame(client);
    });
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new HubError(
                'HUB_PORT_IN_USE',
                `MQTT port ${opts.host}:${opts.port} is in use (set mqtt.port or HUB_MQTT_PORT)`,
              )
            : err,
        );
      });
      server.listen(opts.port, opts.host, () => resolve());
    });
    const addr = server.address();
    this.#port = typeof addr === 'object' && addr ? addr.port : opts.port;
    log.info({ host: opts.host, port: this.#port }, 'MQTT broker listening');
  }

  /** Publishes on behalf of the hub (no authorization, no ingest). */
  publish(topic: string, payload: string | Buffer, retain = false, qos: 0 | 1 = 0): Promise<void> {
    const aedes = this.#aedes;
    if (!aedes || aedes.closed) return Promise.resolve();
    const packet = {
      cmd: 'publish' as const,
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos,
      retain,
      dup: false,
    };
    return new Promise((resolve) => aedes.publish(packet as unknown as AedesPublishPacket, () => resolve()));
  }

  /** Stops accepting connections, then disconnects every client. */
  async stop(): Promise<void> {
    const server = this.#server;
    const aedes = this.#aedes;
    this.#server = undefined;
    this.#aedes = undefined;
    // server.close() only resolves once every connection ended, and aedes.close() ends them.
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
    await closed;
  }
}

/** Aedes's store of received QoS 2 publishes (aedes-persistence), as the broker uses it. */
interface IncomingStore {
  incomingGetPacket(client: unknown, packet: { messageId?: number }): Promise<unknown>;
  incomingDelPacket(client: unknown, packet: { messageId: number }): Promise<void>;
}

/** The parts of an Aedes client that flow control uses (not in its typings). */
interface Pausable {
  pause(): void;
  resume(): void;
  _parsingBatch: number;
}

/** The parts of an Aedes client that the framing uses (not in its typings). */
interface AedesInternals {
  conn: { destroyed: boolean; destroy(): void; end(data: Buffer): void };
  _parser: { parse(buf: Buffer): number };
  _keepaliveInterval: number;
  _keepaliveTimer: NodeJS.Timeout | null;
}

/** True when a filter can match some topic that starts with the levels of `prefix`. */
function filterCouldMatch(filter: readonly string[], prefix: readonly string[]): boolean {
  for (let i = 0; i < prefix.length; i++) {
    const f = filter[i];
    if (f === '#') return true;
    if (f === undefined) return false;
    if (f !== '+' && f !== prefix[i]) return false;
  }
  return true;
}
