/**
 * MQTT 3.1.1 and 5 framing for the ingest hot path, and the protocols' checks. Every byte a
 * client sends passes through here before the broker's own parser (mqtt-packet, inside
 * Aedes). A QoS 0 PUBLISH that is not retained, the one packet a sensor sends thousands
 * of times a second, is framed here and offered to `fast`; every other packet (CONNECT,
 * SUBSCRIBE, PINGREQ, QoS 1 and 2, retained, large ones, and any publish `fast`
 * declines) goes to `slow` whole and in order.
 *
 * Why by hand: per message, the general parser allocates a packet object, a buffer
 * list and a chain of callbacks, and Aedes runs its publish series; that was half of
 * the hub's CPU per message.
 *
 * Why the checks are here: this is the first code that sees a packet's fixed header,
 * so a packet over the size cap is refused before its body is buffered, and what MQTT
 * 3.1.1 forbids is refused before Aedes (or the hub's ingest) acts on any of it.
 * Each refusal closes the connection, as section 4.8 says of a protocol violation (for
 * an MQTT 5 client after a DISCONNECT or CONNACK with the reason code, section 4.13);
 * nothing after the offending packet is passed on.
 *
 * MQTT 5 (protocol level 5, told by the CONNECT) puts a properties block in CONNECT,
 * the will, PUBLISH (between topic or packet id and payload), SUBSCRIBE, UNSUBSCRIBE,
 * the acknowledgements and DISCONNECT. A QoS 0 PUBLISH with no properties, or only a
 * Topic Alias, takes the fast path like a 3.1.1 one; the framer keeps the connection's
 * aliases, as Aedes does for the publishes it handles.
 */
import { isUtf8 } from 'node:buffer';
import { scanned, scanProperties } from './properties.js';

/** Larger publishes go the general way (the fast path is for small sensor messages). */
export const MAX_FAST_PACKET = 64 * 1024;

/** The largest packet MQTT 3.1.1 can express: a 4-byte remaining length [MQTT-2.2.3]. */
export const PROTOCOL_MAX_PACKET = 1 + 4 + 268_435_455;

/**
 * Cap of every packet until the CONNECT is accepted (authenticated). A CONNECT carries a
 * client id, a will, a username and a password: 16 KiB holds a JWT or certificate-sized
 * password and a status will with room to spare, and bounds what an unauthenticated
 * connection can make the hub buffer (Aedes also queues up to 42 packets sent before
 * CONNACK, each at most this large).
 */
export const MAX_PACKET_BEFORE_CONNACK = 16 * 1024;

/** Why a connection was closed; the clause of MQTT 3.1.1 it breaks is in the detail. */
export type WireViolation =
  | 'packet_too_large'
  | 'malformed_length'
  | 'malformed_packet'
  | 'reserved_flags'
  | 'reserved_type'
  | 'qos_3'
  | 'packet_id_0'
  | 'invalid_utf8'
  | 'null_character'
  | 'not_connect_first'
  | 'second_connect'
  | 'bad_protocol_name'
  | 'unacceptable_protocol_level'
  | 'identifier_rejected';

export interface FramerSink {
  /** A QoS 0, non-retained PUBLISH; false hands the packet to `slow` instead. */
  fast(topic: string, payload: Buffer): boolean;
  /**
   * A fast publish set Topic Alias `alias` to `topic` (MQTT 5): the broker, which did
   * not see that packet, must know the alias for the packets it handles.
   */
  aliased?(alias: number, topic: string): void;
  /** Whole packets for the broker's parser. */
  slow(bytes: Buffer): void;
  /**
   * A protocol violation: the connection must be closed. `reply` (a CONNACK with a
   * refusal code) is to be written first, where MQTT asks for one. Nothing more is passed.
   */
  refuse(reason: WireViolation, detail: string, reply?: Buffer): void;
}

export interface FramerLimits {
  /** Cap of a whole packet (fixed header included) once the CONNECT is accepted. */
  maxPacket: number;
  /** Cap before that (MAX_PACKET_BEFORE_CONNACK, or maxPacket if smaller). */
  maxPacketBeforeConnack?: number;
  /** Highest Topic Alias an MQTT 5 client may use (the broker's Topic Alias Maximum); 0: none. */
  topicAliasMaximum?: number;
}

