import { isUtf8 } from 'node:buffer';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { RawMessage } from '../core/raw-message.js';
import { ClientRate, GatedReader, type RateLimits } from '../security/flood.js';
import type { BrokerAccess, ConnectionInfo, Principal } from './access.js';
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
  dropPublish,
  fitsClient,
  handleConnection,
  interceptParser,
  interceptRouting,
  isCleanSession,
  maxTopicLevels,
  onBrokerError,
  onIncomingReleased,
  onSessionEnded,
  PROTO_FILTER_STANDIN,
  type PublishPacket,
  protocolLevel,
  publishAsBroker,
  publishProperties,
  refusePublish,
  registerTopicAlias,
  sentDisconnect,
  sessionFilters,
  storedIncoming,
} from './aedes-internals.js';
import { CommitAcks } from './commit-acks.js';
import { FlowControl } from './flow-control.js';
import { PublishFramer, type WireViolation } from './framing.js';
import { type ListenerSpec, type OpenListener, openListener } from './listeners.js';
import { fingerprint, RecentPublishes } from './resends.js';
import { RetainedCap } from './retained-cap.js';
import { SubscriptionIndex } from './subscriptions.js';

export interface BrokerOptions {
  host: string;
  port: number;
  users: ReadonlyArray<{ username: string; password: string }>;
  /** Every listener (mqtt.listeners); default: one plain listener on host:port. */
  listeners?: readonly ListenerSpec[];
  /** Users, anonymous access and the ACL (hub/security); when given, `users` is not read. */
  access?: BrokerAccess;
  /** Flood limits (mqtt.limits): connections at once, and each client's rates as backpressure. */
  limits?: RateLimits & { maxConnections: number };
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
  /**
   * MQTT 5 Receive Maximum: QoS 1 and 2 publishes of one MQTT 5 connection not yet
   * acknowledged (QoS 2: until PUBREL); one more gets DISCONNECT 0x93.
   */
  receiveMaximum?: number;
  /** MQTT 5: the longest Session Expiry Interval granted, in seconds (mqtt.maxSessionExpirySeconds). */
  maxSessionExpirySeconds?: number;
  /** True while storage refuses new readings (the spool is full): MQTT 5 QoS 1/2 publishes get 0x97. */
  storeFull?(): boolean;
  /** A connection closed for breaking the protocol or a cap, by reason (counted in /metrics). */
  onRefused?(reason: WireViolation | BrokerRefusal): void;
  /** A publish refused while its connection stays (MQTT 5), or before it is closed (3.1.1 reserved topic), by reason. */
  onPublishRefused?(reason: PublishRefusal): void;
  /**
   * A publish under a topic reserved for the hub, refused before ingest: handed over for
   * the quarantine (reason reserved_topic), never for the pipeline.
   */
  onReservedPublish?(msg: RawMessage): void;
  /** A resend acknowledged without being ingested again. */
  onDuplicate?(qos: 1 | 2): void;
  /** A retained publish not retained because mqtt.maxRetained topics are retained already. */
  onRetainedRefused?(): void;
}

/** Default of mqtt.maxAwaitingPubrel: EMQX's max_awaiting_rel; Aedes's own default is 1000. */
export const MAX_AWAITING_PUBREL = 100;

/** Default of mqtt.receiveMaximum: as many as maxAwaitingPubrel, QoS 1 and 2 together. */
export const RECEIVE_MAXIMUM = 100;

/**
 * Default of mqtt.maxSessionExpirySeconds: a day. A persistent session holds its
 * subscriptions and queued QoS 1 messages while its client is away; a device that is off
 * for longer than a day comes back to a new session (and resubscribes), while a session
 * of a client id that never returns does not hold memory for ever.
 */
export const MAX_SESSION_EXPIRY_S = 86_400;

/** MQTT 5 Topic Alias Maximum the hub grants: Mosquitto's default (max_topic_alias 10). */
export const TOPIC_ALIAS_MAXIMUM = 10;

/** Sessions waiting to expire (and delayed wills) held at once; past it a leaving session ends at once. */
const PENDING_SESSIONS = 10_000;

/** MQTT 5 reason codes the broker sends itself [MQTT-2.4]. */
export const REASON = {
  NOT_AUTHORIZED: 0x87,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  QUOTA_EXCEEDED: 0x97,
  PAYLOAD_FORMAT_INVALID: 0x99,
} as const;

