// MQTT 3.1.1 packets as raw bytes, and a device on a bare TCP socket: for tests that
// send what no well-behaved client library would.
import { connect, type Socket } from 'node:net';

/** A fixed header (type and flags in b0, the remaining length) and the body. */
export function pkt(b0: number, ...body: Buffer[]): Buffer {
  const rest = Buffer.concat(body);
  return Buffer.concat([Buffer.from([b0]), remainingLength(rest.length), rest]);
}

export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** A length-prefixed string or binary field. */
export function str(s: string | Buffer): Buffer {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export interface ConnectFields {
  name?: string;
  level?: number;
  /** Connect flags byte; default: clean session, plus what the fields below imply. */
  flags?: number;
  clientId?: string | Buffer;
  will?: { topic: string | Buffer; payload: string | Buffer; qos?: number; retain?: boolean };
  username?: string | Buffer;
  password?: string | Buffer;
  keepalive?: number;
  /** Bytes after the last field. */
  trailing?: Buffer;
  /** Fixed-header flags (must be 0). */
  headerFlags?: number;
}

export function connectPacket(f: ConnectFields = {}): Buffer {
  let flags = 0x02;
  if (f.will) flags |= 0x04 | ((f.will.qos ?? 0) << 3) | (f.will.retain ? 0x20 : 0);
  if (f.username !== undefined) flags |= 0x80;
  if (f.password !== undefined) flags |= 0x40;
  return pkt(
    0x10 | (f.headerFlags ?? 0),
    str(f.name ?? 'MQTT'),
    Buffer.from([f.level ?? 4, f.flags ?? flags]),
    u16(f.keepalive ?? 30),
    str(f.clientId ?? 'raw'),
    ...(f.will ? [str(f.will.topic), str(f.will.payload)] : []),
    ...(f.username !== undefined ? [str(f.username)] : []),
    ...(f.password !== undefined ? [str(f.password)] : []),
    f.trailing ?? Buffer.alloc(0),
  );
}

/** PUBLISH: b0 carries DUP, QoS and RETAIN; id only when given. */
export function publishPacket(
  topic: string | Buffer,
  payload: string | Buffer,
  opts: { qos?: number; id?: number; dup?: boolean; retain?: boolean } = {},
): Buffer {
  const qos = opts.qos ?? 0;
  const b0 = 0x30 | (opts.dup ? 0x08 : 0) | (qos << 1) | (opts.retain ? 1 : 0);
  return pkt(
    b0,
    str(topic),
    opts.id !== undefined ? u16(opts.id) : Buffer.alloc(0),
    typeof payload === 'string' ? Buffer.from(payload) : payload,
  );
}

export const CONNACK_OK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
export const PINGREQ = Buffer.from([0xc0, 0x00]);
export const PINGRESP = Buffer.from([0xd0, 0x00]);

/** A device on a bare socket: everything it receives, and whether the hub closed it. */
export class RawDevice {
  readonly sock: Socket;
  received = Buffer.alloc(0);
  closed = false;
  readonly #closing: Promise<void>;
  #waiters: Array<() => void> = [];

  constructor(port: number) {
    this.sock = connect(port, '127.0.0.1');
    this.sock.setNoDelay(true);
    this.sock.on('error', () => undefined);
    this.sock.on('data', (d) => {
      this.received = Buffer.concat([this.received, d]);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.#closing = new Promise((r) =>
      this.sock.once('close', () => {
        this.closed = true;
        for (const w of this.#waiters.splice(0)) w();
        r();
      }),
    );
  }

  static async open(port: number): Promise<RawDevice> {
    const d = new RawDevice(port);
    await new Promise<void>((r, j) => {
      d.sock.once('connect', () => r());
      d.sock.once('error', j);
    });
    return d;
  }

  /** Opens a connection and completes a CONNECT (CONNACK 0); `received` starts empty. */
  static async connected(port: number, fields: ConnectFields = {}): Promise<RawDevice> {
    const d = await RawDevice.open(port);
    await d.send(connectPacket(fields));
    const got = await d.receive(4);
    if (!got.subarray(0, 4).equals(CONNACK_OK)) throw new Error(`no CONNACK 0: ${got.toString('hex')}`);
    d.take(4);
    return d;
  }

  send(bytes: Buffer): Promise<void> {
    return new Promise((r) => {
      if (this.closed || this.sock.destroyed) return r();
      this.sock.write(bytes, () => r());
    });
  }

  /** Waits until at least n bytes have arrived (or the socket closed, or the time ran out). */
  async receive(n: number, timeoutMs = 3000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < n && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        const t = setTimeout(r, deadline - Date.now());
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
    return this.received;
  }

  /** Drops the first n bytes received. */
  take(n: number): Buffer {
    const head = this.received.subarray(0, n);
    this.received = this.received.subarray(n);
    return head;
  }

  /** True if the hub closed the connection within the time. */
  async closedWithin(ms = 3000): Promise<boolean> {
    await Promise.race([this.#closing, new Promise((r) => setTimeout(r, ms))]);
    return this.closed;
  }

  destroy(): void {
    this.sock.destroy();
  }
}
