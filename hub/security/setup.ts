import type { Logger } from 'pino';
import { type HubConfig, isLoopback } from '../config/schema.js';
import { HubError } from '../core/errors.js';
import type { ListenerSpec } from '../mqtt/listeners.js';
import type { TopicDevices } from './acl.js';
import { MqttAccess } from './mqtt-access.js';
import { type HubCertificates, hubCertificates, readTlsFile } from './tls.js';
import { UserStore } from './users.js';

export interface SecurityParts {
  users: UserStore;
  access: MqttAccess;
  listeners: ListenerSpec[];
  /** TLS material of the HTTP server when http.protocol is https. */
  httpTls: { cert: string; key: string; ca?: string } | undefined;
}

/**
 * Makes the hub's access control from the config: users (read now: a password file that
 * cannot be read stops the start), the ACL, and every listener with its TLS material,
 * the hub's own certificates made on first use.
 */
export async function setUpSecurity(
  config: HubConfig,
  topics: TopicDevices,
  log: Logger,
  onDenied: (reason: string) => void,
): Promise<SecurityParts> {
  const m = config.mqtt;
  const users = new UserStore({ passwordFile: m.passwordFile, plain: m.users, log });
  users.load();
  const configured = m.listeners ?? [
    {
      protocol: 'mqtt' as const,
      host: m.host,
      port: m.port,
      requireClientCert: false,
      useCertCNAsUser: false,
    },
  ];
  // The config check sees that a user source is named; whether it holds anyone is known now.
  for (const l of configured)
    if (!isLoopback(l.host) && users.size === 0 && !l.useCertCNAsUser)
      throw new HubError(
        'HUB_PASSWORD_FILE',
        `the ${l.protocol} listener on ${l.host} is not on a loopback address and ${m.passwordFile ?? 'mqtt.users'} holds no users; add one with sensor-hub passwd`,
      );
  if (config.http.users.length > 0 && users.size === 0)
    log.warn('http.users is set but no user has a password: set mqtt.passwordFile (sensor-hub passwd)');
  if (m.allowAnonymous === true && configured.some((l) => !isLoopback(l.host)))
    log.warn(
      'mqtt.allowAnonymous is true: anyone who reaches a listener off loopback may connect without a password',
    );

  let own: HubCertificates | undefined;
  const ownCerts = async () => {
    if (!own) {
      const made = await hubCertificates(config.dataDir);
      own = made;
      log.info(
        { ca: made.caPath, sha256: made.caFingerprint, created: made.created },
        `TLS: the hub's CA is ${made.caPath} (SHA-256 ${made.caFingerprint}); give it to clients (mosquitto_pub --cafile)`,
      );
    }
    return own;
  };
  const listeners: ListenerSpec[] = [];
  for (const l of configured) {
    if (l.protocol === 'mqtt' || l.protocol === 'ws') {
      listeners.push({ protocol: l.protocol, host: l.host, port: l.port });
      continue;
    }
    const mine = l.cert === undefined ? await ownCerts() : undefined;
    const ca =
      l.ca !== undefined
        ? readTlsFile(l.ca, 'ca')
        : l.requireClientCert
          ? (mine ?? (await ownCerts())).ca
          : undefined;
    listeners.push({
      protocol: l.protocol,
      host: l.host,
      port: l.port,
      tls: {
        cert: mine ? mine.cert : readTlsFile(l.cert!, 'cert'),
        key: mine ? mine.key : readTlsFile(l.key!, 'key'),
        ca,
        requireClientCert: l.requireClientCert,
        useCertCNAsUser: l.useCertCNAsUser,
      },
    });
  }
  const h = config.http;
  let httpTls: SecurityParts['httpTls'];
  if (h.protocol === 'https') {
    if (h.cert !== undefined && h.key !== undefined)
      httpTls = {
        cert: readTlsFile(h.cert, 'http.cert'),
        key: readTlsFile(h.key, 'http.key'),
        ...(h.ca ? { ca: readTlsFile(h.ca, 'http.ca') } : {}),
      };
    else {
      const c = await ownCerts();
      httpTls = { cert: c.cert, key: c.key };
    }
  }
  const access = new MqttAccess({
    users,
    acl: m.acl,
    topics,
    allowAnonymous: m.allowAnonymous,
    reconnects: m.limits,
    log,
    onDenied,
  });
  return { users, access, listeners, httpTls };
}
