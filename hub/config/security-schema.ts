import { z } from 'zod';
import { duration } from './common.js';

/**
 * The security keys of the mqtt and http sections (docs/security.md): users, anonymous
 * access, the ACL, listeners, flood limits, HTTP roles and HTTPS.
 */

const filter = z
  .string()
  .min(1)
  .refine((f) => !/#./.test(f) && f.split('/').every((l) => l === '+' || l === '#' || !/[+#]/.test(l)), {
    message: 'expected an MQTT topic filter (+ and # only as whole levels, # last)',
  });

export const aclRule = z.strictObject({
  /** A user name, `*` globs allowed; absent: any client (anonymous ones too). */
  user: z.string().min(1).optional(),
  /** A client id, `*` globs allowed. */
  clientId: z.string().min(1).optional(),
  /** Devices whose readings the user may publish in every format; default ["%u"]. */
  devices: z.array(z.string().min(1)).optional(),
  publish: z.array(filter).default([]),
  subscribe: z.array(filter).default([]),
});

const port = z.number().int().min(0).max(65535);

export const LISTENER_PROTOCOLS = ['mqtt', 'mqtts', 'ws', 'wss'] as const;

/** Certificate files of a TLS listener; without cert and key the hub makes its own (<dataDir>/tls). */
const tlsFields = {
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  /** CA bundle that client certificates must chain to (default: the hub's own CA when it made one). */
  ca: z.string().min(1).optional(),
  requireClientCert: z.boolean().default(false),
  /** Take the user name from the client certificate's CN (no password needed). */
  useCertCNAsUser: z.boolean().default(false),
};

export const listener = z
  .strictObject({
    protocol: z.enum(LISTENER_PROTOCOLS),
    host: z.string().min(1).default('127.0.0.1'),
    port,
    ...tlsFields,
  })
  .superRefine((l, ctx) => {
    const tls = l.protocol === 'mqtts' || l.protocol === 'wss';
    if ((l.cert === undefined) !== (l.key === undefined))
      ctx.addIssue({
        code: 'custom',
        path: [l.cert ? 'key' : 'cert'],
        message: 'expected cert and key together',
      });
    if (!tls && (l.cert || l.key || l.ca || l.requireClientCert || l.useCertCNAsUser))
      ctx.addIssue({
        code: 'custom',
        path: ['protocol'],
        message: `${l.protocol} has no TLS: cert, key, ca and client certificates need mqtts or wss`,
      });
    if (l.useCertCNAsUser && !l.requireClientCert)
      ctx.addIssue({
        code: 'custom',
        path: ['requireClientCert'],
        message: 'expected true: useCertCNAsUser reads the client certificate',
      });
  });

export type ListenerConfig = z.output<typeof listener>;

export const limits = z.strictObject({
  /** Connections at once over all listeners; one more is closed at once. */
  maxConnections: z.number().int().min(1).default(10_000),
  /** Publishes per second of one client; past it the client is read more slowly (0: no limit). */
  messagesPerSecond: z.number().int().min(0).default(20_000),
  /** Bytes per second of one client, as backpressure too (0: no limit). */
  bytesPerSecond: z
    .number()
    .int()
    .min(0)
    .default(8 * 1024 * 1024),
  /** A client id that connects more than this often within reconnectWindow is banned for banFor. */
  maxReconnects: z.number().int().min(1).default(120),
  reconnectWindow: duration.default(60_000),
  banFor: duration.default(60_000),
});

/** Fields of the mqtt section. */
export const mqttSecurityFields = {
  /** A password file written by `sensor-hub passwd` (or mosquitto_passwd); reloaded on SIGHUP. */
  passwordFile: z.string().min(1).optional(),
  /** Clients without a user name: from loopback addresses only (default), always, or never. */
  allowAnonymous: z.union([z.literal('loopback'), z.boolean()]).default('loopback'),
  acl: z.array(aclRule).default([]),
  /** The whole list of listeners; without it mqtt.host and mqtt.port make one plain listener. */
  listeners: z.array(listener).optional(),
  limits: limits.default(limits.parse({})),
};

export const HTTP_ROLES = ['viewer', 'admin'] as const;
export type HttpRole = (typeof HTTP_ROLES)[number];

/** Fields of the http section. */
export const httpSecurityFields = {
  /** Who may sign in to the dashboard and API (passwords from mqtt.passwordFile or mqtt.users). */
  users: z.array(z.strictObject({ username: z.string().min(1), role: z.enum(HTTP_ROLES) })).default([]),
  /** https: TLS with cert/key, or the hub's own certificate when they are absent. */
  protocol: z.enum(['http', 'https']).default('http'),
  cert: tlsFields.cert,
  key: tlsFields.key,
  ca: tlsFields.ca,
  /** How long a dashboard sign-in lasts. */
  sessionTtl: duration.default(12 * 3_600_000),
};