/** Why the broker closed a connection, beside wire violations. */
export type BrokerRefusal = 'too_many_awaiting_pubrel' | 'receive_maximum' | 'reserved_topic';

/**
 * Why the broker refused one publish: a topic reserved for the hub (0x87), storage full
 * (0x97), a payload that breaks its Payload Format Indicator (0x99).
 */
export type PublishRefusal = 'reserved_topic' | 'quota_exceeded' | 'payload_format';

/** Topics only the hub itself may publish: a device must not spoof readings or states. */
const RESERVED = /^(hub|\$SYS)\//;

/**
 * Why a device may not publish to `topic`, or undefined. The one rule of
 * authorizePublish: framed publishes (#fastPublish) that it would refuse go to it.
 */
function refused(topic: string): string | undefined {
  return RESERVED.test(topic) ? `${topic}: reserved for the hub` : undefined;
}

/** A client's publish as the hub takes it, with the MQTT 5 properties decoders read. */
function rawMessage(client: Client, topic: string, payload: Buffer, packet?: PublishPacket): RawMessage {
  const msg: RawMessage = { topic, payload, receivedAt: Date.now(), source: 'mqtt', clientId: client.id };
  const props = packet && publishProperties(packet);
  if (props) {
    const { userProperties, contentType, payloadFormatIndicator, messageExpiryInterval } = props;
    msg.mqtt = { userProperties, contentType, payloadFormatIndicator, messageExpiryInterval };
  }
  return msg;
}

/**
 * The embedded MQTT broker: lifecycle, authentication and authorization, and the wiring
 * of the framing (framing.ts), flow control (flow-control.ts) and the subscription index
 * (subscriptions.ts) onto Aedes (through aedes-internals.ts). Readings are consumed in
 * process, in the publish path (authorizePublish), never through a socket subscriber: a
 * slow socket subscriber makes plain Aedes fall over under load.
 */
export class Broker {
  #aedes: Aedes | undefined;
  #listeners: OpenListener[] = [];
  #port = 0;
  /** Each connection's reader, the handle flow control and the rate limit pause and resume. */
  readonly #readers = new WeakMap<Client, GatedReader>();
  readonly #flow = new FlowControl<GatedReader>(() => this.#connectedReaders());
  /** What the listener knew of each connection, and who it signed in as. */
  readonly #conns = new WeakMap<Duplex, ConnectionInfo>();
  readonly #principals = new WeakMap<Client, Principal>();
  readonly #rates = new WeakMap<Client, ClientRate>();
  #open = 0;
  readonly #subs = new SubscriptionIndex();
  readonly #acks: CommitAcks;
  /** Aedes refuses a publish with more topic levels (its maxTopicLevels, read at start). */
  #maxTopicLevels = 100;
  /** Each connection's framing, told when its CONNECT is accepted. */
  readonly #framers = new WeakMap<Client, PublishFramer>();
  /** Per connection: QoS 2 packet ids ingested and not yet released by PUBREL, each with its outcome. */
  readonly #awaiting = new WeakMap<Client, Map<number, Promise<Error | null>>>();
  readonly #recent = new RecentPublishes();
  readonly #retained: RetainedCap;
  /** Per MQTT 5 connection: QoS 1 publishes taken and not acknowledged yet. */
  readonly #unacked = new WeakMap<Client, number>();

  constructor(private readonly opts: BrokerOptions) {
    this.#acks = new CommitAcks(opts.log);
    this.#retained = new RetainedCap(opts.log, opts.maxRetained, () => opts.onRetainedRefused?.());
  }

  get port(): number {
    return this.#port;
  }

  /** The listeners open now, with their ports. */
  get listeners(): ReadonlyArray<{ protocol: string; host: string; port: number }> {
    return this.#listeners.map(({ protocol, host, port }) => ({ protocol, host, port }));
  }

  get connectedClients(): number {
    return this.#aedes?.connectedClients ?? 0;
  }

  /** Whether a client with this id is connected now. */
  hasClient(clientId: string): boolean {
    const aedes = this.#aedes;
    return aedes !== undefined && connectedClients(aedes)[clientId] !== undefined;
  }

  /**
   * Whether any connected client (or persistent session) subscribed to a filter that can
   * match a topic under `prefix` (e.g. "hub/readings"): the hub skips building what
   * nobody receives. One lookup.
   */
  hasListeners(prefix: string): boolean {
    return this.#subs.hasListeners(prefix);
  }

