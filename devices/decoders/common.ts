import { RejectError } from '../../hub/core/errors.js';
import { metricFor } from '../../hub/core/metrics.js';
import type { RawMessage } from '../../hub/core/raw-message.js';
import { resolveUnit } from '../../hub/core/units.js';
import { isPlainObject, parseJson, payloadText } from './payload.js';

/** The payload as a JSON object, or a RejectError naming what it is instead. */
export function jsonObject(msg: RawMessage, what: string): Record<string, unknown> {
  const text = payloadText(msg.payload).trim();
  const json = parseJson(text);
  if (!isPlainObject(json)) {
    const kind = Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json;
    throw new RejectError('invalid_shape', `${what} expects a JSON object, got ${kind}`);
  }
  return json;
}

/**
 * A device or friendly name as an id of the canonical alphabet: every other
 * character becomes "_" ("Living room/TH" -> "Living_room_TH"). Deterministic, so
 * the same device keeps its id; the original stays in the topic of quarantine entries.
 */
export function sanitizeId(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
}

/**
 * The metric a sensor name stands for, also when it is a phrase
 * ("living_room_temperature", "bme280-pressure"): the last word that names a metric wins.
 */
export function guessMetric(name: string): string | undefined {
  const direct = metricFor(name);
  if (direct) return direct;
  const words = name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  for (let i = words.length - 1; i >= 0; i--) {
    const m = metricFor(words[i]!);
    if (m) return m;
  }
  return undefined;
}

const BY_BASE: Record<string, string> = {
  Cel: 'temperature',
  Pa: 'pressure',
  lx: 'illuminance',
  '%RH': 'humidity',
};

/** When the name says nothing, a unit of an unambiguous quantity does (°F -> temperature). */
export function metricFromUnit(unit: string | undefined): string | undefined {
  if (unit === undefined) return undefined;
  const u = resolveUnit(unit);
  return u ? BY_BASE[u.base] : undefined;
}

/** Reads a dotted path with [n] indexes ("main.temp", "list[0].v"); "" or "$" is the root. */
export function atPath(root: unknown, path: string): unknown {
  const p = path.replace(/^\$\.?/, '');
  if (p === '') return root;
  let cur: unknown = root;
  for (const part of p.split(/\.|\[(\d+)\]/).filter((s) => s !== undefined && s !== '')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (!Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/**
 * A table lookup by a key from the payload: own properties only, so "__proto__",
 * "constructor" or "toString" in hostile JSON never reach Object.prototype.
 */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
