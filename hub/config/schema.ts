import { z } from 'zod';
import { LOG_FORMATS } from '../core/logger.js';
import { PROTOCOL_MAX_PACKET } from '../mqtt/framing.js';
import { alertsSchema } from './alerts.js';
import { board, boardSensor, checkBoardSettings, checkBoards } from './boards.js';
import { duration, id } from './common.js';
import {
  deviceSensorFields,
  formatsSchema,
  homeAssistantSchema,
  registrySchema,
  timeSchema,
} from './formats-schema.js';
import { shown } from './messages.js';
import { httpSecurityFields, mqttSecurityFields } from './security-schema.js';

export { duration, id };

const portType = (iss: { input?: unknown }) => `expected a port number, got ${shown(iss.input)}`;
const portRange = (iss: { input?: unknown }) =>
  `expected a port number from 0 to 65535, got ${shown(iss.input)}`;
const port = z
  .number({ error: portType })
  .int({ error: portType })
  .min(0, { error: portRange })
  .max(65535, { error: portRange });
const host = z.string().min(1);

const mqttUser = z.strictObject({ username: z.string().min(1), password: z.string().min(1) });

const mqttFields = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(1883),
  /** Credentials; required when host is not a loopback address. */
  users: z.array(mqttUser).default([]),
  /** Larger payloads are quarantined as payload_too_large (whole sensor payloads are small). */
  maxPayloadBytes: z
    .number()
    .int()
    .min(16)
    .max(16 * 1024 * 1024)
    .default(256 * 1024),
  /**
   * Cap of one MQTT packet of any type, fixed header included: a larger declared length
   * closes the connection before its body is read. Default: twice maxPayloadBytes, so a
   * payload somewhat over that limit is still read and quarantined as payload_too_large.
   * Before a CONNECT is accepted the cap is 16 KiB (or this, if smaller).
   */
  maxPacketBytes: z.number().int().min(1024).max(PROTOCOL_MAX_PACKET).optional(),
  /** QoS 2 publishes of one connection awaiting PUBREL; past it the connection is closed. */
  maxAwaitingPubrel: z.number().int().min(1).max(65_535).default(100),
  /**
   * MQTT 5 Receive Maximum: QoS 1 and 2 publishes of one MQTT 5 connection not yet
   * acknowledged; one more gets DISCONNECT 0x93. Advertised in CONNACK.
   */
  receiveMaximum: z.number().int().min(1).max(65_535).default(100),
  /** MQTT 5: the longest Session Expiry Interval granted (seconds); a client asking more gets this. */
  maxSessionExpirySeconds: z.number().int().min(0).max(0xffff_ffff).default(86_400),
  /** Topics retained at once; a retained publish to a new topic past it is ingested but not retained. */
  maxRetained: z.number().int().min(0).default(10_000),
  /** Republish each canonical reading on hub/readings/<device>/<sensor>. */
  republish: z.boolean().default(true),
  /**
   * Topic filters that carry no readings (commands, discovery): passed through the
   * broker, never quarantined as unknown_topic.
   */
  ignore: z.array(z.string().min(1)).default(['cmnd/#', 'homeassistant/#', '+/set', '+/+/set']),
  // users, anonymous access, ACL, listeners, flood limits (security-schema.ts)
  ...mqttSecurityFields,
});

const mqtt = mqttFields
  .superRefine((m, ctx) => {
    if (m.maxPacketBytes !== undefined && m.maxPacketBytes < m.maxPayloadBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxPacketBytes'],
        message: `expected at least mqtt.maxPayloadBytes (${m.maxPayloadBytes}): a payload under that limit must fit in a packet`,
      });
    }
  })
  .transform((m) => ({
    ...m,
    maxPacketBytes: m.maxPacketBytes ?? Math.min(2 * m.maxPayloadBytes, PROTOCOL_MAX_PACKET),
  }));

const http = z.strictObject({
  host: host.default('127.0.0.1'),
  port: port.default(8080),
  /** Bearer token; required when host is not a loopback address. */
  token: z.string().min(16).optional(),
  /** Live-stream (/api/stream) clients at once; one more gets 503 HUB_STREAM_FULL. */
  maxStreamClients: z.number().int().min(1).max(10_000).default(100),
  // sign-in users with roles, HTTPS (security-schema.ts)
  ...httpSecurityFields,
});

const managed = z.strictObject({
  binary: z.string().default('influxd'),
  dataDir: z.string().default('./var/influxdb'),
  /** 0: a free port on the first start, remembered in dataDir/influxd.port and kept from then on. */
  port: port.default(0),
});

