import { z } from 'zod';

/**
 * Environment variables for every leaf key of a schema: `<PREFIX>_` plus the key's path in
 * upper snake case (`influx.batchSize` -> `HUB_INFLUX_BATCH_SIZE`). The keys and their
 * types come from zod's public JSON Schema export of the schema's input side, so a key
 * added to a schema gets its variable with no further change.
 */

export interface EnvKey {
  /** Path of the key in the schema, e.g. ['influx', 'batchSize']. */
  path: string[];
  /** Its environment variable, e.g. HUB_INFLUX_BATCH_SIZE. */
  name: string;
  /** JSON Schema types the key accepts on input ('integer', 'string', 'array', ...); empty when any. */
  types: string[];
}

/** PREFIX_ + path in SCREAMING_SNAKE_CASE: influx.batchSize -> HUB_INFLUX_BATCH_SIZE */
export function envName(path: readonly string[], prefix = 'HUB'): string {
  return `${prefix}_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

interface JsonNode {
  type?: string | string[];
  properties?: Record<string, JsonNode>;
  anyOf?: JsonNode[];
  oneOf?: JsonNode[];
  enum?: unknown[];
  const?: unknown;
  $ref?: string;
  $defs?: Record<string, JsonNode>;
  items?: JsonNode;
}

const cache = new WeakMap<z.ZodType, Map<string, EnvKey[]>>();
const jsonCache = new WeakMap<z.ZodType, JsonNode>();

function jsonSchemaOf(schema: z.ZodType): JsonNode {
  let root = jsonCache.get(schema);
  if (!root) {
    root = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonNode;
    jsonCache.set(schema, root);
  }
  return root;
}

/** The keys an object at `path` (list indexes included) may have, from the schema; [] when unknown. */
export function knownKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  const root = jsonSchemaOf(schema);
  const resolve = (n: JsonNode): JsonNode => {
    const ref = n.$ref?.match(/^#\/\$defs\/(.+)$/)?.[1];
    return ref && root.$defs?.[ref] ? resolve(root.$defs[ref]) : n;
  };
  let nodes: JsonNode[] = [root];
  for (const p of path) {
    const next: JsonNode[] = [];
    const visit = (node: JsonNode) => {
      const n = resolve(node);
      for (const alt of [...(n.anyOf ?? []), ...(n.oneOf ?? [])]) visit(alt);
      if (typeof p === 'number') {
        if (n.items) next.push(n.items);
      } else if (n.properties && Object.hasOwn(n.properties, p)) next.push(n.properties[String(p)]!);
    };
    for (const n of nodes) visit(n);
    nodes = next;
  }
  const keys = new Set<string>();
  const collect = (node: JsonNode) => {
    const n = resolve(node);
    for (const alt of [...(n.anyOf ?? []), ...(n.oneOf ?? [])]) collect(alt);
    for (const k of Object.keys(n.properties ?? {})) keys.add(k);
  };
  for (const n of nodes) collect(n);
  return [...keys];
}

/** Every leaf key of `schema` that an environment variable can set, with its variable. */
export function envKeys(schema: z.ZodType, prefix = 'HUB'): EnvKey[] {
  let byPrefix = cache.get(schema);
  const hit = byPrefix?.get(prefix);
  if (hit) return hit;
  // 'any' keeps keys whose type JSON Schema cannot express (a custom check): they get a
  // variable too, read as JSON when it parses and as a string otherwise.
  const root = jsonSchemaOf(schema);
  const resolve = (n: JsonNode): JsonNode => {
    const ref = n.$ref?.match(/^#\/\$defs\/(.+)$/)?.[1];
    return ref && root.$defs?.[ref] ? resolve(root.$defs[ref]) : n;
  };
  const out: EnvKey[] = [];
  const walk = (node: JsonNode, path: string[]) => {
    const n = resolve(node);
    if (n.properties && (n.type === 'object' || n.type === undefined)) {
      for (const [key, child] of Object.entries(n.properties)) walk(child, [...path, key]);
      return;
    }
    out.push({ path, name: envName(path, prefix), types: [...typesOf(n, resolve)] });
  };
  walk(root, []);
  if (!byPrefix) {
    byPrefix = new Map();
    cache.set(schema, byPrefix);
  }
  byPrefix.set(prefix, out);
  return out;
}

function typesOf(n: JsonNode, resolve: (n: JsonNode) => JsonNode): Set<string> {
  const types = new Set<string>();
  if (typeof n.type === 'string') types.add(n.type);
  else if (Array.isArray(n.type)) for (const t of n.type) types.add(t);
  for (const alt of [...(n.anyOf ?? []), ...(n.oneOf ?? [])])
    for (const t of typesOf(resolve(alt), resolve)) types.add(t);
  for (const v of [...(n.enum ?? []), ...('const' in n ? [n.const] : [])])
    types.add(typeof v === 'number' ? 'number' : typeof v);
  if (types.has('integer')) types.add('number');
  return types;
}

const TRUE = /^(true|1|yes|on)$/i;
const FALSE = /^(false|0|no|off)$/i;
const NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * An environment variable's text as the value its key takes: numbers and booleans
 * coerced, lists and objects read as JSON. Text that does not fit is passed on as it
 * is, so that validation reports it against the key.
 */
export function coerceEnv(raw: string, types: readonly string[]): unknown {
  const has = (t: string) => types.includes(t);
  const only = (...ts: string[]) => types.length > 0 && types.every((t) => ts.includes(t));
  if (only('number', 'integer')) {
    // Text that is no number stays text, so its problem can quote what was typed.
    const n = Number(raw);
    return raw.trim() === '' || Number.isNaN(n) ? raw : n;
  }
  if (only('boolean')) return TRUE.test(raw) ? true : FALSE.test(raw) ? false : raw;
  if (types.length === 0 || has('array') || has('object')) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  // A union with text ("5s" or 5000, "auto" or 4, "loopback" or true).
  if (has('number') && NUMBER.test(raw)) return Number(raw);
  if (has('boolean') && /^(true|false)$/i.test(raw)) return raw.toLowerCase() === 'true';
  return raw;
}

function setIn(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = target;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

/**
 * Sets each key of `schema` whose variable is in `env` into `raw` (in place) and
 * returns, for each dotted path set, the name of the variable that set it.
 */
export function applyEnv(
  schema: z.ZodType,
  raw: Record<string, unknown>,
  env: Readonly<Record<string, string | undefined>>,
  prefix = 'HUB',
): Map<string, string> {
  const origins = new Map<string, string>();
  for (const key of envKeys(schema, prefix)) {
    const value = env[key.name];
    if (value === undefined) continue;
    setIn(raw, key.path, coerceEnv(value, key.types));
    origins.set(dotted(key.path), key.name);
  }
  return origins;
}

/** Dotted path with indexes, e.g. boards[0].sensors[1].pin */
export function dotted(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}