/** MQTT 5 reason codes the framer answers with [MQTT-2.4]. */
export const REASON = {
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  PACKET_TOO_LARGE: 0x95,
} as const;

/** The MQTT 5 reason code for a violation: DISCONNECT (or CONNACK) carries it. */
export function reasonCode(reason: WireViolation): number {
  switch (reason) {
    case 'packet_too_large':
      return REASON.PACKET_TOO_LARGE;
    case 'malformed_length':
    case 'malformed_packet':
    case 'invalid_utf8':
    case 'null_character':
      return REASON.MALFORMED_PACKET;
    default:
      return REASON.PROTOCOL_ERROR;
  }
}

// Packet types (MQTT 3.1.1 section 2.2.1).
const CONNECT = 1;
const PUBLISH = 3;
const SUBSCRIBE = 8;
const UNSUBSCRIBE = 10;
const PINGREQ = 12;
const DISCONNECT = 14;

/**
 * Required fixed-header flags by packet type [MQTT-2.2.2-1]; -1: any (PUBLISH), -2: a
 * packet only a server sends, or a reserved type.
 */
const FLAGS = [-2, 0, -2, -1, 0, 0, 2, 0, 2, -2, 2, -2, 0, -2, 0, -2];

/** CONNACK refusals (return codes 1 and 2), each followed by closing [MQTT-3.2.2-5]. */
const CONNACK_UNACCEPTABLE_PROTOCOL = Buffer.from([0x20, 0x02, 0x00, 0x01]);
const CONNACK_IDENTIFIER_REJECTED = Buffer.from([0x20, 0x02, 0x00, 0x02]);

export class PublishFramer {
  /** A packet not complete yet: its bytes so far (a short header, or `#need` bytes in all). */
  #pending: Buffer | undefined;
  #have = 0;
  /** Whole size of the pending packet; 0 while its fixed header is incomplete. */
  #need = 0;
  /** Refused, or after a DISCONNECT: nothing more is passed on. */
  #done = false;
  /** A CONNECT was passed on (then no other may follow) [MQTT-3.1.0-1, -2]. */
  #connected = false;
  #limit: number;
  readonly #maxPacket: number;
  /** Protocol level of the CONNECT passed on (5: MQTT 5 framing), 0 before. */
  #level = 0;
  /** The CONNECT was accepted (an MQTT 5 refusal is then a DISCONNECT, not a CONNACK). */
  #accepted = false;
  readonly #aliasMax: number;
  /** MQTT 5 Topic Aliases of the connection, made on first use. */
  #aliases: Map<number, string> | undefined;
  #busy = false;
  /** Chunks fed while a chunk was being handled (the broker's parser can read on synchronously). */
  readonly #later: Buffer[] = [];

  constructor(
    private readonly sink: FramerSink,
    limits: FramerLimits = { maxPacket: PROTOCOL_MAX_PACKET },
  ) {
    this.#maxPacket = limits.maxPacket;
    this.#limit = Math.min(limits.maxPacketBeforeConnack ?? MAX_PACKET_BEFORE_CONNACK, limits.maxPacket);
    this.#aliasMax = limits.topicAliasMaximum ?? 0;
  }

  /** The CONNECT was accepted: from now on packets up to maxPacket are read. */
  accept(): void {
    this.#limit = this.#maxPacket;
    this.#accepted = true;
  }

  /** True once a violation was refused or a DISCONNECT passed: the rest is dropped. */
  get done(): boolean {
    return this.#done;
  }

  feed(chunk: Buffer): void {
    if (this.#busy) {
      this.#later.push(chunk);
      return;
    }
    this.#busy = true;
    try {
      this.#handle(chunk);
      while (this.#later.length > 0) this.#handle(this.#later.shift()!);
    } finally {
      this.#busy = false;
    }
  }

  #refuse(reason: WireViolation, detail: string, reply?: Buffer): false {
    this.#done = true;
    this.#pending = undefined;
    this.#later.length = 0;
    if (!reply && this.#level === 5) {
      // MQTT 5 says why: DISCONNECT after CONNACK, a refusing CONNACK before [MQTT-4.13.1-1].
      const code = reasonCode(reason);
      reply = this.#accepted ? Buffer.from([0xe0, 0x01, code]) : Buffer.from([0x20, 0x03, 0x00, code, 0x00]);
    }
    this.sink.refuse(reason, detail, reply);
    return false;
  }

