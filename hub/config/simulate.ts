import { z } from 'zod';
import { SIGNAL_KINDS, SIM_FORMAT_NAMES, type SignalKind } from '../core/simulation.js';
import { duration, id } from './common.js';
import { applyEnv, coerceEnv, dotted, envKeys } from './env.js';
import { type Env, validate } from './load.js';
import { shown } from './messages.js';

/** Variables of `sensor-hub simulate`: HUB_SIM_ + the option (HUB_SIM_URL, HUB_SIM_DEVICES, ...). */
export const SIMULATE_ENV_PREFIX = 'HUB_SIM';

const whole = z
  .number({ error: (iss) => `expected a whole number >= 1, got ${shown(iss.input)}` })
  .int({ error: (iss) => `expected a whole number >= 1, got ${shown(iss.input)}` })
  .min(1, { error: (iss) => `expected a whole number >= 1, got ${shown(iss.input)}` });

/** Defaults of `sensor-hub simulate` (its --help says them). */
export const SIMULATE_DEFAULTS = { devices: 10, rate: 1 } as const;

/** The options of `sensor-hub simulate`, from its flags over HUB_SIM_* variables. */
export const simulateSchema = z.strictObject({
  devices: whole.default(SIMULATE_DEFAULTS.devices),
  /** Publishes per device per second. */
  rate: z
    .number({ error: (iss) => `expected a number > 0, got ${shown(iss.input)}` })
    .positive({ error: (iss) => `expected a number > 0, got ${shown(iss.input)}` })
    .default(SIMULATE_DEFAULTS.rate),
  format: z.enum(SIM_FORMAT_NAMES).default('plain'),
  seed: whole.default(1),
  /** The broker to publish to; default: the hub's own, from its config (mqtt.host, mqtt.port). */
  url: z
    .url({
      protocol: /^(mqtts?|wss?|tcp)$/,
      error: (iss) => `expected a broker URL such as "mqtt://127.0.0.1:1883", got ${shown(iss.input)}`,
    })
    .optional(),
  /** Credentials; default: the first of the hub config's mqtt.users, if any. */
  username: z.string().min(1).optional(),
  password: z.string().optional(),
  qos: z
    .union([z.literal(0), z.literal(1)], { error: (iss) => `expected 0 or 1, got ${shown(iss.input)}` })
    .default(0),
  /** MQTT protocol version; default 4 (3.1.1), 5 for formats that need it (user-properties). */
  protocol: z
    .union([z.literal(4), z.literal(5)], { error: (iss) => `expected 4 or 5, got ${shown(iss.input)}` })
    .optional(),
  /** MQTT connections the devices share; default one per device. */
  connections: whole.optional(),
  /** Progress as JSON lines (the default when stderr is not a terminal). */
  json: z.boolean().default(false),
  /** Comma-separated signal kinds. */
  sensors: z
    .string()
    .default('temperature,humidity,pressure')
    .transform((list, ctx) => {
      const kinds = list.split(',').map((s) => s.trim());
      const unknown = kinds.filter((s) => !SIGNAL_KINDS.includes(s as SignalKind));
      if (unknown.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown sensors: ${unknown.join(', ')} (known: ${SIGNAL_KINDS.join(', ')})`,
        });
        return z.NEVER;
      }
      return kinds as SignalKind[];
    }),
  /** Device ids are <prefix>-0001, <prefix>-0002, ... */
  prefix: id.default('sim'),
  /** Devices go silent now and then, as real ones do. */
  dropouts: z.boolean().default(true),
  /** Stop after this long. */
  duration: duration.optional(),
});

export type SimulateOptions = z.output<typeof simulateSchema>;

const flagOf = (key: string) => `--${key.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`;

/**
 * The simulate command's options: `flags` (what was given on the command line, as text
 * or as commander parsed it) over HUB_SIM_* variables over the defaults, validated; a
 * ConfigError names the flag or variable of each bad value.
 */
export function loadSimulateOptions(flags: Record<string, unknown>, env: Env = process.env): SimulateOptions {
  const raw: Record<string, unknown> = {};
  const origins = applyEnv(simulateSchema, raw, env, SIMULATE_ENV_PREFIX);
  for (const key of envKeys(simulateSchema, SIMULATE_ENV_PREFIX)) {
    const name = key.path[0]!;
    const value = flags[name];
    if (value === undefined) continue;
    raw[name] = typeof value === 'string' ? coerceEnv(value, key.types) : value;
    origins.set(name, flagOf(name));
  }
  return validate(simulateSchema, raw, (path) => origins.get(dotted(path.slice(0, 1))));
}

/** The broker of a hub config, as a client reaches it (a wildcard address is this host). */
export function brokerUrlOf(mqtt: { host: string; port: number }): string {
  const host = mqtt.host === '0.0.0.0' ? '127.0.0.1' : mqtt.host === '::' ? '::1' : mqtt.host;
  return `mqtt://${host.includes(':') ? `[${host}]` : host}:${mqtt.port}`;
}
