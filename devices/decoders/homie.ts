import type { Availability } from '../../hub/core/bus.js';
import { RejectError } from '../../hub/core/errors.js';
import type { RawMessage } from '../../hub/core/raw-message.js';
import type { DecodeContext, DecodeResult, DecoderDefinition } from '../decoder.js';
import { guessMetric, jsonObject, metricFromUnit, own } from './common.js';
import { isPlainObject, payloadText } from './payload.js';

/** What the device announced about one property ($datatype, $unit). */
interface PropMeta {
  datatype?: string;
  unit?: string;
}

/** Datatypes whose payload is a number or a boolean; the rest (string, enum, color, ...) are not readings. */
const NUMERIC = new Set(['integer', 'float', 'boolean']);

/**
 * Device lifecycle to availability (homieiot convention, "Device Lifecycle"). `init`
 * says nothing yet; `sleeping` is reported offline: it sends nothing until it wakes.
 */
const STATES: Record<string, Availability | undefined> = {
  ready: 'online',
  alert: 'online',
  init: undefined,
  sleeping: 'offline',
  disconnected: 'offline',
  lost: 'offline',
};

const key = (device: string, node: string, prop: string) => `homie:${device}/${node}/${prop}`;

function propMeta(ctx: DecodeContext, k: string): PropMeta {
  return ctx.meta.get<PropMeta>(k) ?? {};
}

/** The id of a node or property in a list; anything but a string or number names none. */
const idOf = (o: unknown): string =>
  isPlainObject(o) && (typeof o.id === 'string' || typeof o.id === 'number') ? String(o.id) : '';

/** Homie 5 puts every node and property in one `$description` JSON document. */
function learnDescription(ctx: DecodeContext, device: string, doc: Record<string, unknown>): void {
  const nodes = doc.nodes;
  const entries: Array<[string, unknown]> = Array.isArray(nodes)
    ? nodes.map((n) => [idOf(n), n])
    : isPlainObject(nodes)
      ? Object.entries(nodes)
      : [];
  for (const [nodeId, node] of entries) {
    if (!isPlainObject(node)) continue;
    const props = node.properties;
    const pe: Array<[string, unknown]> = Array.isArray(props)
      ? props.map((p) => [idOf(p), p])
      : isPlainObject(props)
        ? Object.entries(props)
        : [];
    for (const [propId, p] of pe) {
      if (!isPlainObject(p)) continue;
      const m: PropMeta = {};
      if (typeof p.datatype === 'string') m.datatype = p.datatype;
      if (typeof p.unit === 'string') m.unit = p.unit;
      ctx.meta.set(key(device, nodeId, propId), m);
    }
  }
}

function decodeHomie(msg: RawMessage, rest: readonly string[], ctx: DecodeContext): DecodeResult {
  const none: DecodeResult = { candidates: [] };
  const device = rest[0]!;
  if (device === '$broadcast') return none;
  // device attributes: $state, $homie, $name, $description, $nodes, $stats/..., $log, $alert/...
  if (rest[1]?.startsWith('$')) {
    if (rest.length !== 2) return none;
    if (rest[1] === '$state') {
      const state = payloadText(msg.payload).trim();
      if (!Object.hasOwn(STATES, state))
        throw new RejectError('invalid_shape', `unknown Homie $state ${JSON.stringify(state.slice(0, 32))}`);
      const a = own(STATES, state);
      return a ? { candidates: [], availability: [{ device, state: a }] } : none;
    }
    if (rest[1] === '$description') learnDescription(ctx, device, jsonObject(msg, '$description'));
    return none;
  }
  if (rest.length < 3) return none;
  const [, node, prop, attr] = rest as [string, string, string, string | undefined];
  if (node.startsWith('$') || prop.startsWith('$')) return none; // node attributes
  const k = key(device, node, prop);
  if (rest.length === 4) {
    // Homie 3/4 property attributes; a zero-length payload removes one.
    if (attr === '$unit' || attr === '$datatype') {
      const m = { ...propMeta(ctx, k) };
      const text = msg.payload.length === 0 ? '' : payloadText(msg.payload).trim();
      if (attr === '$unit') m.unit = text;
      else m.datatype = text;
      ctx.meta.set(k, m);
    }
    return none; // set, $name, $settable, $format, $retained
  }
  if (rest.length !== 3) return none;
  const m = propMeta(ctx, k);
  if (m.datatype && !NUMERIC.has(m.datatype)) return none;
  const unit = m.unit === '#' ? '1' : m.unit || undefined;
  const metric = guessMetric(prop) ?? metricFromUnit(unit) ?? guessMetric(node);
  return {
    candidates: [
      {
        device,
        sensor: `${node}.${prop}`,
        metric: metric ?? prop,
        value: payloadText(msg.payload).trim(),
        ...(unit === undefined ? {} : { unit }),
      },
    ],
  };
}

/**
 * Homie convention 3.0, 4.0 (`homie/<device>/<node>/<property>`, attributes
 * `$unit`/`$datatype` as retained topics) and 5.0 (`homie/5/<device>/...`, attributes
 * in the `$description` JSON). Values of integer, float and boolean properties become
 * readings (sensor `<node>.<property>`); `$state` gives availability. The metadata
 * is retained and arrives before the values (the device publishes it first).
 */
export const homieDecoder: DecoderDefinition = {
  name: 'homie',
  topics: ['homie/<device>/<node>/<property>', 'homie/<device>/$state', 'homie/5/<device>/...'],
  match: (levels) => levels[0] === 'homie' && levels.length >= 3,
  deviceOf: (levels) => (levels[1] === '5' ? levels[2] : levels[1]),
  decode(msg, levels, ctx) {
    // Homie 5 moved devices one level down (homie/5/<device>); a 3/4 device named
    // "5" reads as v5 here, a collision the v5 spec accepted.
    const rest =
      levels[1] === '5' && levels.length >= 3 && !levels[2]!.startsWith('$')
        ? levels.slice(2)
        : levels.slice(1);
    return decodeHomie(msg, rest, ctx);
  },
};
