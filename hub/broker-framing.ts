/**
 * MQTT 3.1.1 framing for the ingest hot path. Every byte a client sends passes through
 * here before the broker's own parser (mqtt-packet, inside Aedes). A QoS 0 PUBLISH
 * that is not retained, the one packet a sensor sends thousands of times a second, is
 * framed here and offered to `fast`; everything else (CONNECT, SUBSCRIBE, PINGREQ,
 * QoS 1 and 2, retained, large or malformed packets, and any publish `fast` declines)
 * goes to `slow` byte for byte, in order, as whole packets or the running rest of one.
 *
 * Why by hand: per message, the general parser allocates a packet object, a buffer
 * list and a chain of callbacks, and Aedes runs its publish series; that was half of
 * the hub's CPU per message. This handles only the fixed header, the topic and the
 * payload of one packet type (MQTT 3.1.1 section 3.3) and leaves every decision it
 * does not need to make to the broker.
 */

/** Larger publishes go the general way: the framer buffers at most this much of a packet. */
export const MAX_FAST_PACKET = 64 * 1024;

export interface FramerSink {
  /** A QoS 0, non-retained PUBLISH; false hands the packet to `slow` instead. */
  fast(topic: string, payload: Buffer): boolean;
  /** Bytes for the broker's parser. */
  slow(bytes: Buffer): void;
}

export class PublishFramer {
  /** Start of a packet not complete yet (a short header, or a small publish). */
  #partial: Buffer | undefined;
  /** Bytes still to pass to `slow` of a packet already started there. */
  #passing = 0;
  /** After a malformed header everything goes to the broker's parser, which rejects it. */
  #off = false;
  #busy = false;
  /** Chunks fed while a chunk was being handled (the broker's parser can read on synchronously). */
  readonly #later: Buffer[] = [];

  constructor(private readonly sink: FramerSink) {}

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

  #handle(chunk: Buffer): void {
    const { sink } = this;
    if (this.#off) {
      sink.slow(chunk);
      return;
    }
    let buf = chunk;
    let i = 0;
    if (this.#passing > 0) {
      i = Math.min(this.#passing, buf.length);
      sink.slow(buf.subarray(0, i));
      this.#passing -= i;
    } else if (this.#partial) {
      buf = Buffer.concat([this.#partial, buf]);
      this.#partial = undefined;
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
          // A fifth length byte: malformed. The broker's parser says so and closes.
          this.#off = true;
          sink.slow(buf.subarray(i));
          return;
        }
        byte = buf[p++]!;
        len += (byte & 0x7f) * mul;
        mul *= 128;
      }
      if (byte & 0x80) {
        this.#partial = Buffer.from(buf.subarray(i));
        return;
      }
      const total = p - i + len;
      // PUBLISH with QoS 0, DUP 0, RETAIN 0: the whole first byte is 0x30.
      if (b0 !== 0x30 || total > MAX_FAST_PACKET) {
        const n = Math.min(total, end - i);
        sink.slow(buf.subarray(i, i + n));
        this.#passing = total - n;
        i += n;
        continue;
      }
      if (i + total > end) {
        this.#partial = Buffer.from(buf.subarray(i));
        return;
      }
      const topicLen = len >= 2 ? buf.readUInt16BE(p) : -1;
      const payloadAt = p + 2 + topicLen;
      const next = i + total;
      if (
        topicLen < 1 ||
        payloadAt > next ||
        !sink.fast(buf.toString('utf8', p + 2, payloadAt), buf.subarray(payloadAt, next))
      ) {
        sink.slow(buf.subarray(i, next));
      }
      i = next;
    }
  }
}
