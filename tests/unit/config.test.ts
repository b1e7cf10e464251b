import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { coerceEnv, envKeys } from '../../hub/config/env.js';
import { missingFlags } from '../../hub/config/launch.js';
import {
  CONFIG_FILE_VARIABLE,
  ConfigError,
  isHubConfig,
  loadConfig,
  parseConfig,
} from '../../hub/config/load.js';
import { hubProcessFlags, processSchema } from '../../hub/config/process.js';
import { configSchema, type HubConfigInput } from '../../hub/config/schema.js';
import { loadSimulateOptions, SIMULATE_ENV_PREFIX, simulateSchema } from '../../hub/config/simulate.js';
import { HubError } from '../../hub/core/errors.js';
import { startHub } from '../../hub/hub.js';

const dir = mkdtempSync(join(tmpdir(), 'hub-config-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const problemsOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

describe('config', () => {
  it('has the documented defaults and is frozen', () => {
    const c = loadConfig({ env: {} });
    expect(c.mqtt).toMatchObject({ host: '127.0.0.1', port: 1883 });
    expect(c.http).toMatchObject({ host: '127.0.0.1', port: 8080 });
    expect(c.influx.database).toBe('sensors');
    expect(c.influx.url).toBeUndefined();
    expect(c.influx.managed.dataDir).toBe('./var/influxdb');
    expect(Object.isFrozen(c.mqtt)).toBe(true);
  });

  it('applies HUB_* variables on top of the file', () => {
    const p = file('env.yaml', 'mqtt:\n  port: 1999\ninflux:\n  database: fromfile\n');
    const c = loadConfig({
      file: p,
      env: {
        HUB_MQTT_PORT: '2883',
        HUB_INFLUX_URL: 'http://127.0.0.1:9999',
        HUB_INFLUX_FLUSH_INTERVAL: '2s',
        HUB_MQTT_REPUBLISH: 'false',
      },
    });
    expect(c.mqtt.port).toBe(2883);
    expect(c.influx.url).toBe('http://127.0.0.1:9999');
    expect(c.influx.database).toBe('fromfile');
    expect(c.influx.flushInterval).toBe(2000);
    expect(c.mqtt.republish).toBe(false);
  });

  it('names every settable key as an environment variable', () => {
    const names = envKeys(configSchema).map((k) => k.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'HUB_MQTT_PORT',
        'HUB_HTTP_PORT',
        'HUB_INFLUX_URL',
        'HUB_INFLUX_DATABASE',
        'HUB_INFLUX_BATCH_SIZE',
        'HUB_LOG_LEVEL',
      ]),
    );
  });

  it('reports every problem at once, each with its path, file position and expected value', () => {
    const p = file(
      'bad.yaml',
      [
        'mqtt:',
        '  port: "eighty"',
        '  prot: 1',
        'influx:',
        '  flushInterval: soon',
        'devices:',
        '  - id: "bad id"',
      ].join('\n'),
    );
    const problems = problemsOf(() => loadConfig({ file: p, env: {} }));
    // In the file's line order, the unknown key on its own line with a suggestion.
    expect(problems.map((x) => [x.origin, x.path, x.message])).toEqual([
      [`${p}:2:9`, 'mqtt.port', 'expected a port number, got "eighty"'],
      [`${p}:3:3`, 'mqtt.prot', 'unknown key; did you mean "port"?'],
      [`${p}:5:18`, 'influx.flushInterval', expect.stringMatching(/^expected a duration .*, got "soon"$/)],
      [`${p}:7:9`, 'devices[0].id', 'expected an id of [A-Za-z0-9_.-]{1,64}, got "bad id"'],
    ]);
  });

  it('reports checks across keys together with field errors, even beside a bad entry of the same board', () => {
    const problems = problemsOf(() =>
      parseConfig({
        http: { host: '0.0.0.0' },
        mqtt: { port: -1 },
        boards: [
          {
            id: 'gh',
            sensors: [
              { id: 'a', type: 'analog', pin: 'A0' },
              { id: 'b', type: 'analog', pin: 'A0' },
              { id: 'c', type: 'analog', pin: 'A2', every: 'fast' },
            ],
          },
        ],
      }),
    );
    expect(problems.map((x) => x.path).sort()).toEqual(
      ['boards[0].sensors[1].pin', 'boards[0].sensors[2].every', 'http.token', 'mqtt.port'].sort(),
    );
  });

  it('says which environment variable holds a bad value', () => {
    const problems = problemsOf(() => loadConfig({ env: { HUB_HTTP_PORT: 'abc' } }));
    expect(problems).toEqual([expect.objectContaining({ path: 'http.port', origin: 'HUB_HTTP_PORT' })]);
  });

  it('requires credentials on a non-loopback listener', () => {
    const problems = problemsOf(() =>
      loadConfig({ env: { HUB_MQTT_HOST: '0.0.0.0', HUB_HTTP_HOST: '0.0.0.0' } }),
    );
    expect(problems.map((x) => x.path).sort()).toEqual(['http.token', 'mqtt.users']);
    const ok = loadConfig({
      env: {
        HUB_MQTT_HOST: '0.0.0.0',
        HUB_MQTT_USERS: '[{"username":"dev","password":"secret"}]',
        HUB_HTTP_HOST: '0.0.0.0',
        HUB_HTTP_TOKEN: 'a-long-enough-token',
      },
    });
    expect(ok.mqtt.users).toHaveLength(1);
  });

  it('points at the line of a YAML syntax error', () => {
    const p = file('syntax.yaml', 'mqtt:\n  port: [1883\n');
    const err = (() => {
      try {
        loadConfig({ file: p, env: {} });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err?.code).toBe('HUB_CONFIG_UNREADABLE');
    expect(err?.problems[0]?.origin).toMatch(new RegExp(`^${p}:\\d+:\\d+$`));
  });

  it('names a missing file', () => {
    const problems = problemsOf(() => loadConfig({ file: join(dir, 'nope.yaml'), env: {} }));
    expect(problems[0]!.message).toContain('nope.yaml');
  });
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Node {
  type?: string | string[];
  properties?: Record<string, Node>;
  required?: string[];
  items?: Node;
  anyOf?: Node[];
  /** Values a schema offers as examples (arrays of rules, whose every item needs several keys). */
  examples?: Json[];
  enum?: Json[];
  const?: Json;
  minimum?: number;
  minItems?: number;
  maximum?: number;
  default?: Json;
}

/** Candidate values of a JSON Schema node, from which a test picks one the schema accepts. */
/** Keys whose valid values samples() cannot build: a rule needs a name and exactly one condition. */
const SAMPLES_OF: Record<string, Json[]> = {
  'alerts.rules': [[{ name: 'hot', match: { metric: 'temperature' }, above: 30 }]],
};

function samples(n: Node): Json[] {
  const types = new Set(Array.isArray(n.type) ? n.type : n.type ? [n.type] : []);
  const out: Json[] = [...(n.examples ?? []), ...(n.enum ?? []), ...(n.const !== undefined ? [n.const] : [])];
  for (const alt of n.anyOf ?? []) out.push(...samples(alt));
  if (types.has('boolean')) out.push(true, false);
  if (types.has('integer') || types.has('number')) {
    const lo = n.minimum ?? 0;
    const hi = Math.min(n.maximum ?? lo + 1_000_000, lo + 1_000_000);
    out.push(lo + 1, hi, lo, 1000, 60_000, 86_400_000);
  }
  if (types.has('string'))
    out.push('localhost', 'http://127.0.0.1:9', '7d', 'debug', 'Europe/Berlin', 'a-long-enough-secret', 'x');
  if (types.has('array')) {
    const one = (n.items ? samples(n.items).slice(0, 3) : []).map((item) => [item]);
    out.push(...((n.minItems ?? 0) > 0 ? [...one, []] : [[], ...one]));
  }
  if (n.properties) {
    const o: Record<string, Json> = {};
    for (const key of n.required ?? []) o[key] = samples(n.properties[key]!)[0] ?? 'x';
    out.push(o);
  }
  return out;
}

const at = (o: unknown, path: readonly string[]) =>
  path.reduce<unknown>((cur, k) => (cur as Record<string, unknown> | undefined)?.[k], o);
const nest = (path: readonly string[], value: unknown): Record<string, unknown> =>
  path.reduceRight<Record<string, unknown>>((inner, k) => ({ [k]: inner }), value as never);

describe('config from the environment', () => {
  it('sets every leaf key of the schema through its HUB_* variable, as the same value in the file would', () => {
    const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Node;
    const defaults = parseConfig({});
    // The leaves are found here from the JSON Schema, not by envKeys, so a key it missed shows.
    const leaves: Array<{ path: string[]; node: Node }> = [];
    const walk = (n: Node, path: string[]) => {
      if (n.properties) for (const [k, v] of Object.entries(n.properties)) walk(v, [...path, k]);
      else leaves.push({ path, node: n });
    };
    walk(schema, []);
    expect(leaves.length).toBeGreaterThan(40);
    const unset: string[] = [];
    for (const { path, node } of leaves) {
      const key = {
        path,
        name: `HUB_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`,
      };
      // The first sample the schema accepts there that is not the default: the variable must change it.
      const chosen = [...(SAMPLES_OF[key.path.join('.')] ?? []), ...samples(node)].find((value) => {
        try {
          const c = parseConfig(nest(key.path, value) as HubConfigInput);
          return JSON.stringify(at(c, key.path)) !== JSON.stringify(at(defaults, key.path));
        } catch {
          return false;
        }
      });
      if (chosen === undefined) {
        unset.push(`${key.name}: no sample value; add one to samples()`);
        continue;
      }
      const text = typeof chosen === 'string' ? chosen : JSON.stringify(chosen);
      const fromFile = at(parseConfig(nest(key.path, chosen) as HubConfigInput), key.path);
      let fromEnv: unknown;
      try {
        fromEnv = at(loadConfig({ env: { [key.name]: text } }), key.path);
      } catch (err) {
        fromEnv = err;
      }
      if (JSON.stringify(fromEnv) !== JSON.stringify(fromFile))
        unset.push(
          `${key.name}=${text}: got ${JSON.stringify(fromEnv)}, expected ${JSON.stringify(fromFile)}`,
        );
    }
    expect(unset).toEqual([]);
  });

  it('names each variable once across the hub, simulate and process settings, and never HUB_CONFIG', () => {
    const names = [
      ...envKeys(configSchema),
      ...envKeys(simulateSchema, SIMULATE_ENV_PREFIX),
      ...envKeys(processSchema),
    ].map((k) => k.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
    expect(names).not.toContain(CONFIG_FILE_VARIABLE);
    expect(names).toEqual(expect.arrayContaining(['HUB_SIM_URL', 'HUB_SIM_DEVICES', 'HUB_MAX_HEAP_MB']));
  });

  it('coerces numbers, booleans, JSON and unions, and passes text that does not fit on to validation', () => {
    expect(coerceEnv('42', ['integer', 'number'])).toBe(42);
    expect(coerceEnv('', ['number'])).toBe('');
    expect(coerceEnv('off', ['boolean'])).toBe(false);
    expect(coerceEnv('maybe', ['boolean'])).toBe('maybe');
    expect(coerceEnv('["a"]', ['array'])).toEqual(['a']);
    expect(coerceEnv('[oops', ['array'])).toBe('[oops');
    expect(coerceEnv('5000', ['number', 'string'])).toBe(5000);
    expect(coerceEnv('5s', ['number', 'string'])).toBe('5s');
    expect(coerceEnv('true', ['string', 'boolean'])).toBe(true);
    expect(coerceEnv('loopback', ['string', 'boolean'])).toBe('loopback');
  });
});

describe('loadConfig and parseConfig', () => {
  it('layers defaults < file < environment < overrides, objects merged key by key, lists replaced', () => {
    const p = file('layers.yaml', 'mqtt:\n  port: 1999\n  ignore: ["a/#"]\ninflux:\n  database: fromfile\n');
    const c = loadConfig({
      file: p,
      env: { HUB_INFLUX_DATABASE: 'fromenv', HUB_HTTP_PORT: '9000' },
      defaults: { mqtt: { port: 1, republish: false }, influx: { database: 'dflt' }, dataDir: '/d' },
      overrides: { http: { port: 0 } },
    });
    expect(c.mqtt).toMatchObject({ port: 1999, republish: false, ignore: ['a/#'] });
    expect(c.influx.database).toBe('fromenv');
    expect(c.http.port).toBe(0);
    expect(c.dataDir).toBe('/d');
  });

  it('reads the file named by HUB_CONFIG when no file is given, and names the variable when it cannot', () => {
    const p = file('named.yaml', 'mqtt:\n  port: 1777\n');
    expect(loadConfig({ env: { HUB_CONFIG: p } }).mqtt.port).toBe(1777);
    const problems = problemsOf(() => loadConfig({ env: { HUB_CONFIG: join(dir, 'absent.yaml') } }));
    expect(problems).toEqual([
      expect.objectContaining({ origin: 'HUB_CONFIG', message: expect.stringContaining('absent.yaml') }),
    ]);
  });

  it('lists every problem with its path and origin, never a raw ZodError', () => {
    let err: unknown;
    try {
      loadConfig({
        env: { HUB_MQTT_PORT: '70000' },
        overrides: { influx: { batchSize: 0 }, devices: [{ id: 'ok' }, { id: 'bad id' }] },
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(HubError);
    expect((err as ConfigError).code).toBe('HUB_CONFIG_INVALID');
    expect((err as ConfigError).problems).toEqual([
      expect.objectContaining({ path: 'mqtt.port', origin: 'HUB_MQTT_PORT' }),
      expect.objectContaining({ path: 'influx.batchSize', origin: 'overrides' }),
      expect.objectContaining({ path: 'devices[1].id', origin: 'overrides' }),
    ]);
    expect((err as Error).message).toContain(
      'HUB_MQTT_PORT: mqtt.port: expected a port number from 0 to 65535, got 70000',
    );
  });

  it('returns a deep-frozen config that startHub recognises; a copy or a plain object is not one', () => {
    const c = parseConfig({ devices: [{ id: 'd' }] });
    expect(isHubConfig(c)).toBe(true);
    expect(Object.isFrozen(c.devices[0]!.tags)).toBe(true);
    expect(() => {
      (c.mqtt as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(isHubConfig({ ...c })).toBe(false);
    expect(isHubConfig(structuredClone(c))).toBe(false);
    expect(isHubConfig(configSchema.parse({}))).toBe(false);
    // Settings given in code are copied, not frozen in the caller's hands.
    const input = { mqtt: { port: 0 } };
    parseConfig(input);
    expect(Object.isFrozen(input.mqtt)).toBe(false);
  });

  it('parseConfig reads the environment only when given one', () => {
    expect(parseConfig({}).mqtt.port).toBe(1883);
    expect(parseConfig({ mqtt: { port: 1 } }, { env: { HUB_MQTT_PORT: '2' } }).mqtt.port).toBe(2);
  });
});

describe('startHub', () => {
  it('takes only a config from loadConfig or parseConfig: a raw object fails to type-check and is refused', async () => {
    const refusal = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        return err as HubError;
      }
      throw new Error('expected startHub to refuse');
    };
    // @ts-expect-error settings are not a config: parse them with parseConfig() first
    const raw = await refusal(() => startHub({ mqtt: { port: 0 } }));
    expect(raw).toBeInstanceOf(HubError);
    expect(raw.code).toBe('HUB_CONFIG_INVALID');
    expect(raw.message).toMatch(/loadConfig\(\) or parseConfig\(\)/);
    // A parsed config spread into a new object (to splice a setting in) is refused too.
    const copy = await refusal(() => startHub({ ...parseConfig({}), boards: [] }));
    expect(copy.code).toBe('HUB_CONFIG_INVALID');
  });
});

describe('simulate options', () => {
  it('take HUB_SIM_* variables under the flags, validated, each problem naming its flag or variable', () => {
    const o = loadSimulateOptions(
      { devices: '3' },
      { HUB_SIM_URL: 'mqtt://127.0.0.1:1999', HUB_SIM_RATE: '2' },
    );
    expect(o).toMatchObject({ devices: 3, rate: 2, url: 'mqtt://127.0.0.1:1999', format: 'plain', qos: 0 });
    expect(
      loadSimulateOptions({ devices: '1', rate: '1', url: 'mqtt://h:1' }, { HUB_SIM_URL: 'mqtt://e:2' }).url,
    ).toBe('mqtt://h:1');
    expect(loadSimulateOptions({ devices: '1', rate: '1', dropouts: false }, {}).dropouts).toBe(false);
    // Nothing given: 10 devices at 1 Hz, into the hub's own broker (the command reads its config).
    const none = loadSimulateOptions({}, {});
    expect([none.devices, none.rate, none.url]).toEqual([10, 1, undefined]);
    const err = (() => {
      try {
        loadSimulateOptions({ devices: 'zero', sensors: 'temperature,smell' }, { HUB_SIM_URL: 'not a url' });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err?.code).toBe('HUB_CONFIG_INVALID');
    const byOrigin = Object.fromEntries(err!.problems.map((p) => [p.origin ?? p.path, p.message]));
    expect(byOrigin['--devices']).toBe('expected a whole number >= 1, got "zero"');
    expect(byOrigin.HUB_SIM_URL).toBeDefined();
    expect(byOrigin['--sensors']).toMatch(/unknown sensors: smell/);
  });
});

describe('process flags', () => {
  it('are the heap and allocator settings npm start has always used, HUB_MAX_HEAP_MB validated', () => {
    expect(hubProcessFlags({})).toEqual({
      execArgv: ['--max-semi-space-size=8', '--max-old-space-size=384'],
      env: { MALLOC_ARENA_MAX: '2' },
    });
    expect(hubProcessFlags({ HUB_MAX_HEAP_MB: '1024', MALLOC_ARENA_MAX: '4' })).toEqual({
      execArgv: ['--max-semi-space-size=8', '--max-old-space-size=1024'],
      env: { MALLOC_ARENA_MAX: '4' },
    });
    expect(problemsOf(() => hubProcessFlags({ HUB_MAX_HEAP_MB: 'lots' }))).toEqual([
      expect.objectContaining({ path: 'maxHeapMB', origin: 'HUB_MAX_HEAP_MB' }),
    ]);
  });

  it('adds only what the process lacks, counting NODE_OPTIONS and flags given by hand', () => {
    const wanted = hubProcessFlags({});
    expect(missingFlags(wanted, { execArgv: [], env: {} })).toEqual(wanted);
    expect(
      missingFlags(wanted, {
        execArgv: ['--max-old-space-size=2048'],
        env: { NODE_OPTIONS: '--max_semi_space_size=4' },
      }),
    ).toEqual({ execArgv: [], env: { MALLOC_ARENA_MAX: '2' } });
    expect(
      missingFlags(wanted, { execArgv: wanted.execArgv, env: { MALLOC_ARENA_MAX: '1' } }),
    ).toBeUndefined();
  });
});