  #handle(chunk: Buffer): void {
    if (this.#done) return;
    let buf = chunk;
    let i = 0;
    if (this.#pending) {
      if (this.#need === 0) {
        // Only a split fixed header (at most 4 bytes) is kept this way.
        buf = Buffer.concat([this.#pending, chunk]);
        this.#pending = undefined;
      } else {
        const n = Math.min(this.#need - this.#have, chunk.length);
        chunk.copy(this.#pending, this.#have, 0, n);
        this.#have += n;
        if (this.#have < this.#need) return;
        const whole = this.#pending;
        this.#pending = undefined;
        this.#need = 0;
        let p = 1;
        while (whole[p++]! & 0x80);
        if (!this.#one(whole, 0, p, whole.length)) return;
        i = n;
      }
    }
    const end = buf.length;
    while (i < end) {
      // Fixed header: type and flags, then the remaining length in 1 to 4 bytes.
      const b0 = buf[i]!;
      let len = 0;
      let mul = 1;
      let p = i + 1;
      let byte = 0x80;
      while (byte & 0x80) {
        if (p >= end) break;
        if (p - i > 4) {
          this.#refuse('malformed_length', 'a fifth remaining-length byte [MQTT-2.2.3]');
          return;
        }
        byte = buf[p++]!;
        len += (byte & 0x7f) * mul;
        mul *= 128;
      }
      if (byte & 0x80) {
        if (p - i > 4) {
          this.#refuse('malformed_length', 'a fifth remaining-length byte [MQTT-2.2.3]');
          return;
        }
        this.#pending = Buffer.from(buf.subarray(i));
        this.#need = 0;
        return;
      }
      const total = p - i + len;
      // Bounds before buffers: refused on the declared length, before its body is read.
      if (total > this.#limit) {
        this.#refuse(
          'packet_too_large',
          `declared packet of ${total} bytes is over the limit of ${this.#limit}${this.#limit < this.#maxPacket ? ' before CONNACK' : ' (mqtt.maxPacketBytes)'}`,
        );
        return;
      }
      // The hot path is a plain QoS 0 PUBLISH after CONNECT; every other header is checked.
      if ((b0 !== 0x30 || !this.#connected) && !this.#header(b0, len)) return;
      const next = i + total;
      if (next > end) {
        const part = Buffer.allocUnsafe(total);
        buf.copy(part, 0, i, end);
        this.#pending = part;
        this.#have = end - i;
        this.#need = total;
        return;
      }
      if (!this.#one(buf, i, p, next)) return;
      i = next;
    }
  }

  /** One whole packet at buf[i, next), its remaining length starting at p: the fast path, or #packet. */
  #one(buf: Buffer, i: number, p: number, next: number): boolean {
    if (buf[i] !== 0x30 || next - i > MAX_FAST_PACKET) return this.#packet(buf, i, next);
    const topicLen = next - p >= 2 ? buf.readUInt16BE(p) : -1;
    const payloadAt = p + 2 + topicLen;
    if (topicLen < 0 || payloadAt > next)
      return this.#refuse('malformed_packet', 'PUBLISH topic longer than the packet [MQTT-3.3.2-1]');
    const topic = buf.toString('utf8', p + 2, payloadAt);
    // toString turns ill-formed UTF-8 into U+FFFD: only then are the bytes checked.
    if (topic.includes('\0') || (topic.includes('\uFFFD') && !isUtf8(buf.subarray(p + 2, payloadAt)))) {
      this.#badString(buf, p + 2, payloadAt, 'PUBLISH topic');
      return false;
    }
    if (this.#level === 5) return this.#one5(buf, i, payloadAt, next, topic);
    if (topicLen === 0 || !this.sink.fast(topic, buf.subarray(payloadAt, next))) {
      this.sink.slow(buf.subarray(i, next));
    }
    return true;
  }

  /**
   * An MQTT 5 QoS 0 PUBLISH whose properties start at `at`. Without properties, or with
   * only a Topic Alias, it may take the fast path; any other property (user properties,
   * content type, expiry, ...) leaves it to the broker, which decodes them.
   */
  #one5(buf: Buffer, i: number, at: number, next: number, topic: string): boolean {
    if (at >= next) return this.#refuse('malformed_packet', 'PUBLISH without its properties length');
    if (buf[at] === 0) {
      if (topic.length === 0 || !this.sink.fast(topic, buf.subarray(at + 1, next)))
        this.sink.slow(buf.subarray(i, next));
      return true;
    }
    if (!scanProperties(buf, at, next)) return this.#refuse('malformed_packet', `PUBLISH ${scanned.problem}`);
    const payloadAt = scanned.end;
    const alias = scanned.topicAlias;
    if (alias === 0 || scanned.count !== 1 || alias > this.#aliasMax) {
      // The broker handles it (an alias out of range: DISCONNECT 0x94 [MQTT-3.3.2-9]).
      this.#noteAlias(alias, topic);
      this.sink.slow(buf.subarray(i, next));
      return true;
    }
    const payload = buf.subarray(payloadAt, next);
    if (topic.length > 0) {
      this.#noteAlias(alias, topic);
      if (this.sink.fast(topic, payload)) this.sink.aliased?.(alias, topic);
      else this.sink.slow(buf.subarray(i, next));
      return true;
    }
    const known = this.#aliases?.get(alias);
    if (known === undefined || !this.sink.fast(known, payload)) this.sink.slow(buf.subarray(i, next));
    return true;
  }

  /** A PUBLISH with a topic and a Topic Alias in range sets the alias [MQTT-3.3.2-12]. */
  #noteAlias(alias: number, topic: string): void {
    if (alias === 0 || alias > this.#aliasMax || topic.length === 0) return;
    if (topic.includes('+') || topic.includes('#')) return;
    this.#aliases ??= new Map();
    this.#aliases.set(alias, topic);
  }

  /** Checks a fixed header (other than a plain QoS 0 PUBLISH after CONNECT). */
  #header(b0: number, len: number): boolean {
    const type = b0 >> 4;
    const flags = b0 & 0x0f;
    const want = FLAGS[type]!;
    if (want === -2) return this.#refuse('reserved_type', `packet type ${type} is not sent by a client`);
    if (want >= 0 && flags !== want)
      return this.#refuse('reserved_flags', `packet type ${type} with flags ${flags} [MQTT-2.2.2-2]`);
    if (type === PUBLISH) {
      const qos = (flags >> 1) & 3;
      if (qos === 3) return this.#refuse('qos_3', 'PUBLISH with QoS 3 [MQTT-3.3.1-4]');
      if (qos === 0 && flags & 0x08) return this.#refuse('reserved_flags', 'DUP set at QoS 0 [MQTT-3.3.1-2]');
    }
    if (!this.#connected && type !== CONNECT)
      return this.#refuse('not_connect_first', `packet type ${type} before CONNECT [MQTT-3.1.0-1]`);
    if (this.#connected && type === CONNECT)
      return this.#refuse('second_connect', 'a second CONNECT [MQTT-3.1.0-2]');
    const v5 = this.#level === 5;
    if ((type === PINGREQ || (type === DISCONNECT && !v5)) && len !== 0)
      return this.#refuse('malformed_packet', `packet type ${type} with a body [MQTT-3.12.1, MQTT-3.14.1]`);
    // PUBACK, PUBREC, PUBREL, PUBCOMP: a packet identifier and nothing else (MQTT 5: a
    // reason code and properties may follow).
    if (type >= 4 && type <= 7 && (v5 ? len < 2 : len !== 2))
      return this.#refuse(
        'malformed_packet',
        `packet type ${type} with a remaining length of ${len}, ${v5 ? 'under' : 'not'} 2`,
      );
    return true;
  }

  /** A whole packet at buf[i, next) whose fixed header passed: checks its content, passes it on. */
  #packet(buf: Buffer, i: number, next: number): boolean {
    const b0 = buf[i]!;
    const type = b0 >> 4;
    let p = i + 1;
    while (buf[p++]! & 0x80);
    if (type === PUBLISH) {
      if (!this.#publish(buf, p, next, (b0 >> 1) & 3)) return false;
    } else if (type === SUBSCRIBE || type === UNSUBSCRIBE) {
      if (!this.#subscribe(buf, p, next, type === SUBSCRIBE)) return false;
    } else if (type === CONNECT) {
      if (!this.#connect(buf, p, next)) return false;
      this.#connected = true;
    } else if (type >= 4 && type <= 7 && next - p > 3) {
      // MQTT 5 acknowledgement with properties after its reason code.
      if (!scanProperties(buf, p + 3, next)) return this.#refuse('malformed_packet', scanned.problem);
    } else if (type === DISCONNECT && next - p > 1) {
      if (!scanProperties(buf, p + 1, next))
        return this.#refuse('malformed_packet', `DISCONNECT ${scanned.problem}`);
    }
    this.sink.slow(buf.subarray(i, next));
    if (type === DISCONNECT) {
      // The client leaves: whatever it sent after is not acted on [MQTT-3.14.4-1].
      this.#done = true;
      this.#later.length = 0;
      return false;
    }
    return true;
  }

  #publish(buf: Buffer, p: number, end: number, qos: number): boolean {
    let at = this.#string(buf, p, end, 'PUBLISH topic');
    if (at < 0) return false;
    if (qos > 0) {
      if (at + 2 > end) return this.#refuse('malformed_packet', 'PUBLISH without its packet identifier');
      if (buf.readUInt16BE(at) === 0)
        return this.#refuse('packet_id_0', `PUBLISH at QoS ${qos} with packet identifier 0 [MQTT-2.3.1-1]`);
      at += 2;
    }
    if (this.#level === 5) {
      if (!scanProperties(buf, at, end))
        return this.#refuse('malformed_packet', `PUBLISH ${scanned.problem}`);
      this.#noteAlias(scanned.topicAlias, buf.toString('utf8', p + 2, p + 2 + buf.readUInt16BE(p)));
    }
    return true;
  }

  #subscribe(buf: Buffer, p: number, end: number, subscribe: boolean): boolean {
    const what = subscribe ? 'SUBSCRIBE' : 'UNSUBSCRIBE';
    if (p + 2 > end) return this.#refuse('malformed_packet', `${what} without its packet identifier`);
    if (buf.readUInt16BE(p) === 0)
      return this.#refuse('packet_id_0', `${what} with packet identifier 0 [MQTT-2.3.1-1]`);
    let at = p + 2;
    const v5 = this.#level === 5;
    if (v5) {
      if (!scanProperties(buf, at, end))
        return this.#refuse('malformed_packet', `${what} ${scanned.problem}`);
      at = scanned.end;
    }
    if (at === end)
      return this.#refuse(
        'malformed_packet',
        `${what} without a topic filter [${subscribe ? 'MQTT-3.8.3-3' : 'MQTT-3.10.3-2'}]`,
      );
    while (at < end) {
      at = this.#string(buf, at, end, `${what} topic filter`);
      if (at < 0) return false;
      if (subscribe) {
        if (at >= end) return this.#refuse('malformed_packet', 'SUBSCRIBE topic filter without its QoS byte');
        const q = buf[at++]!;
        // MQTT 5: QoS, No Local, Retain As Published, Retain Handling (not 3), reserved 0.
        if (v5 ? (q & 3) > 2 || q >> 4 > 2 : q > 2)
          return this.#refuse(
            'malformed_packet',
            `SUBSCRIBE ${v5 ? 'options' : 'requested QoS'} byte ${q} [${v5 ? 'MQTT-3.8.3-5' : 'MQTT-3.8.3-4'}]`,
          );
      }
    }
    return true;
  }

  /** CONNECT of MQTT 5, 3.1.1 (and 3.1): protocol, flags, properties and every string. */
  #connect(buf: Buffer, p: number, end: number): boolean {
    if (p + 2 > end) return this.#refuse('malformed_packet', 'CONNECT without a protocol name');
    const nameLen = buf.readUInt16BE(p);
    if (p + 2 + nameLen + 4 > end) return this.#refuse('malformed_packet', 'CONNECT shorter than its header');
    const name = buf.toString('latin1', p + 2, p + 2 + nameLen);
    if (name !== 'MQTT' && name !== 'MQIsdp')
      return this.#refuse(
        'bad_protocol_name',
        `protocol name ${JSON.stringify(name.slice(0, 32))} [MQTT-3.1.2-1]`,
      );
    let at = p + 2 + nameLen;
    const level = buf[at++]!;
    // The broker speaks 5, 3.1.1 (level 4) and 3.1 (3). Any other level gets the 3.1.1
    // refusal, which a client of any version reads as "unsupported protocol version".
    if ((level !== 4 && level !== 3 && level !== 5) || (level === 5 && name !== 'MQTT'))
      return this.#refuse(
        'unacceptable_protocol_level',
        `protocol level ${level} [MQTT-3.1.2-2]`,
        CONNACK_UNACCEPTABLE_PROTOCOL,
      );
    const v5 = level === 5;
    if (v5) this.#level = 5;
    const flags = buf[at++]!;
    at += 2; // keep alive
    if (v5) {
      if (!scanProperties(buf, at, end))
        return this.#refuse('malformed_packet', `CONNECT ${scanned.problem}`);
      at = scanned.end;
    }
    if (flags & 0x01) return this.#refuse('reserved_flags', 'CONNECT reserved flag set [MQTT-3.1.2-3]');
    const will = (flags & 0x04) !== 0;
    const willQos = (flags >> 3) & 3;
    if (!will && (willQos !== 0 || flags & 0x20))
      return this.#refuse(
        'reserved_flags',
        'will QoS or will retain without a will [MQTT-3.1.2-13, MQTT-3.1.2-15]',
      );
    if (willQos === 3) return this.#refuse('qos_3', 'will QoS 3 [MQTT-3.1.2-14]');
    const user = (flags & 0x80) !== 0;
    // MQTT 5 allows a password without a user name [MQTT-3.1.2.9].
    if (!v5 && !user && flags & 0x40)
      return this.#refuse('reserved_flags', 'a password without a username [MQTT-3.1.2-22]');
    const idAt = at;
    at = this.#string(buf, at, end, 'client identifier');
    if (at < 0) return false;
    // A zero-byte client id asks for a session the server makes up, which cannot persist
    // [MQTT-3.1.3-8]; MQTT 5 assigns one whatever Clean Start says [MQTT-3.1.3-6].
    if (!v5 && at === idAt + 2 && !(flags & 0x02))
      return this.#refuse(
        'identifier_rejected',
        'an empty client identifier with CleanSession 0 [MQTT-3.1.3-8]',
        CONNACK_IDENTIFIER_REJECTED,
      );
    if (will) {
      if (v5) {
        if (!scanProperties(buf, at, end))
          return this.#refuse('malformed_packet', `CONNECT will ${scanned.problem}`);
        at = scanned.end;
      }
      at = this.#string(buf, at, end, 'will topic');
      if (at < 0) return false;
      at = this.#binary(buf, at, end, 'will message');
      if (at < 0) return false;
    }
    if (user) {
      at = this.#string(buf, at, end, 'username');
      if (at < 0) return false;
    }
    if (flags & 0x40) {
      at = this.#binary(buf, at, end, 'password');
      if (at < 0) return false;
    }
    if (at !== end)
      return this.#refuse('malformed_packet', `CONNECT with ${end - at} bytes after its last field`);
    return true;
  }

