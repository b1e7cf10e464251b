import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { LogBudget } from '../core/log-budget.js';
import type { BrokerAccess, ConnectionInfo, Principal, SignInResult } from '../mqtt/access.js';
import { Acl, type AclRule, type TopicDevices } from './acl.js';
import { ReconnectGuard, type ReconnectLimits } from './flood.js';
import type { UserStore } from './users.js';

export interface MqttAccessOptions {
  users: UserStore;
  acl: readonly AclRule[];
  topics: TopicDevices;
  allowAnonymous: 'loopback' | boolean;
  reconnects: ReconnectLimits;
  log: Logger;
  /** A refusal, by reason (hub_mqtt_denied_total). */
  onDenied(reason: string): void;
}

/** A loopback peer: 127.0.0.0/8, ::1, or IPv4-mapped 127.x. */
export function isLoopbackAddress(addr: string | undefined): boolean {
  if (addr === undefined) return false;
  const a = addr.startsWith('::ffff:') && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
  return a === '::1' || /^127\.\d+\.\d+\.\d+$/.test(a);
}

/** Topics remembered per connection with their decision: a device publishes to a handful. */
const DECISIONS_PER_CLIENT = 256;

/**
 * Who may connect, publish and subscribe: users (UserStore), anonymous access, the ACL
 * with its device rule, and the reconnect ban. Every refusal is counted by reason and
 * logged within a budget (a misconfigured fleet costs a few lines a minute).
 */
export class MqttAccess implements BrokerAccess {
  readonly #acl: Acl;
  readonly #guard: ReconnectGuard;
  readonly #budget: LogBudget;
  readonly #decisions = new WeakMap<Principal, Map<string, string | undefined>>();

  constructor(private readonly opts: MqttAccessOptions) {
    this.#acl = new Acl(opts.acl, opts.topics);
    this.#guard = new ReconnectGuard(opts.reconnects);
    this.#budget = new LogBudget(opts.log, { perWindow: 20, summary: 'MQTT refusals' });
  }

  denied(reason: string, fields: Record<string, unknown>): void {
    this.opts.onDenied(reason);
    this.#budget.event('warn', reason, { reason, ...fields }, 'MQTT access denied');
  }

  async signIn(
    conn: ConnectionInfo,
    clientId: string,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<SignInResult> {
    const from = { clientId, remote: conn.remoteAddress, listener: conn.protocol };
    if (!this.#guard.connect(clientId)) {
      this.denied('banned', from);
      return { ok: false, returnCode: 5 };
    }
    if (conn.certUser !== undefined) return { ok: true, user: conn.certUser };
    const { users } = this.opts;
    if (username !== undefined && users.size > 0) {
      // Never the password, not even its length.
      const ok = await users.check(username, password?.toString('utf8') ?? '');
      if (ok) return { ok: true, user: username };
      this.denied('bad_credentials', { ...from, user: username });
      return { ok: false, returnCode: 4 };
    }
    const anonymous = this.opts.allowAnonymous;
    if (anonymous === true || (anonymous === 'loopback' && isLoopbackAddress(conn.remoteAddress)))
      return { ok: true, user: undefined };
    // With no users at all (a hub on loopback), a user name is not checked: as before.
    this.denied('anonymous', from);
    return { ok: false, returnCode: username === undefined ? 5 : 4 };
  }

  publish(p: Principal, topic: string): string | undefined {
    if (!this.#acl.enabled) return undefined;
    let seen = this.#decisions.get(p);
    if (!seen) {
      seen = new Map();
      this.#decisions.set(p, seen);
    }
    if (seen.has(topic)) return seen.get(topic);
    const why = this.#acl.publish(p, topic);
    if (seen.size >= DECISIONS_PER_CLIENT) seen.clear();
    seen.set(topic, why);
    return why;
  }

  subscribe(p: Principal, filter: string): string | undefined {
    return this.#acl.subscribe(p, filter);
  }
}