const influx = z.strictObject({
  /** An InfluxDB 1.x-compatible HTTP endpoint; when absent the hub runs its own influxd. */
  url: z.url({ protocol: /^https?$/ }).optional(),
  database: z.string().min(1).default('sensors'),
  username: z.string().optional(),
  password: z.string().optional(),
  /** Points per write request. */
  batchSize: z.number().int().min(1).max(50_000).default(5000),
  /** A partial batch is written after this long. */
  flushInterval: duration.default(200),
  /** Write requests in flight at once. */
  maxInFlight: z.number().int().min(1).max(16).default(2),
  /** Timeout of one write request. */
  timeout: duration.default(10_000),
  /** Longest wait between retries of a write InfluxDB failed or refused (capped exponential backoff). */
  maxRetryDelay: duration.default(15_000),
  managed: managed.default(managed.parse({})),
});

// --- durable spool and retention ---
const spool = z.strictObject({
  /** LMDB folder; default <dataDir>/spool. */
  dir: z.string().optional(),
  /** Cap of the spool on disk; when full, QoS 1 publishers get no PUBACK and QoS 0 readings are dropped. */
  maxBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(1024 * 1024 * 1024),
  /** Wait for fsync before a PUBACK (survives power loss); false: survives a hub crash only. */
  fsync: z.boolean().default(true),
  /** Bytes accepted but not yet committed; past it even QoS 0 publishers are slowed (TCP backpressure). */
  maxUncommittedBytes: z
    .number()
    .int()
    .min(64 * 1024)
    .default(4 * 1024 * 1024),
  /**
   * Free bytes left on the spool's filesystem: a commit that would leave less is refused
   * (no PUBACK, QoS 0 counted as dropped with reason storage_error) until space returns.
   */
  minFreeBytes: z
    .number()
    .int()
    .min(1024 * 1024)
    .default(16 * 1024 * 1024),
});

/** An InfluxQL duration ("30d", "52w", "12h") or "INF". */
const rpDuration = z.string().regex(/^(INF|\d+[hdw])$/, {
  message: 'expected an InfluxQL duration such as "12h", "30d", "52w" or "INF"',
});

const retention = z.strictObject({
  /** Create and manage the retention policies and continuous queries (off for a shared InfluxDB). */
  manage: z.boolean().default(true),
  /** Raw readings, retention policy "raw" (the database default). */
  raw: rpDuration.default('30d'),
  /** Per-minute mean/min/max/count, retention policy "rollup_1m". */
  minute: rpDuration.default('400d'),
  /** Per-hour mean/min/max/count, retention policy "rollup_1h". */
  hour: rpDuration.default('INF'),
});
// --- end of spool and retention ---

const device = z.strictObject({
  id,
  name: z.string().optional(),
  location: z.string().optional(),
  tags: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.string()).default({}),
  // calibration, report-on-change and expected intervals (formats-schema.ts)
  ...deviceSensorFields,
});

/** The web dashboard served at / . */
const dashboard = z.strictObject({
  enabled: z.boolean().default(true),
});

const log = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** auto: short coloured lines on a terminal, JSON lines otherwise (pipes, files, journald). */
  format: z.enum(LOG_FORMATS).default('auto'),
});

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
export const isLoopback = (h: string) => LOOPBACK.test(h);

/**
 * A listener on a non-loopback address needs a way to sign in: users (mqtt.users or
 * mqtt.passwordFile) or client certificates as users. Whether the password file holds
 * anyone is checked at start.
 */
function publicListenerProblems(m: z.output<typeof mqttFields>) {
  const listeners = m.listeners ?? [{ protocol: 'mqtt', host: m.host, useCertCNAsUser: false }];
  const users = m.users.length > 0 || m.passwordFile !== undefined;
  const out: Array<{ path: Array<string | number>; message: string }> = [];
  listeners.forEach((l, i) => {
    if (isLoopback(l.host) || users || l.useCertCNAsUser) return;
    out.push(
      m.listeners
        ? {
            path: ['mqtt', 'listeners', i, 'host'],
            message: `${l.protocol} listener on ${l.host} is not on a loopback address: expected mqtt.passwordFile, mqtt.users or useCertCNAsUser`,
          }
        : {
            path: ['mqtt', 'users'],
            message: `expected at least one {username, password}, or mqtt.passwordFile: mqtt.host ${m.host} is not a loopback address`,
          },
    );
  });
  return out;
}

/** Every section of the config, each validated on its own. */
export const configFields = z.strictObject({
  mqtt: mqtt.default(mqtt.parse({})),
  http: http.default(http.parse({})),
  influx: influx.default(influx.parse({})),
  log: log.default(log.parse({})),
  spool: spool.default(spool.parse({})),
  retention: retention.default(retention.parse({})),
  devices: z.array(device).default([]),
  /** Arduino boards running Firmata (docs/boards.md). */
  boards: z.array(board).default([]),
  dashboard: dashboard.default(dashboard.parse({})),
  // payload formats, time, registry, Home Assistant discovery (formats-schema.ts)
  time: timeSchema.default(timeSchema.parse({})),
  formats: formatsSchema.default(formatsSchema.parse({})),
  registry: registrySchema.default(registrySchema.parse({})),
  homeassistant: homeAssistantSchema.default(homeAssistantSchema.parse({})),
  /** Alert rules and where their changes are sent (docs/alerts.md). */
  alerts: alertsSchema.default(alertsSchema.parse({})),
  /** Where the hub keeps its state (quarantine log, managed InfluxDB unless set). */
  dataDir: z.string().default('./var'),
});