  /** A length-prefixed UTF-8 string at buf[at]: checked; returns the offset after it, or -1 (refused). */
  #string(buf: Buffer, at: number, end: number, what: string): number {
    const from = at + 2;
    const to = from + (from <= end ? buf.readUInt16BE(at) : 0);
    if (from > end || to > end) {
      this.#refuse('malformed_packet', `${what} longer than the packet`);
      return -1;
    }
    const bytes = buf.subarray(from, to);
    if (bytes.indexOf(0) !== -1 || !isUtf8(bytes)) {
      this.#badString(buf, from, to, what);
      return -1;
    }
    return to;
  }

  #binary(buf: Buffer, at: number, end: number, what: string): number {
    const to = at + 2 <= end ? at + 2 + buf.readUInt16BE(at) : end + 1;
    if (to > end) {
      this.#refuse('malformed_packet', `${what} longer than the packet`);
      return -1;
    }
    return to;
  }

  #badString(buf: Buffer, from: number, to: number, what: string): void {
    if (buf.subarray(from, to).indexOf(0) !== -1)
      this.#refuse('null_character', `${what} contains U+0000 [MQTT-1.5.3-2]`);
    else this.#refuse('invalid_utf8', `${what} is not well-formed UTF-8 [MQTT-1.5.3-1]`);
  }
}
