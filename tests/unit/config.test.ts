import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { envKeys } from '../../hub/config/env.js';
import { ConfigError, loadConfig } from '../../hub/config/load.js';
import { configSchema } from '../../hub/config/schema.js';

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
    const byPath = Object.fromEntries(problems.map((x) => [x.path, x]));
    expect(Object.keys(byPath).sort()).toEqual(
      ['devices[0].id', 'influx.flushInterval', 'mqtt', 'mqtt.port'].sort(),
    );
    expect(byPath['mqtt.port']!.message).toMatch(/expected number/);
    expect(byPath['mqtt.port']!.origin).toBe(`${p}:2:9`);
    expect(byPath.mqtt!.message).toMatch(/prot/);
    expect(byPath['influx.flushInterval']!.message).toMatch(/duration/);
    expect(byPath['devices[0].id']!.message).toMatch(/A-Za-z0-9/);
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
