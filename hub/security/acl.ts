import { topicMatches } from '../core/topic.js';

/** One ACL rule from mqtt.acl. */
export interface AclRule {
  /** Whom it applies to: a user name (glob, `*` for any signed-in user); absent: anyone. */
  user?: string | undefined;
  /** And/or a client id (glob); absent: any. */
  clientId?: string | undefined;
  /** Devices whose readings this user may publish, in every format (globs; `%u`, `%c`). */
  devices?: readonly string[] | undefined;
  /** Topic filters it may publish to, beside its devices' readings (`%u`, `%c`). */
  publish?: readonly string[] | undefined;
  /** Topic filters it may subscribe to (a subscription must lie within one). */
  subscribe?: readonly string[] | undefined;
}

/** Who a connection is: the signed-in user (undefined when anonymous) and its client id. */
export interface Principal {
  readonly user: string | undefined;
  readonly clientId: string;
}

/** Why a publish or subscription was refused (a label of hub_mqtt_denied_total). */
export type AclDenial = 'not_own_device' | 'publish_not_allowed' | 'subscribe_not_allowed';

/** The device a topic carries readings of, as the hub's decoders read it. */
export interface TopicDevices {
  /**
   * undefined: no format reads the topic; null: a format reads it, but it speaks for no
   * one device (Zigbee2MQTT's bridge, Home Assistant discovery).
   */
  deviceOf(topic: string): string | null | undefined;
}

/** Default devices of a signed-in user: the one named like it. */
const OWN_DEVICE = ['%u'] as const;

/** A glob with `*` (any run of characters) as a matcher; everything else literal. */
function glob(pattern: string): (s: string) => boolean {
  if (!pattern.includes('*')) return (s) => s === pattern;
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`, 's');
  return (s) => re.test(s);
}
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `%u` and `%c` replaced by the user name and client id; undefined when the pattern needs
 * a user and there is none, or when a value would add topic levels or wildcards (a
 * client id `a/#` must not widen `sensors/%c/#`).
 */
export function substitute(pattern: string, p: Principal): string | undefined {
  if (!pattern.includes('%')) return pattern;
  const unsafe = (v: string) => v.includes('/') || v.includes('+') || v.includes('#') || v === '';
  if (pattern.includes('%u') && (p.user === undefined || unsafe(p.user))) return undefined;
  if (pattern.includes('%c') && unsafe(p.clientId)) return undefined;
  return pattern.replaceAll('%u', p.user ?? '').replaceAll('%c', p.clientId);
}

/**
 * Whether every topic `filter` matches is matched by `allowed` too: a subscription is
 * granted only when it lies within an allowed filter, so `#` is not granted by `sensors/#`.
 */
export function filterWithin(filter: string, allowed: string): boolean {
  const f = filter.split('/');
  const a = allowed.split('/');
  for (let i = 0; i < f.length; i++) {
    const al = a[i];
    if (al === '#') return true;
    if (al === undefined) return false;
    const fl = f[i]!;
    if (fl === '#') return false;
    if (al === '+') continue;
    if (fl === '+' || fl !== al) return false;
  }
  // `a/b` within `a/b/#` ('#' also matches its parent level [MQTT-4.7.1-2]).
  return f.length === a.length || (a.length === f.length + 1 && a[f.length] === '#');
}

interface Compiled {
  user: ((s: string) => boolean) | undefined;
  clientId: ((s: string) => boolean) | undefined;
  devices: readonly string[] | undefined;
  publish: readonly string[];
  subscribe: readonly string[];
}

/**
 * The ACL: with no rules everything but the hub's own topics is allowed (a hub on a
 * laptop); once a rule exists, what no rule allows is refused. A publish is allowed by a
 * `publish` filter of a rule that applies to the client, or, for a topic a payload
 * format reads, when the device it names is one of the client's devices (its rules'
 * `devices`, by default the one named like the user), whatever the format.
 */
export class Acl {
  readonly #rules: readonly Compiled[];

  constructor(
    rules: readonly AclRule[],
    private readonly topics: TopicDevices,
  ) {
    this.#rules = rules.map((r) => ({
      user: r.user === undefined ? undefined : glob(r.user),
      clientId: r.clientId === undefined ? undefined : glob(r.clientId),
      devices: r.devices,
      publish: r.publish ?? [],
      subscribe: r.subscribe ?? [],
    }));
  }

  get enabled(): boolean {
    return this.#rules.length > 0;
  }

  #applying(p: Principal): Compiled[] {
    return this.#rules.filter(
      (r) =>
        (r.user === undefined || (p.user !== undefined && r.user(p.user))) &&
        (r.clientId === undefined || r.clientId(p.clientId)),
    );
  }

  /** Why `p` may not publish to `topic`, or undefined when it may. The hub's own topics are refused before. */
  publish(p: Principal, topic: string): AclDenial | undefined {
    if (!this.enabled) return undefined;
    const rules = this.#applying(p);
    for (const r of rules)
      for (const f of r.publish) {
        const s = substitute(f, p);
        if (s !== undefined && topicMatches(s, topic)) return undefined;
      }
    const device = this.topics.deviceOf(topic);
    if (device === undefined) return 'publish_not_allowed';
    if (device === null) return 'not_own_device';
    const named = rules.filter((r) => r.devices !== undefined);
    const globs =
      named.length > 0 ? named.flatMap((r) => r.devices!) : p.user === undefined ? [] : OWN_DEVICE;
    for (const g of globs) {
      const s = substitute(g, p);
      if (s !== undefined && glob(s)(device)) return undefined;
    }
    return 'not_own_device';
  }

  /** Why `p` may not subscribe to `filter`, or undefined when it may. */
  subscribe(p: Principal, filter: string): AclDenial | undefined {
    if (!this.enabled) return undefined;
    for (const r of this.#applying(p))
      for (const f of r.subscribe) {
        const s = substitute(f, p);
        if (s !== undefined && filterWithin(filter, s)) return undefined;
      }
    return 'subscribe_not_allowed';
  }
}
