/**
 * Recent QoS 1 publishes per client id, to tell a resend from a new message. A client
 * that got no PUBACK (the connection broke after the hub stored the reading) sends the
 * publish again with DUP set and the same packet identifier, usually when it
 * reconnects [MQTT-4.4.0-1]; MQTT.js does so even with a clean session. Without this
 * memory the hub would store that reading twice.
 *
 * A resend is recognised by client id, packet identifier, DUP, and a fingerprint of
 * topic and payload: identifiers are reused (some firmware uses the same one for every
 * message), so a DUP publish whose earlier delivery never reached the hub must not be
 * mistaken for the previous message with that identifier.
 *
 * Bounds: the last PER_CLIENT packet identifiers of each client (a resend concerns
 * only what was in flight when the connection broke, a handful for a sensor; a client
 * with more in flight gets the rest stored twice, never lost), for TTL_MS (a resend
 * follows a reconnect, seconds to minutes later; older entries would only match by
 * chance), for the CLIENTS client ids that connected last: at most about 8 MB.
 */

const PER_CLIENT = 32;
const TTL_MS = 10 * 60_000;
const CLIENTS = 10_000;
/** Payload bytes a fingerprint reads (with the length): enough to tell two sensor messages apart. */
const FINGERPRINT_BYTES = 4096;

class Slots {
  readonly ids = new Int32Array(PER_CLIENT).fill(-1);
  readonly prints = new Int32Array(PER_CLIENT);
  readonly at = new Float64Array(PER_CLIENT);
  next = 0;
}

/** FNV-1a over the topic, the payload's first bytes and its length. */
export function fingerprint(topic: string, payload: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < topic.length; i++) h = Math.imul(h ^ topic.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0xff, 0x01000193);
  const n = Math.min(payload.length, FINGERPRINT_BYTES);
  for (let i = 0; i < n; i++) h = Math.imul(h ^ payload[i]!, 0x01000193);
  return Math.imul(h ^ payload.length, 0x01000193) | 0;
}

export class RecentPublishes {
  readonly #clients = new Map<string, Slots>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether `clientId` published this packet id with this fingerprint recently. */
  has(clientId: string, packetId: number, print: number): boolean {
    const s = this.#clients.get(clientId);
    if (!s) return false;
    const since = this.now() - TTL_MS;
    for (let i = 0; i < PER_CLIENT; i++) {
      if (s.ids[i] === packetId) return s.prints[i] === print && s.at[i]! >= since;
    }
    return false;
  }

  /** Notes a publish the hub has stored (so a resend of it is not stored again). */
  remember(clientId: string, packetId: number, print: number): void {
    let s = this.#clients.get(clientId);
    if (!s) {
      if (this.#clients.size >= CLIENTS) this.#clients.delete(this.#clients.keys().next().value!);
      s = new Slots();
      this.#clients.set(clientId, s);
    }
    let slot = s.ids.indexOf(packetId);
    if (slot === -1) {
      slot = s.next;
      s.next = (slot + 1) % PER_CLIENT;
    }
    s.ids[slot] = packetId;
    s.prints[slot] = print;
    s.at[slot] = this.now();
  }

  /** A client connected: its memory is the last to be dropped when there are too many. */
  touch(clientId: string): void {
    const s = this.#clients.get(clientId);
    if (!s) return;
    this.#clients.delete(clientId);
    this.#clients.set(clientId, s);
  }

  get size(): number {
    return this.#clients.size;
  }
}
