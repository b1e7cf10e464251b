import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { HubError } from '../core/errors.js';
import { applyEnv, dotted, envName, knownKeysAt } from './env.js';
import { configErrorMap, didYouMean } from './messages.js';
import {
  configSchema,
  crossProblemsOf,
  type HubConfig,
  type HubConfigInput,
  PARSED_CONFIG,
} from './schema.js';

export interface ConfigProblem {
  /** Dotted path with indexes, e.g. boards[0].sensors[1].pin */
  path: string;
  message: string;
  /** Where it was set: "hub.yaml:12:9", "HUB_MQTT_PORT", "overrides" or "--devices". */
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

export function formatProblems(problems: ConfigProblem[], opts: { terse?: boolean } = {}): string {
  return problems
    .map((p) => {
      // Tersely, a variable that names its key says the path already (HUB_MQTT_PORT is mqtt.port).
      const pathSaid = !p.path || (opts.terse && p.origin !== undefined && p.origin === envNameOf(p.path));
      return `  ${p.origin ? `${p.origin}: ` : ''}${pathSaid ? '' : `${p.path}: `}${p.message}`;
    })
    .join('\n');
}

const envNameOf = (dottedPath: string) =>
  /^[A-Za-z.]+$/.test(dottedPath) ? envName(dottedPath.split('.')) : undefined;

/** The variable naming the config file when no file is given (the file cannot name itself). */
export const CONFIG_FILE_VARIABLE = 'HUB_CONFIG';

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
  /** YAML file; default: the file named by HUB_CONFIG in `env`, else none. */
  file?: string;
  /** Where HUB_* variables are read; default process.env. Pass {} to ignore the environment. */
  env?: Env;
  /** Settings under the file and the environment: used where neither sets a key. */
  defaults?: HubConfigInput;
  /** Settings over the file and the environment. */
  overrides?: HubConfigInput;
  /** Told what is valid but probably not meant (an empty file). */
  onWarning?: (message: string) => void;
}

/**
 * Builds the hub's config: `defaults`, then the YAML file, then HUB_* environment
 * variables, then `overrides`, each layer merged key by key into the one below (lists
 * are replaced whole), validated once. Every problem is reported together in a
 * ConfigError, each with its path and where the value came from. The result is
 * deep-frozen and is what startHub takes.
 */
export function loadConfig(opts: LoadOptions = {}): HubConfig {
  const env = opts.env ?? process.env;
  const fromEnv = opts.file === undefined && !!env[CONFIG_FILE_VARIABLE];
  const file = opts.file ?? (env[CONFIG_FILE_VARIABLE] || undefined);
  const fileLayer = file ? readYaml(file, fromEnv ? CONFIG_FILE_VARIABLE : undefined) : undefined;
  if (fileLayer?.empty)
    opts.onWarning?.(`${file} has no settings: the hub runs on its defaults and HUB_* variables`);

  let raw = merge({}, clone(opts.defaults));
  if (fileLayer) raw = merge(raw, fileLayer.settings);
  const envOrigins = applyEnv(configSchema, raw, env);
  const overridden = leafPaths(opts.overrides);
  raw = merge(raw, clone(opts.overrides));

  return finish(
    validate(
      configSchema,
      raw,
      (path, at) => {
        const p = dotted(path);
        return (
          originOf(envOrigins, p) ??
          (overridden.some((o) => covers(o, p)) ? 'overrides' : undefined) ??
          fileLayer?.positionOf(path, at)
        );
      },
      () => crossProblemsOf(raw, { error: configErrorMap }),
    ),
  );
}

/**
 * Validates settings given in code (the shape of the YAML file) and returns the config
 * startHub takes. HUB_* variables apply on top only when `env` is passed.
 */
export function parseConfig(input: HubConfigInput = {}, opts: { env?: Env } = {}): HubConfig {
  const raw = merge({}, clone(input));
  const envOrigins = applyEnv(configSchema, raw, opts.env ?? {});
  return finish(
    validate(
      configSchema,
      raw,
      (path) => originOf(envOrigins, dotted(path)),
      () => crossProblemsOf(raw, { error: configErrorMap }),
    ),
  );
}

/** True for a config made by loadConfig or parseConfig (not a copy, not a plain object). */
export function isHubConfig(value: unknown): value is HubConfig {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [PARSED_CONFIG]?: unknown })[PARSED_CONFIG] === true &&
    Object.isFrozen(value)
  );
}

/** Throws HUB_CONFIG_INVALID unless `value` came from loadConfig or parseConfig. */
export function assertHubConfig(value: unknown): asserts value is HubConfig {
  if (isHubConfig(value)) return;
  throw new ConfigError([
    {
      path: '',
      message:
        'expected a config from loadConfig() or parseConfig() (validated and frozen), got ' +
        (isPlainObject(value) ? 'a plain object' : value === null ? 'null' : typeof value),
    },
  ]);
}

/**
 * Parses `raw` with `schema`; on failure throws a ConfigError listing every issue with
 * its dotted path and, where `originOf` knows it, where the value came from, in the
 * order of the file's lines. An unknown key is a problem of its own, with the closest
 * known key as a suggestion. `more` adds the problems that validation skips once a
 * field is wrong (checks across keys).
 */
