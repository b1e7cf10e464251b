import { RejectError } from '../../hub/core/errors.js';
import type { Mqtt5Properties } from '../../hub/core/raw-message.js';

/**
 * Reading metadata an MQTT 5 publish carries as user properties [MQTT-3.3.2.3.7] instead
 * of a JSON wrapper: `sensors/<device>/<sensor>` with payload `21.5` and the properties
 * `unit=°C`, `metric=temperature`, `ts=1790000000000` (or an RFC 3339 time).
 */
export interface ReadingMeta {
  unit?: string;
  metric?: string;
  ts?: string;
}

/** How the payload is to be read, from the Content Type [MQTT-3.3.2.3.9]. */
export type PayloadKind = 'json' | 'text' | 'sniff';

/**
 * Longest metadata value read. Units and metric names are short, an RFC 3339 time is
 * 35 characters at most; anything longer is a mistake or an attack, refused before it
 * reaches a lookup or an error message.
 */
export const MAX_META_CHARS = 64;

const KEYS = ['unit', 'metric', 'ts'] as const;

/**
 * The metadata user properties of a publish. Keys other than these three are left alone
 * (firmware sends its own, e.g. `fw=1.2`), and a key is read only as an own property of
 * the record, so `__proto__` or `constructor` is just another ignored key. A key sent
 * twice counts once when both values agree; disagreeing values are refused: there is no
 * telling which one the device meant.
 */
export function readingMeta(props: Mqtt5Properties | undefined): ReadingMeta | undefined {
  const user = props?.userProperties;
  if (!user) return undefined;
  let meta: ReadingMeta | undefined;
  for (const key of KEYS) {
    if (!Object.hasOwn(user, key)) continue;
    const raw = user[key];
    let value: string;
    if (Array.isArray(raw)) {
      const first = raw[0];
      if (typeof first !== 'string' || raw.some((v) => v !== first)) {
        throw new RejectError(
          'invalid_shape',
          `user property ${key} is given ${raw.length} times with different values`,
        );
      }
      value = first;
    } else if (typeof raw === 'string') value = raw;
    else continue;
    if (value.length > MAX_META_CHARS) {
      throw new RejectError(
        'invalid_shape',
        `user property ${key} is ${value.length} characters long (at most ${MAX_META_CHARS})`,
      );
    }
    meta ??= {};
    meta[key] = value.trim();
  }
  return meta;
}

/**
 * What the Content Type says about the payload: `application/json` (any `+json` type is
 * not taken: SenML and others have shapes of their own), `text/plain`, or none (the
 * payload is sniffed: `{` starts JSON). Parameters other than a UTF-8 charset are
 * refused, as is any other type: the hub cannot read it and says so.
 */
export function payloadKind(props: Mqtt5Properties | undefined): PayloadKind {
  const ct = props?.contentType;
  if (ct === undefined || ct.trim() === '') return 'sniff';
  const [type = '', ...params] = ct.split(';').map((p) => p.trim().toLowerCase());
  for (const p of params) {
    const [name, value = ''] = p.split('=').map((s) => s.trim());
    if (name === 'charset' && /^"?(utf-8|utf8|us-ascii)"?$/.test(value)) continue;
    throw new RejectError(
      'invalid_shape',
      `content type parameter ${JSON.stringify(p.slice(0, MAX_META_CHARS))} is not read (UTF-8 only)`,
    );
  }
  if (type === 'application/json') return 'json';
  if (type === 'text/plain') return 'text';
  throw new RejectError(
    'invalid_shape',
    `content type ${JSON.stringify(type.slice(0, MAX_META_CHARS))} is not read here (application/json or text/plain)`,
  );
}