  *#connectedReaders(): Generator<GatedReader> {
    const aedes = this.#aedes;
    if (!aedes) return;
    const clients = connectedClients(aedes);
    for (const id in clients) {
      const reader = this.#readers.get(clients[id]!);
      if (reader) yield reader;
    }
  }

  /**
   * Hands a device's publish to the hub. For QoS 0, a returned promise means the hub
   * is behind (see SpoolSink.waitFor): the caller holds the connection, not the
   * message (flow-control.ts says why).
   */
  #ingest(
    client: Client,
    topic: string,
    payload: Buffer,
    qos: 0 | 1 | 2,
    packet?: PublishPacket,
  ): void | Promise<void> {
    const msg = rawMessage(client, topic, payload, packet);
    try {
      return this.opts.onMessage(msg, qos);
    } catch (err) {
      this.opts.log.error({ err, topic }, 'ingest failed');
    }
  }

  /**
   * A publish under a topic reserved for the hub: counted, and quarantined with its
   * client id (the quarantine logs it as a warning, at a bounded rate). 3.1.1 then closes
   * the connection (section 3.3.5 allows no other answer); MQTT 5 answers 0x87 at QoS 1
   * and 2 and keeps the connection. A v5 QoS 0 publish has no acknowledgement to carry a
   * reason, and the connection stays too: a DISCONNECT 0x87 would make a client that
   * reconnects at once (Home Assistant, Zigbee2MQTT) loop through connect and refusal.
   */
  #reserved(client: Client, packet: PublishPacket, refusal: string): Error {
    const { opts } = this;
    opts.onPublishRefused?.('reserved_topic');
    if (protocolLevel(client) !== 5) opts.onRefused?.('reserved_topic');
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    try {
      opts.onReservedPublish?.(rawMessage(client, packet.topic, payload, packet));
    } catch (err) {
      opts.log.error({ err, topic: packet.topic.slice(0, 128) }, 'quarantine of a reserved publish failed');
    }
    return new Error(refusal);
  }

  /**
   * Puts the hub's framing (framing.ts) in front of a new connection's parser: the QoS 0
   * publishes of a connected client that need no routing are ingested straight from the
   * socket's bytes; every other packet reaches Aedes as before.
   */
  #frame(client: Client): void {
    const reader = new GatedReader(new ClientReader(client));
    this.#readers.set(client, reader);
    const limits = this.opts.limits;
    const rate =
      limits && (limits.messagesPerSecond > 0 || limits.bytesPerSecond > 0)
        ? new ClientRate(reader, limits, () =>
            this.opts.access?.denied('rate_limited', { clientId: client.id }),
          )
        : undefined;
    if (rate) this.#rates.set(client, rate);
    let parse: (bytes: Buffer) => void = () => undefined;
    const framer = new PublishFramer(
      {
        fast: (topic, payload) => this.#fastPublish(client, reader, topic, payload),
        aliased: (alias, topic) => registerTopicAlias(client, alias, topic),
        slow: (bytes) => parse(bytes),
        refuse: (reason, detail, reply) => this.#refuse(client, reason, detail, reply),
      },
      { maxPacket: this.opts.maxPacketBytes ?? 256 * 1024, topicAliasMaximum: TOPIC_ALIAS_MAXIMUM },
    );
    this.#framers.set(client, framer);
    parse = interceptParser(
      client,
      rate
        ? (buf) => {
            framer.feed(buf);
            rate.bytes(buf.length);
          }
        : (buf) => framer.feed(buf),
    );
  }

  /** Closes a connection that broke the protocol or a cap [MQTT 3.1.1 section 4.8]. */
  #refuse(client: Client, reason: WireViolation, detail: string, reply?: Buffer): void {
    this.opts.onRefused?.(reason);
    this.opts.log.debug({ clientId: client.id, reason, detail }, 'connection closed: protocol violation');
    // The answer first (a CONNACK refusal), then the connection ends.
    closeConnection(client, reply);
  }

  /**
   * A framed QoS 0 publish. Declined (false), it goes through Aedes, which decides:
   * before CONNACK, after a DISCONNECT, a topic Aedes rejects or the hub reserves, or
   * one that must be routed to subscribers.
   */
  #fastPublish(client: Client, reader: GatedReader, topic: string, payload: Buffer): boolean {
    if (!client.connected || client.closed || connectionGone(client)) return false;
    const c0 = topic.charCodeAt(0);
    if (c0 === 36 /* $ */ || topic.includes('+') || topic.includes('#')) return false;
    // What authorizePublish refuses is left to it, so both ways apply one rule.
    if (refused(topic) || this.#denied(client, topic)) return false;
    this.#rates.get(client)?.message();
    // More than Aedes's maximum of topic levels needs at least as many characters.
    const maxLevels = this.#maxTopicLevels;
    if (topic.length >= maxLevels && topic.split('/').length > maxLevels) return false;
    if (this.#subs.mustRoute(topic, false)) return false;
    const pending = this.#ingest(client, topic, payload, 0);
    if (pending) this.#flow.hold(reader, pending);
    else if (this.#flow.overSlice()) this.#flow.yieldAll();
    return true;
  }

  /** Why the ACL refuses `client` publishing to `topic`, or undefined. */
  #denied(client: Client, topic: string): string | undefined {
    const access = this.opts.access;
    if (!access) return undefined;
    const who = this.#principals.get(client);
    return who ? access.publish(who, topic) : 'not_signed_in';
  }

  /**
   * What only MQTT 5 can say about a QoS 1 or 2 publish before it is taken: over the
   * Receive Maximum (DISCONNECT 0x93), storage full (0x97: the device keeps it and
   * retries, no connection held), a payload that breaks its own Payload Format Indicator
   * (0x99). False: answered here, Aedes drops it.
   */
  #admit5(client: Client, packet: PublishPacket): boolean {
    const { opts } = this;
    const max = opts.receiveMaximum ?? RECEIVE_MAXIMUM;
    const unacked = (this.#unacked.get(client) ?? 0) + (this.#awaiting.get(client)?.size ?? 0);
    if (unacked >= max && !this.#awaiting.get(client)?.has(packet.messageId!)) {
      opts.onRefused?.('receive_maximum');
      dropPublish(packet);
      disconnectWith(client, REASON.RECEIVE_MAXIMUM_EXCEEDED);
      return false;
    }
    if (opts.storeFull?.()) {
      opts.onPublishRefused?.('quota_exceeded');
      refusePublish(client, packet, REASON.QUOTA_EXCEEDED, 'storage is full: retry later');
      return false;
    }
    const props = publishProperties(packet);
    if (props?.payloadFormatIndicator === true) {
      const payload = packet.payload;
      if (Buffer.isBuffer(payload) && !isUtf8(payload)) {
        opts.onPublishRefused?.('payload_format');
        refusePublish(
          client,
          packet,
          REASON.PAYLOAD_FORMAT_INVALID,
          'payload format indicator says UTF-8; the payload is not [MQTT-3.3.2-4]',
        );
        return false;
      }
    }
    if (packet.qos === 1) this.#unacked.set(client, (this.#unacked.get(client) ?? 0) + 1);
    return true;
  }

  /** Ingests a client's publish and calls done when it may be acknowledged. */
  #accept(client: Client, packet: PublishPacket, done: (err: Error | null) => void): void {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    const pending = this.#ingest(client, packet.topic, payload, packet.qos, packet);
    if (pending && packet.qos === 0) {
      // Paused before done(): done() of the last packet of a read would read the next one.
      const reader = this.#readers.get(client);
      if (reader) this.#flow.hold(reader, pending);
      done(null);
      return;
    }
    if (!pending && packet.qos === 0 && this.#flow.overSlice()) {
      // Fairness (flow-control.ts): after SLICE_MS of ingest, no client is read again
      // before a later turn of the event loop.
      this.#flow.yieldAll();
      done(null);
      return;
    }
    if (pending) this.#acks.after(pending, done);
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
    const counted = protocolLevel(client) === 5;
    const settle = (err: Error | null) => {
      if (counted) this.#unacked.set(client, (this.#unacked.get(client) ?? 1) - 1);
      done(err);
    };
    if (packet.dup && this.#recent.has(client.id, id, print)) {
      this.opts.onDuplicate?.(1);
      settle(null);
      return;
    }
    this.#accept(client, packet, (err) => {
      if (!err) this.#recent.remember(client.id, id, print);
      settle(err);
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
      if (protocolLevel(client) === 5) {
        // MQTT 5 can say why [MQTT-3.3.4-9].
        dropPublish(packet);
        disconnectWith(client, REASON.RECEIVE_MAXIMUM_EXCEEDED);
        done(null);
        return;
      }
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
    const aedes = this.#aedes;
    if (!aedes || isCleanSession(client)) {
      take();
      return;
    }
    storedIncoming(aedes, client, packet).then(() => {
      this.opts.onDuplicate?.(2);
      settle(null);
      done(null);
    }, take);
  }

  async start(): Promise<void> {
    const { opts } = this;
    const log = opts.log;
    const aedes = await createAedes({
      // Idle clients are dropped after 1.5x their keepalive [MQTT-3.1.2-24]; no broker heartbeat topic needed.
      heartbeatInterval: 60_000,
      connectTimeout: 10_000,
      drainTimeout: 10_000,
      // The hub's cap, so Aedes's own bound of its store of received QoS 2 publishes agrees.
      maxInflightInbound: opts.maxAwaitingPubrel ?? MAX_AWAITING_PUBREL,
      // MQTT 5 CONNACK: what the hub enforces (the framing refuses larger packets first).
      maximumPacketSize: opts.maxPacketBytes ?? 256 * 1024,
      receiveMaximum: opts.receiveMaximum ?? RECEIVE_MAXIMUM,
      topicAliasMaximum: TOPIC_ALIAS_MAXIMUM,
      sessionExpiryIntervalLimit: opts.maxSessionExpirySeconds ?? MAX_SESSION_EXPIRY_S,
      pendingSessionsLimit: PENDING_SESSIONS,
    });
    this.#aedes = aedes;
    this.#maxTopicLevels = maxTopicLevels(aedes);

    const access = opts.access;
    if (access) {
      aedes.authenticate = (client, username, password, done) => {
        const info = this.#conns.get(client.conn) ?? {
          protocol: 'mqtt' as const,
          remoteAddress: undefined,
          certUser: undefined,
        };
        access.signIn(info, client.id, username, password ?? undefined).then(
          (r) => {
            if (r.ok) {
              this.#principals.set(client, { user: r.user, clientId: client.id });
              return done(null, true);
            }
            const err = Object.assign(
              new Error(r.returnCode === 4 ? 'bad username or password' : 'not authorized'),
              {
                returnCode: r.returnCode,
              },
            );
            done(err, null);
          },
          (err: unknown) => {
            log.error({ err: (err as Error).message }, 'sign-in failed');
            done(Object.assign(new Error('server unavailable'), { returnCode: 3 as const }), null);
          },
        );
      };
    } else if (opts.users.length > 0) {
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
      clearWillDelay(packet);
      // MQTT 5: refused with PUBACK/PUBREC 0x87, the connection stays; 3.1.1: closed.
      const refusal = refused(packet.topic);
      if (refusal) return done(this.#reserved(client, packet, refusal));
      const denial = this.#denied(client, packet.topic);
      if (denial) {
        access?.denied(denial, { clientId: client.id, topic: packet.topic, qos: packet.qos });
        // QoS 0 has no answer: dropped, the connection stays (as Mosquitto does). QoS 1
        // and 2: MQTT 5 gets PUBACK/PUBREC 0x87, 3.1.1 is disconnected [MQTT-3.3.5-2].
        if (packet.qos === 0) {
          dropPublish(packet);
          return done(null);
        }
        return done(new Error(`${packet.topic}: not allowed (${denial})`));
      }
      if (packet.qos > 0) this.#rates.get(client)?.message();
      const id = packet.messageId;
      if (
        protocolLevel(client) === 5 &&
        packet.qos > 0 &&
        typeof id === 'number' &&
        !this.#admit5(client, packet)
      )
        return done(null);
      if (packet.retain && !this.#retained.admit(client.id, packet.topic, packet.payload))
        packet.retain = false;
      // A will has no packet id: it is not a resend of anything.
      if (packet.qos === 0 || typeof id !== 'number') this.#accept(client, packet, done);
      else if (packet.qos === 1) this.#acceptQos1(client, packet, id, done);
      else this.#acceptQos2(client, packet, id, done);
    };
    // A message larger than the Maximum Packet Size an MQTT 5 client asked for is not
    // sent to it [MQTT-3.1.2-25].
    aedes.authorizeForward = (client, packet) => (fitsClient(client, packet) ? packet : null);

    // A PUBREL releases a QoS 2 packet id: Aedes deletes its stored copy (only then).
    onIncomingReleased(aedes, (client, messageId) => this.#awaiting.get(client)?.delete(messageId));

    aedes.on('client', (c) => {
      // Authenticated: larger packets may follow.
      this.#framers.get(c)?.accept();
      this.#subs.connected(c.id, sessionFilters(c));
      this.#recent.touch(c.id);
      opts.onClientConnect?.(c.id);
    });
    aedes.authorizeSubscribe = (client, sub, done) => {
      if (sub.topic === PROTO_FILTER_STANDIN) return done(null, null);
      if (access) {
        const who = this.#principals.get(client);
        const why = who ? access.subscribe(who, sub.topic) : 'not_signed_in';
        if (why) {
          access.denied(why, { clientId: client.id, filter: sub.topic });
          // SUBACK 0x80 (MQTT 5: 0x87) for this filter; the others of the packet stand.
          return done(null, null);
        }
      }
      done(null, sub);
    };
    // Only granted filters deliver (a SUBACK code of 0x80 or more is a refusal).
    aedes.on('subscribe', (subs, c) =>
      this.#subs.add(
        c.id,
        subs.filter((x) => x.qos < 0x80).map((x) => x.topic),
      ),
    );
    aedes.on('unsubscribe', (topics, c) => this.#subs.remove(c.id, topics));
    aedes.on('clientDisconnect', (c) => {
      const reader = this.#readers.get(c);
      if (reader) this.#flow.forget(reader);
      this.#rates.get(c)?.stop();
      this.#subs.disconnected(c.id, isCleanSession(c));
      opts.onClientDisconnect?.(c.id, sentDisconnect(c));
    });
    onSessionEnded(aedes, (c) => this.#subs.remove(c.id));
    // Aedes reports its persistence failures here (ending a session, say); without a
    // listener an 'error' event would end the process.
    onBrokerError(aedes, (err) => log.error({ err: err.message }, 'broker error'));
    aedes.on('clientError', (c, err) => log.debug({ clientId: c.id, err: err.message }, 'client error'));
    aedes.on('connectionError', (c, err) =>
      log.debug({ clientId: c?.id, err: err.message }, 'connection error'),
    );

    // Devices' publishes that no subscription matches are not routed: the hub has
    // consumed them in authorizePublish already.
    interceptRouting(aedes, (topic, retain) => this.#subs.mustRoute(topic, retain));

    const specs = opts.listeners ?? [{ protocol: 'mqtt' as const, host: opts.host, port: opts.port }];
    const maxConnections = opts.limits?.maxConnections ?? Number.POSITIVE_INFINITY;
    const onConnection = (stream: Duplex, info: ConnectionInfo) => {
      if (this.#open >= maxConnections) {
        access?.denied('max_connections', { remote: info.remoteAddress, listener: info.protocol });
        stream.destroy();
        return;
      }
      this.#open++;
      stream.once('close', () => this.#open--);
      this.#conns.set(stream, info);
      this.#frame(handleConnection(aedes, stream));
    };
    try {
      for (const spec of specs) this.#listeners.push(await openListener(spec, onConnection));
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#port = this.#listeners[0]?.port ?? 0;
    for (const l of this.#listeners)
      log.info({ protocol: l.protocol, host: l.host, port: l.port }, 'MQTT broker listening');
  }

  /** Publishes on behalf of the hub (no authorization, no ingest). */
  publish(topic: string, payload: string | Buffer, retain = false, qos: 0 | 1 = 0): Promise<void> {
    const aedes = this.#aedes;
    if (!aedes || aedes.closed) return Promise.resolve();
    const packet = {
      topic,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
      qos,
      retain,
    };
    return new Promise((resolve) => publishAsBroker(aedes, packet, resolve));
  }

  /** Stops accepting connections, then disconnects every client. */
  async stop(): Promise<void> {
    const listeners = this.#listeners;
    const aedes = this.#aedes;
    this.#listeners = [];
    this.#aedes = undefined;
    // A listener's close() only resolves once every connection ended, and aedes.close() ends them.
    const closed = Promise.all(listeners.map((l) => l.close()));
    if (aedes) await new Promise<void>((r) => aedes.close(() => r()));
    await closed;
  }
}
