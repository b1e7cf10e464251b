import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { HubError } from '../errors.js';
import { configSchema, type HubConfig } from './schema.js';

export interface ConfigProblem {
  /** Dotted path with indexes, e.g. boards[0].sensors[1].pin */
  path: string;
  message: string;
  /** Where it was set: "hub.yaml:12:9", "HUB_MQTT_PORT", or "default". */
  origin?: string;
}

export class ConfigError extends HubError {
  readonly problems: ConfigProblem[];
  constructor(
    problems: ConfigProblem[],
    code: 'HUB_CONFIG_INVALID' | 'HUB_CONFIG_UNREADABLE' = 'HUB_CONFIG_INVALID',
  ) {
    super(code, `invalid configuration:\n${formatProblems(problems)}`);
    this.problems = problems;
  }
}

export function formatProblems(problems: ConfigProblem[]): string {
  return problems
    .map((p) => `  ${p.origin ? `${p.origin}: ` : ''}${p.path || '(root)'}: ${p.message}`)
    .join('\n');
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

type AnySchema = z.ZodType & { _zod: { def: { type: string; innerType?: AnySchema; in?: AnySchema } } };

function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (;;) {
    const def = cur._zod.def;
    if ((def.type === 'default' || def.type === 'optional' || def.type === 'prefault') && def.innerType)
      cur = def.innerType;
    else if (def.type === 'pipe' && def.in) cur = def.in;
    else return cur;
  }
}

/** HUB_ + path in SCREAMING_SNAKE_CASE: influx.batchSize -> HUB_INFLUX_BATCH_SIZE */
export function envName(path: readonly string[]): string {
  return `HUB_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

interface EnvKey {
  path: string[];
  kind: string;
}

/** Every key of the schema that an environment variable can set. */
export function envKeys(
  schema: AnySchema = configSchema as unknown as AnySchema,
  prefix: string[] = [],
): EnvKey[] {
  const s = unwrap(schema);
  if (s._zod.def.type === 'object') {
    const shape = (s as unknown as z.ZodObject).shape as Record<string, AnySchema>;
    return Object.entries(shape).flatMap(([k, v]) => envKeys(v, [...prefix, k]));
  }
  return [{ path: prefix, kind: s._zod.def.type }];
}

function coerceEnv(raw: string, kind: string): unknown {
  if (kind === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (kind === 'boolean') {
    if (/^(true|1|yes|on)$/i.test(raw)) return true;
    if (/^(false|0|no|off)$/i.test(raw)) return false;
    return raw;
  }
  if (kind === 'array' || kind === 'record' || kind === 'object') {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  if (kind === 'union' && /^\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

function setIn(target: Record<string, unknown>, path: string[], value: unknown): void {
  let cur = target;
  for (const key of path.slice(0, -1)) {
    const next = cur[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[key] = {};
    cur = cur[key] as Record<string, unknown>;
  }
  cur[path[path.length - 1]!] = value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

export interface LoadOptions {
  /** YAML file path. */
  file?: string;
  /** Already-parsed settings (library use); the file and environment apply on top of nothing else. */
  input?: unknown;
  env?: NodeJS.ProcessEnv;
}

/**
 * Reads the YAML file (if any), applies HUB_* environment variables on top, and
 * validates once. Every problem is reported together, each with its path and where
 * the value came from. The result is frozen.
 */
export function loadConfig(opts: LoadOptions = {}): HubConfig {
  let raw: Record<string, unknown> = {};
  const origins = new Map<string, string>();
  let positionOf: (path: ReadonlyArray<PropertyKey>) => string | undefined = () => undefined;

  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new ConfigError(
        [{ path: '', message: `cannot read ${opts.file}: ${(err as Error).message}` }],
        'HUB_CONFIG_UNREADABLE',
      );
    }
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
    if (doc.errors.length > 0) {
      throw new ConfigError(
        doc.errors.map((e) => {
          const pos = lc.linePos(e.pos[0]);
          return {
            path: '',
            origin: `${opts.file}:${pos.line}:${pos.col}`,
            message: e.message.split('\n')[0]!,
          };
        }),
        'HUB_CONFIG_UNREADABLE',
      );
    }
    const js = doc.toJS() ?? {};
    if (typeof js !== 'object' || Array.isArray(js)) {
      throw new ConfigError([
        { path: '', origin: opts.file, message: 'expected a mapping of settings at the top level' },
      ]);
    }
    raw = js as Record<string, unknown>;
    const file = opts.file;
    positionOf = (path) => {
      // Walk up to the nearest node that exists, so a missing key points at its parent.
      for (let n = path.length; n >= 0; n--) {
        const node = doc.getIn(path.slice(0, n) as unknown[], true) as
          | { range?: [number, number, number] }
          | undefined;
        if (node?.range) {
          const pos = lc.linePos(node.range[0]);
          return `${file}:${pos.line}:${pos.col}`;
        }
      }
      return file;
    };
  } else if (opts.input !== undefined) {
    raw = structuredClone(opts.input) as Record<string, unknown>;
  }

  const env = opts.env ?? process.env;
  for (const key of envKeys()) {
    const name = envName(key.path);
    const value = env[name];
    if (value === undefined) continue;
    setIn(raw, key.path, coerceEnv(value, key.kind));
    origins.set(formatPath(key.path), name);
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = formatPath(issue.path);
      const envOrigin = [...origins].find(
        ([p]) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`),
      );
      return { path, message: issue.message, origin: envOrigin?.[1] ?? positionOf(issue.path) };
    });
    throw new ConfigError(problems);
  }
  return deepFreeze(result.data);
}
