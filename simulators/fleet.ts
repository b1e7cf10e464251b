import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import { MQTT5_FORMATS, type Sample, SIM_FORMATS, type SimFormat } from './formats.js';
import { DeviceSignals, type SignalKind } from './signals.js';

export interface FleetOptions {
  /** Broker URL, e.g. mqtt://127.0.0.1:1883 */
  url: string;
  devices: number;
  /** Publishes per device per second. */
  rate: number;
  format?: SimFormat;
  seed?: number;
  qos?: 0 | 1;
  /** MQTT protocol version: 4 (3.1.1, the default) or 5; user-properties needs 5 and is 5 by default. */
  protocol?: 4 | 5;
  sensors?: readonly SignalKind[];
  /** Device ids are <prefix>-0001, <prefix>-0002, ... */
  prefix?: string;
  /**
   * Chance per device per second of going silent for 5 to 60 s (a gap, as a real
   * device has). false or 0 turns dropouts off.
   */
  dropouts?: boolean | number;
  username?: string;
  password?: string;
  /** MQTT connections shared by the devices; default one per device. */
  connections?: number;
  /** QoS 1 publishes awaiting their PUBACK per connection (default 64). */
  maxInflight?: number;
}

export interface FleetStats {
  /** Publishes written to the socket (handed to it; at most its buffer is not yet on the wire). */
  published: number;
  /** Publishes the broker acknowledged; only at QoS 1 (QoS 0 has no acknowledgement). */
  acked?: number;
  errors: number;
  inDropout: number;
  /**
   * Publishes that fell due while their connection could take no more (its socket buffer
   * full, its QoS 1 window full, or reconnecting): not sent, never queued.
   */
  skipped: number;
  /** Messages per second asked for: devices × rate × messages per sample. */
  askedRate: number;
  /** Messages per second written to the socket since the start. */
  achievedRate: number;
  /** False when more than 5 % of what fell due was skipped: the asked rate is not reached. */
  reached: boolean;
}

export interface FleetHandle {
  readonly deviceIds: readonly string[];
  stats(): FleetStats;
  /** Stops publishing, waits for what is in flight, and disconnects. */
  stop(): Promise<void>;
}

interface Connection {
  client: MqttClient;
  /** QoS 1 publishes awaiting their PUBACK. */
  inflight: number;
}

interface SimDevice {
  id: string;
  signals: DeviceSignals;
  conn: Connection;
  next: number;
  silentUntil: number;
}

/** The fleet could not connect to its broker (refused, unknown host, timeout, bad credentials). */
export class FleetConnectError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`cannot connect to ${url}: ${describe(cause)}`, { cause });
    this.name = 'FleetConnectError';
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ECONNREFUSED') return 'connection refused (no broker listens there)';
  if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN') return 'unknown host';
  return e?.message ?? String(err);
}

const DEFAULT_SENSORS: readonly SignalKind[] = ['temperature', 'humidity', 'pressure'];
/** Formats that put all of a device's sensors in one message. */
const ONE_MESSAGE: readonly SimFormat[] = ['multi', 'tasmota', 'zigbee2mqtt'];

/**
 * Whether a connection takes one more publish of about `bytes` now. Below the socket's
 * high-water mark the write is buffered and returns true, so the client never parks a
 * 'drain' listener per publish (MaxListenersExceededWarning) and nothing queues without bound.
 */
function canSend(c: Connection, bytes: number, qos: 0 | 1, maxInflight: number): boolean {
  const { client } = c;
  if (!client.connected) return false;
  if (qos > 0 && c.inflight >= maxInflight) return false;
  const s = client.stream as unknown as { writableLength?: number; writableHighWaterMark?: number };
  return (s.writableLength ?? 0) + bytes < (s.writableHighWaterMark ?? 16_384);
}

/**
 * Runs a fleet of simulated MQTT devices; resolves once every connection is up. It paces
 * itself: each device publishes on its own schedule, and a publish that falls due while
 * its connection cannot take it is skipped and counted, so memory stays bounded at any
 * asked rate and the figures say what reached the socket (and, at QoS 1, the broker).
 */