export function validate<S extends z.ZodType>(
  schema: S,
  raw: unknown,
  originOf: (path: ReadonlyArray<PropertyKey>, at?: 'key') => string | undefined = () => undefined,
  more: () => Array<{ path: ReadonlyArray<PropertyKey>; message: string }> = () => [],
): z.output<S> {
  const result = schema.safeParse(raw, { error: configErrorMap });
  if (result.success) return result.data;
  const problems: ConfigProblem[] = [];
  const add = (path: ReadonlyArray<PropertyKey>, message: string, at?: 'key') => {
    const origin = originOf(path, at);
    const p = { path: dotted(path), message, ...(origin ? { origin } : {}) };
    if (!problems.some((q) => q.path === p.path && q.message === p.message)) problems.push(p);
  };
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const hint = didYouMean(key, known);
        add(
          [...issue.path, key],
          `unknown key${hint ? `; did you mean "${hint}"?` : known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
          'key',
        );
      }
    } else add(issue.path, issue.message);
  }
  for (const p of more()) add(p.path, p.message);
  throw new ConfigError(inLineOrder(problems));
}

/** Problems in the order of the file (line, then column); the others after them, as they came. */
function inLineOrder(problems: ConfigProblem[]): ConfigProblem[] {
  const pos = (p: ConfigProblem) => {
    const m = p.origin?.match(/:(\d+):(\d+)$/);
    return m ? Number(m[1]) * 1e6 + Number(m[2]) : Number.POSITIVE_INFINITY;
  };
  return problems
    .map((p, i) => ({ p, i, at: pos(p) }))
    .sort((a, b) => a.at - b.at || a.i - b.i)
    .map((x) => x.p);
}

/** The variable that set `path` or a key above it. */
export function originOf(origins: ReadonlyMap<string, string>, path: string): string | undefined {
  for (const [p, name] of origins) if (covers(p, path)) return name;
  return undefined;
}

const covers = (set: string, path: string) =>
  path === set || path.startsWith(`${set}.`) || path.startsWith(`${set}[`);

function finish(config: z.output<typeof configSchema>): HubConfig {
  Object.defineProperty(config, PARSED_CONFIG, { value: true, enumerable: false });
  return deepFreeze(config) as HubConfig;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

type Settings = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Settings => typeof v === 'object' && v !== null && !Array.isArray(v);

function clone(v: unknown): unknown {
  return v === undefined ? undefined : structuredClone(v);
}

/** `over` merged into `under`, object by object; anything else in `over` replaces what is under. */
function merge(under: Settings, over: unknown): Settings {
  if (!isPlainObject(over)) return under;
  const out: Settings = { ...under };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const below = out[key];
    // defineProperty: a key named __proto__ in a file is data, not the object's prototype.
    Object.defineProperty(out, key, {
      value: isPlainObject(below) && isPlainObject(value) ? merge(below, value) : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Dotted paths of the values in `o` (objects walked, anything else a leaf). */
function leafPaths(o: unknown, prefix: string[] = []): string[] {
  if (!isPlainObject(o)) return prefix.length > 0 ? [dotted(prefix)] : [];
  return Object.entries(o).flatMap(([k, v]) => (v === undefined ? [] : leafPaths(v, [...prefix, k])));
}

interface YamlLayer {
  settings: Settings;
  /** True when the file holds no settings (empty, or only comments). */
  empty: boolean;
  /** file:line:col of the value at `path` (or of its key), or of the nearest node above it. */
  positionOf(path: ReadonlyArray<PropertyKey>, at?: 'key'): string;
}

function readYaml(file: string, namedBy: string | undefined): YamlLayer {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      [
        {
          path: '',
          message: `cannot read ${file}: ${(err as Error).message}`,
          ...(namedBy ? { origin: namedBy } : {}),
        },
      ],
      'HUB_CONFIG_UNREADABLE',
    );
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        // The library appends "at line L, column C" and a code frame; the origin says where.
        const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return { path: '', origin: `${file}:${pos.line}:${pos.col}`, message: `YAML syntax: ${message}` };
      }),
      'HUB_CONFIG_UNREADABLE',
    );
  }
  const empty = doc.contents === null;
  const js = doc.toJS() ?? {};
  if (!isPlainObject(js)) {
    throw new ConfigError([
      { path: '', origin: file, message: 'expected a mapping of settings at the top level' },
    ]);
  }
  return {
    settings: js,
    empty,
    positionOf(path, at) {
      const where = (offset: number) => {
        const pos = lc.linePos(offset);
        return `${file}:${pos.line}:${pos.col}`;
      };
      if (at === 'key' && path.length > 0) {
        const parent = doc.getIn(path.slice(0, -1) as unknown[], true);
        const name = String(path[path.length - 1]);
        if (isMap(parent)) {
          const pair = parent.items.find((it) => isScalar(it.key) && String(it.key.value) === name);
          if (isScalar(pair?.key) && pair.key.range) return where(pair.key.range[0]);
        }
      }
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
    },
  };
}
