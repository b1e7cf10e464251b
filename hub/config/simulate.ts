import { z } from 'zod';
import { SIGNAL_KINDS, SIM_FORMAT_NAMES, type SignalKind } from '../core/simulation.js';
import { duration, id } from './common.js';
import { applyEnv, coerceEnv, dotted, envKeys } from './env.js';
import { type Env, validate } from './load.js';

/** Variables of `sensor-hub simulate`: HUB_SIM_ + the option (HUB_SIM_URL, HUB_SIM_DEVICES, ...). */
export const SIMULATE_ENV_PREFIX = 'HUB_SIM';

const whole = (name: string) =>
  z
    .number({
      error: (iss) =>
        iss.input === undefined ? `${name} is required` : `${name} must be a whole number >= 1`,
    })
    .int({ error: `${name} must be a whole number >= 1` })
    .min(1, { error: `${name} must be a whole number >= 1` });

/** The options of `sensor-hub simulate`, from its flags over HUB_SIM_* variables. */
export const simulateSchema = z.strictObject({
  devices: whole('devices'),
  /** Publishes per device per second. */
  rate: z
    .number({ error: (iss) => (iss.input === undefined ? 'rate is required' : 'rate must be a number > 0') })
    .positive({ error: 'rate must be a number > 0' }),
  format: z.enum(SIM_FORMAT_NAMES).default('plain'),
  seed: whole('seed').default(1),
  /** The broker to publish to. */
  url: z.url({ protocol: /^(mqtts?|wss?|tcp)$/ }).default('mqtt://127.0.0.1:1883'),
  qos: z.union([z.literal(0), z.literal(1)], { error: 'qos must be 0 or 1' }).default(0),
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
