import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// What a person reads from the built CLI (npm test builds it first), on crafted input.
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'hub-cli-out-'));

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HUB_')));
  return run('node', ['dist/hub/cli.js', ...args], { env: { ...clean, ...env }, timeout: 30_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A loopback port with nothing listening on it (bound, then closed). */
async function deadPort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('check-config output', () => {
  it('lists field and cross-field errors together, in line order, an unknown key on its own line', async () => {
    const p = file(
      'hub.yaml',
      [
        'http:', // 1
        '  host: 0.0.0.0', // 2: public without a token
        'mqtt:', // 3
        '  hots: 0.0.0.0', // 4: typo
        '  port: 99999', // 5
        'boards:', // 6
        '  - id: gh', // 7
        '    port: /dev/ttyACM0', // 8
        '    sensors:', // 9
        '      - { id: a, type: analog, pin: A0 }', // 10
        '      - { id: b, type: analog, pin: A0 }', // 11: pin used twice
      ].join('\n'),
    );
    const res = await cli(['check-config', p]);
    expect(res.code).toBe(2);
    expect(res.stderr.split('\n')).toEqual([
      'error HUB_CONFIG_INVALID: invalid configuration',
      `  ${p}:2:3: http.token: expected a bearer token of 16 characters or more: http.host 0.0.0.0 is not a loopback address`,
      `  ${p}:4:3: mqtt.hots: unknown key; did you mean "host"?`,
      `  ${p}:5:9: mqtt.port: expected a port number from 0 to 65535, got 99999`,
      `  ${p}:11:37: boards[0].sensors[1].pin: pin A0 is already used by sensor a`,
      '',
    ]);
  });

  it('heads a YAML syntax error with file:line:col', async () => {
    const p = file('broken.yaml', 'mqtt:\n  port: 1883\n  host: [127.0.0.1\n');
    const res = await cli(['check-config', p]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      new RegExp(`^error HUB_CONFIG_UNREADABLE: .*\\n  ${p}:\\d+:\\d+: YAML syntax: `),
    );
    expect(res.stderr).not.toContain('(root)');
  });

  it('passes an empty file, with a warning that the hub runs on its defaults', async () => {
    const p = file('empty.yaml', '# nothing yet\n');
    const res = await cli(['check-config', p]);
    expect(res.code).toBe(0);
    expect(res.stderr).toBe(
      `warning: ${p} has no settings: the hub runs on its defaults and HUB_* variables\n`,
    );
    expect(res.stdout).toMatch(/^ok: .* is valid \(MQTT 127\.0\.0\.1:1883/);
  });

  it('names a bad environment variable in its own words', async () => {
    const res = await cli(['check-config', file('ok.yaml', 'mqtt:\n  port: 1884\n')], {
      HUB_MQTT_PORT: 'abc',
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      'error HUB_CONFIG_INVALID: invalid configuration\n  HUB_MQTT_PORT: expected a port number, got "abc"\n',
    );
    expect(res.stderr).not.toMatch(/received|Invalid input|NaN/);
  });
});

describe('simulate output', () => {
  it('says in one line that no broker listens, on the port HUB_MQTT_PORT names, and exits 1', async () => {
    const port = await deadPort();
    const res = await cli(['simulate', '--duration', '1s'], { HUB_MQTT_PORT: String(port) });
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `error: cannot connect to mqtt://127.0.0.1:${port}: connection refused (no broker listens there); is the hub running? Start it with "sensor-hub start", or pass --url\n`,
    );
  });

  it('refuses a bad argument with one line and a pointer to --help, exit 2', async () => {
    for (const args of [['--devices', 'zero'], ['--qos', '3'], ['--bogus']]) {
      const res = await cli(['simulate', ...args]);
      expect(res.code, args.join(' ')).toBe(2);
      const lines = res.stderr.trimEnd().split('\n');
      expect(lines, args.join(' ')).toHaveLength(2);
      expect(lines[0]).toMatch(/^error: /);
      expect(lines[1]).toBe('(see sensor-hub simulate --help)');
    }
    expect((await cli(['simulate', '--devices', 'zero'])).stderr).toContain(
      'error: --devices: expected a whole number >= 1, got "zero"',
    );
  });

  it('says its defaults in --help', async () => {
    const res = await cli(['simulate', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/--devices <n>\s+number of devices \(default: 10\)/);
    expect(res.stdout).toMatch(/--rate <hz>\s+publishes per device per second \(default: 1\)/);
  });
});
