import mqtt, { type MqttClient } from 'mqtt';
import { type Sample, SIM_FORMATS, type SimFormat } from './formats.js';
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
}

export interface FleetStats {
  published: number;
  /** Publishes the broker acknowledged; only at QoS 1 (QoS 0 has no acknowledgement). */
  acked?: number;
  errors: number;
  inDropout: number;
}

export interface FleetHandle {
  readonly deviceIds: readonly string[];
  stats(): FleetStats;
  /** Stops publishing, waits for what is in flight, and disconnects. */
  stop(): Promise<void>;
}

interface SimDevice {
  id: string;
  signals: DeviceSignals;
  client: MqttClient;
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

/** Runs a fleet of simulated MQTT devices; resolves once every connection is up. */
export async function simulateFleet(opts: FleetOptions): Promise<FleetHandle> {
  if (!(opts.devices >= 1) || !(opts.rate > 0)) throw new Error('devices must be >= 1 and rate > 0');
  const format = SIM_FORMATS[opts.format ?? 'plain'];
  if (!format) throw new Error(`unknown format ${opts.format}`);
  const sensors = opts.sensors ?? DEFAULT_SENSORS;
  const seed = opts.seed ?? 1;
  const qos = opts.qos ?? 0;
  const prefix = opts.prefix ?? 'sim';
  const dropoutRate =
    opts.dropouts === false
      ? 0
      : opts.dropouts === true || opts.dropouts === undefined
        ? 0.002
        : opts.dropouts;
  const nConn = Math.max(1, Math.min(opts.connections ?? opts.devices, opts.devices));
  const stats = { published: 0, acked: 0, errors: 0, inDropout: 0 };
  const width = Math.max(4, String(opts.devices).length);

  const connecting = Array.from({ length: nConn }, (_, i) =>
    mqtt.connectAsync(opts.url, {
      clientId: `${prefix}-client-${String(i + 1).padStart(width, '0')}-${seed}`,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
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
  for (const c of clients) c.on('error', () => stats.errors++);

  const start = Date.now();
  const period = 1000 / opts.rate;
  const devices: SimDevice[] = Array.from({ length: opts.devices }, (_, i) => {
    const signals = new DeviceSignals(seed, i);
    return {
      id: `${prefix}-${String(i + 1).padStart(width, '0')}`,
      signals,
      client: clients[i % nConn]!,
      next: start + signals.random() * period,
      silentUntil: 0,
    };
  });

  const tickMs = Math.max(5, Math.min(100, period / 2));
  let running = true;
  const tick = () => {
    if (!running) return;
    const now = Date.now();
    let silent = 0;
    for (const d of devices) {
      while (d.next <= now) {
        const at = d.next;
        d.next += period;
        if (dropoutRate > 0 && d.silentUntil <= at && d.signals.random() < dropoutRate * (period / 1000)) {
          d.silentUntil = at + 5000 + d.signals.random() * 55_000;
        }
        if (d.silentUntil > at) continue;
        const samples: Sample[] = sensors.map((kind) => ({
          kind,
          sensor: kind,
          value: d.signals.sample(kind, at),
        }));
        for (const m of format(d.id, samples, Math.round(at))) {
          stats.published++;
          d.client.publish(m.topic, m.payload, { qos }, (err) => {
            if (err) stats.errors++;
            else if (qos > 0) stats.acked++;
          });
        }
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
      return qos > 0 ? { ...rest, acked } : rest;
    },
    async stop() {
      running = false;
      clearInterval(timer);
      await Promise.all(clients.map((c) => c.endAsync(false)));
    },
  };
}
