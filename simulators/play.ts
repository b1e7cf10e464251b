import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { TestClock } from './clock.js';
import { MQTT5_FORMATS, SIM_FORMATS, type SimFormat, type SimMessage } from './formats.js';
import type { Scenario, ScenarioPoint } from './scenario.js';
import type { SignalKind } from './signals.js';

export interface PlayOptions {
  /** Broker URL, e.g. hub.mqttUrl. */
  url: string;
  device: string;
  /** The signal kind, which gives the unit json and user-properties payloads carry (default temperature). */
  kind?: SignalKind;
  /** Sensor id (default: the kind). */
  sensor?: string;
  /** Payload format (default json, which carries the timestamp). */
  format?: SimFormat;
  qos?: 0 | 1;
  /** MQTT protocol version (default 4, i.e. 3.1.1; 5 for user-properties). */
  protocol?: 4 | 5;
  /**
   * A clock the test moves: points are sent as it passes their time, stamped with it.
   * Without one the scenario plays in real time from now.
   */
  clock?: TestClock;
  /** Epoch ms of the first point (default: the clock's time, or now). */
  startAt?: number;
  /** Added to the timestamps the device sends: a device whose clock is off. */
  skewMs?: number;
  username?: string;
  password?: string;
}

export interface ScenarioRun {
  /** Messages written to the socket, and at QoS 1 acknowledged by the broker. */
  stats(): { sent: number; acked: number; errors: number; remaining: number };
  /** Resolves when every point was sent (and acknowledged, at QoS 1). */
  readonly done: Promise<void>;
  /** Stops early and disconnects; also after `done`, to close the connection. */
  stop(): Promise<void>;
}

/**
 * Plays a Scenario as one MQTT device: each point becomes a publish in the chosen format
 * at its time, a bad point a malformed payload on the same topic.
 */
export async function playScenario(scenario: Scenario, opts: PlayOptions): Promise<ScenarioRun> {
  const format = opts.format ?? 'json';
  const write = SIM_FORMATS[format];
  if (!write) throw new Error(`unknown format ${format}`);
  const protocol = opts.protocol ?? (MQTT5_FORMATS.includes(format) ? 5 : 4);
  if (protocol !== 5 && MQTT5_FORMATS.includes(format))
    throw new Error(`format ${format} needs MQTT 5 (protocol: 5)`);
  const kind = opts.kind ?? 'temperature';
  const sensor = opts.sensor ?? kind;
  const qos = opts.qos ?? 0;
  const client = await mqtt.connectAsync(opts.url, {
    protocolVersion: protocol,
    clientId: `scenario-${opts.device}-${sensor}-${scenario.seed}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...(opts.username ? { username: opts.username, password: opts.password ?? '' } : {}),
  });
  const points = scenario.points();
  const startAt = opts.startAt ?? opts.clock?.now() ?? Date.now();
  const stats = { sent: 0, acked: 0, errors: 0 };
  let next = 0;
  let stopped = false;

  const messageOf = (p: ScenarioPoint): SimMessage => {
    const ts = Math.round(startAt + p.offsetMs + (opts.skewMs ?? 0));
    const [m] = write(opts.device, [{ kind, sensor, value: p.value ?? 0 }], ts);
    if (p.bad === undefined) return m!;
    return { topic: m!.topic, payload: p.bad };
  };
  const send = (p: ScenarioPoint): Promise<void> => {
    const m = messageOf(p);
    const publishOpts: IClientPublishOptions = {
      qos,
      ...(m.userProperties ? { properties: { userProperties: m.userProperties } } : {}),
    };
    return new Promise((resolve) => {
      client.publish(m.topic, m.payload, publishOpts, (err) => {
        if (err) stats.errors++;
        else if (qos > 0) stats.acked++;
        resolve();
      });
      stats.sent++;
    });
  };
  /** Sends every point due by `now`, in order, one at a time (a device's own order). */
  const sendDue = async (now: number) => {
    while (!stopped && next < points.length && startAt + points[next]!.offsetMs <= now) {
      await send(points[next++]!);
    }
  };

  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  if (opts.clock) {
    const clock = opts.clock;
    unsubscribe = clock.onAdvance(async (now) => {
      await sendDue(now);
      if (next >= points.length) finish();
    });
    await sendDue(clock.now());
  } else {
    const loop = async () => {
      timer = undefined;
      await sendDue(Date.now());
      if (stopped) return;
      if (next >= points.length) return finish();
      timer = setTimeout(loop, Math.max(0, startAt + points[next]!.offsetMs - Date.now()));
    };
    void loop();
  }
  if (points.length === 0) finish();

  return {
    stats: () => ({ ...stats, remaining: points.length - next }),
    done,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      unsubscribe?.();
      finish();
      await closeClient(client);
    },
  };
}

async function closeClient(client: MqttClient): Promise<void> {
  await client.endAsync(false).catch(() => client.endAsync(true));
}