export async function simulateFleet(opts: FleetOptions): Promise<FleetHandle> {
  if (!(opts.devices >= 1) || !(opts.rate > 0)) throw new Error('devices must be >= 1 and rate > 0');
  const formatName = opts.format ?? 'plain';
  const format = SIM_FORMATS[formatName];
  if (!format) throw new Error(`unknown format ${opts.format}`);
  const needs5 = MQTT5_FORMATS.includes(formatName);
  const protocol = opts.protocol ?? (needs5 ? 5 : 4);
  if (needs5 && protocol !== 5) throw new Error(`format ${formatName} needs MQTT 5 (protocol 5)`);
  const sensors = opts.sensors ?? DEFAULT_SENSORS;
  const seed = opts.seed ?? 1;
  const qos = opts.qos ?? 0;
  const maxInflight = opts.maxInflight ?? 64;
  const prefix = opts.prefix ?? 'sim';
  const dropoutRate =
    opts.dropouts === false
      ? 0
      : opts.dropouts === true || opts.dropouts === undefined
        ? 0.002
        : opts.dropouts;
  const nConn = Math.max(1, Math.min(opts.connections ?? opts.devices, opts.devices));
  const stats = { published: 0, acked: 0, errors: 0, inDropout: 0, skipped: 0 };
  const width = Math.max(4, String(opts.devices).length);
  const perSample = ONE_MESSAGE.includes(formatName) ? 1 : sensors.length;
  const askedRate = opts.devices * opts.rate * perSample;

  const connecting = Array.from({ length: nConn }, (_, i) =>
    mqtt.connectAsync(opts.url, {
      protocolVersion: protocol,
      clientId: `${prefix}-client-${String(i + 1).padStart(width, '0')}-${seed}`,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // Nothing is queued while a connection is down: what falls due then is skipped.
      queueQoSZero: false,
      ...(opts.username ? { username: opts.username, password: opts.password ?? '' } : {}),
    }),
  );
  const settled = await Promise.allSettled(connecting);
  const clients = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // None left reconnecting in the background: the caller gets the error and nothing else runs.
    await Promise.all(clients.map((c) => c.endAsync(true)));
    throw new FleetConnectError(opts.url, failed.reason);
  }
  const conns: Connection[] = clients.map((client) => {
    client.on('error', () => stats.errors++);
    client.on('packetsend', (p) => {
      if (p.cmd === 'publish') stats.published++;
    });
    return { client, inflight: 0 };
  });

  const start = Date.now();
  const period = 1000 / opts.rate;
  const devices: SimDevice[] = Array.from({ length: opts.devices }, (_, i) => {
    const signals = new DeviceSignals(seed, i);
    return {
      id: `${prefix}-${String(i + 1).padStart(width, '0')}`,
      signals,
      conn: conns[i % nConn]!,
      next: start + signals.random() * period,
      silentUntil: 0,
    };
  });

  const tickMs = Math.max(5, Math.min(100, period / 2));
  // A device catches up on at most 250 ms of samples after a stalled tick (a busy
  // machine); what it missed beyond that is skipped and counted, not sent in a burst.
  const catchUp = Math.max(Math.ceil(tickMs / period) + 1, Math.ceil(250 / period));
  let running = true;
  let stoppedAt: number | undefined;
  const publish = (d: SimDevice, at: number) => {
    const samples: Sample[] = sensors.map((kind) => ({
      kind,
      sensor: kind,
      value: d.signals.sample(kind, at),
    }));
    for (const m of format(d.id, samples, Math.round(at))) {
      if (!canSend(d.conn, m.topic.length + m.payload.length + 16, qos, maxInflight)) {
        stats.skipped++;
        continue;
      }
      const o: IClientPublishOptions = {
        qos,
        ...(m.userProperties ? { properties: { userProperties: m.userProperties } } : {}),
      };
      if (qos > 0) d.conn.inflight++;
      const conn = d.conn;
      d.conn.client.publish(m.topic, m.payload, o, (err) => {
        if (qos > 0) conn.inflight--;
        if (err) stats.errors++;
        else if (qos > 0) stats.acked++;
      });
    }
  };
  const tick = () => {
    if (!running) return;
    const now = Date.now();
    let silent = 0;
    for (const d of devices) {
      const due = Math.floor((now - d.next) / period) + 1;
      if (due > catchUp) {
        stats.skipped += (due - catchUp) * perSample;
        d.next += (due - catchUp) * period;
      }
      while (d.next <= now) {
        const at = d.next;
        d.next += period;
        if (dropoutRate > 0 && d.silentUntil <= at && d.signals.random() < dropoutRate * (period / 1000)) {
          d.silentUntil = at + 5000 + d.signals.random() * 55_000;
        }
        if (d.silentUntil > at) continue;
        publish(d, at);
      }
      if (d.silentUntil > now) silent++;
    }
    stats.inDropout = silent;
  };
  const timer = setInterval(tick, tickMs);

  return {
    deviceIds: devices.map((d) => d.id),
    stats: () => {
      const { acked, ...rest } = stats;
      const seconds = Math.max(0.001, ((stoppedAt ?? Date.now()) - start) / 1000);
      const due = stats.published + stats.skipped;
      return {
        ...rest,
        ...(qos > 0 ? { acked } : {}),
        askedRate,
        achievedRate: Math.round((stats.published / seconds) * 10) / 10,
        reached: due === 0 || stats.skipped <= 0.05 * due,
      };
    },
    async stop() {
      running = false;
      stoppedAt ??= Date.now();
      clearInterval(timer);
      await Promise.all(conns.map((c) => c.client.endAsync(false)));
    },
  };
}