type ConfigFields = z.output<typeof configFields>;
type Section = keyof ConfigFields;

/** A check across keys: what it reads, and what it finds wrong (each with its path). */
interface CrossCheck<K extends Section> {
  uses: readonly K[];
  check(c: Pick<ConfigFields, K>): Array<{ path: Array<string | number>; message: string }>;
}

const cross = <K extends Section>(uses: readonly K[], check: CrossCheck<K>['check']) =>
  ({ uses, check }) as unknown as CrossCheck<Section>;

/**
 * The checks across keys. Each runs when the sections it reads are valid, whatever is
 * wrong elsewhere, so a pin used twice is reported together with a bad port.
 */
export const CROSS_CHECKS: ReadonlyArray<CrossCheck<Section>> = [
  cross(['mqtt'], (c) => publicListenerProblems(c.mqtt)),
  cross(['http'], (c) =>
    !isLoopback(c.http.host) && !c.http.token && c.http.users.length === 0
      ? [
          {
            path: ['http', 'token'],
            message: `expected a bearer token of 16 characters or more: http.host ${c.http.host} is not a loopback address`,
          },
        ]
      : [],
  ),
  cross(['boards'], (c) => checkBoards(c.boards)),
  cross(['boards', 'devices'], (c) => checkBoardSettings(c.boards, c.devices)),
  cross(['devices'], (c) => {
    const seen = new Set<string>();
    const out: Array<{ path: Array<string | number>; message: string }> = [];
    c.devices.forEach((d, i) => {
      if (seen.has(d.id)) out.push({ path: ['devices', i, 'id'], message: `duplicate device id ${d.id}` });
      seen.add(d.id);
    });
    return out;
  }),
  cross(['homeassistant', 'mqtt'], (c) =>
    c.homeassistant.discovery && !c.mqtt.republish
      ? [
          {
            path: ['mqtt', 'republish'],
            message:
              'expected true: homeassistant.discovery points Home Assistant at hub/readings/<device>/<sensor>',
          },
        ]
      : [],
  ),
];

export const configSchema = configFields.superRefine((c, ctx) => {
  for (const { check } of CROSS_CHECKS)
    for (const issue of check(c)) ctx.addIssue({ code: 'custom', ...issue });
});

/**
 * The cross-key problems of settings that failed validation: each section is validated
 * alone (with its defaults), and each check whose sections are all valid is run. Boards,
 * their sensors and devices count one by one: a valid entry is checked against the other
 * valid ones, whatever is wrong with an entry beside it (it is left out, its index kept).
 */
export function crossProblemsOf(
  raw: Record<string, unknown>,
  params?: Parameters<typeof configFields.safeParse>[1],
): Array<{ path: Array<string | number>; message: string }> {
  const shape = configFields.shape;
  const valid: Partial<Record<Section, unknown>> = {};
  const given = (key: string) => (Object.hasOwn(raw, key) ? raw[key] : undefined);
  for (const key of Object.keys(shape) as Section[]) {
    const r = shape[key].safeParse(given(key), params);
    if (r.success) valid[key] = r.data;
  }
  valid.boards ??= entries(given('boards'), (b) => {
    if (typeof b !== 'object' || b === null) return undefined;
    const head = board.safeParse({ ...b, sensors: [] }, params);
    const sensors = entries(
      (b as { sensors?: unknown }).sensors,
      (x) => boardSensor.safeParse(x, params).data,
    );
    return head.success && sensors ? { ...head.data, sensors } : undefined;
  });
  valid.devices ??= entries(given('devices'), (d) => device.safeParse(d, params).data);
  return CROSS_CHECKS.flatMap(({ uses, check }) =>
    uses.every((k) => valid[k] !== undefined) ? check(valid as ConfigFields) : [],
  );
}

/** A list's valid entries at their own indexes (holes where an entry is invalid); undefined if no list. */
function entries<T>(list: unknown, parse: (item: unknown) => T | undefined): T[] | undefined {
  if (list === undefined) return [];
  if (!Array.isArray(list)) return undefined;
  const out: T[] = new Array(list.length);
  list.forEach((item, i) => {
    const v = parse(item);
    if (v !== undefined) out[i] = v;
  });
  return out;
}

/** Carried (not enumerable) by every config that loadConfig or parseConfig returned. */
export const PARSED_CONFIG: unique symbol = Symbol.for('sensor-hub.parsed-config');

/** A validated, deep-frozen config with its defaults applied: only loadConfig and parseConfig make one. */
export type HubConfig = z.output<typeof configSchema> & { readonly [PARSED_CONFIG]: true };
export type HubConfigInput = z.input<typeof configSchema>;
