import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../hub/core/net.js';
import { eventually } from '../support/hub.js';

const run = promisify(execFile);
// The built CLI, as `npm start` runs it (npm test builds it first).
const CLI = ['dist/hub/cli.js'];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function cli(args: string[], env: Record<string, string> = {}) {
  return run('node', [...CLI, ...args], { env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

describe('sensor-hub command', () => {
  it('start: runs on its defaults with a managed InfluxDB, stores a mosquitto_pub reading, stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-cli-'));
    const mqttPort = await freePort();
    const httpPort = await freePort();
    const hub = spawn('node', [...CLI, 'start'], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        HUB_MQTT_PORT: String(mqttPort),
        HUB_HTTP_PORT: String(httpPort),
        HUB_DATA_DIR: dir,
        HUB_INFLUX_MANAGED_DATA_DIR: join(dir, 'influxdb'),
        HUB_LOG_FORMAT: 'pretty',
      },
    });
    children.push(hub);
    let stderr = '';
    let stdout = '';
    hub.stderr.on('data', (c) => (stderr += c));
    hub.stdout.on('data', (c) => (stdout += c));
    await eventually(() => stderr.includes('sensor-hub ready'), 30_000, 50);
    expect(stderr).toContain(`mqtt://127.0.0.1:${mqttPort}`);
    expect(stderr).toMatch(
      /InfluxDB {3}http:\/\/127\.0\.0\.1:\d+ \(managed; data, and this port for the next starts, in /,
    );

    // The log a person reads: short lines, a new device and a refused payload named.
    await run('mosquitto_pub', ['-p', String(mqttPort), '-t', 'sensors/kitchen/temperature', '-m', 'hot']);
    await eventually(() => stdout.includes('payload quarantined'), 5000, 50);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
    expect(lines).toContainEqual(expect.stringMatching(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: hub started /));
    expect(lines).toContainEqual(
      expect.stringMatching(
        /^\[[\d:.]+\] INFO: quarantine: payload quarantined \{"device":"kitchen","topic":"sensors\/kitchen\/temperature","reason":"not_a_number",/,
      ),
    );

    await run('mosquitto_pub', ['-p', String(mqttPort), '-t', 'sensors/kitchen/temperature', '-m', '21.5']);
    const api = `http://127.0.0.1:${httpPort}`;
    const hist = await eventually(async () => {
      const body = (await (
        await fetch(`${api}/api/readings?device=kitchen&sensor=temperature&from=-5m`)
      ).json()) as {
        points?: Array<{ value: number }>;
        unit?: string;
      };
      return body.points?.length ? body : undefined;
    }, 2000);
    expect(hist.points).toEqual([expect.objectContaining({ value: 21.5 })]);
    expect(hist.unit).toBe('Cel');
    expect(stdout).toMatch(/\] INFO: registry: new device \{"device":"kitchen"\}\n/);
    expect((await fetch(`${api}/healthz`)).status).toBe(200);

    const exited = new Promise<number | null>((r) => hub.on('exit', (code) => r(code)));
    hub.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('demo: its virtual board comes online and sends readings, next to the simulated fleet', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-demo-'));
    const httpPort = await freePort();
    const demo = spawn('node', [...CLI, 'demo', '--devices', '1'], {
      cwd: process.cwd(),
      env: {
        ...process.env,
        HUB_MQTT_PORT: String(await freePort()),
        HUB_HTTP_PORT: String(httpPort),
        HUB_DATA_DIR: dir,
        HUB_INFLUX_MANAGED_DATA_DIR: join(dir, 'influxdb'),
      },
    });
    children.push(demo);
    let stderr = '';
    let stdout = '';
    demo.stderr.on('data', (c) => (stderr += c));
    demo.stdout.on('data', (c) => (stdout += c));
    await eventually(() => stderr.includes('sensor-hub ready'), 30_000, 50);
    type Listed = { id: string; state: string; sensors: Record<string, unknown> };
    const devices = await eventually(async () => {
      const body = (await (await fetch(`http://127.0.0.1:${httpPort}/api/devices`)).json()) as {
        devices: Listed[];
      };
      const board = body.devices.find((d) => d.id === 'demo-board');
      const fleet = body.devices.find((d) => /^demo-\d+$/.test(d.id));
      return board?.state === 'online' && Object.keys(board.sensors).length > 0 && fleet
        ? body.devices
        : undefined;
    }, 15_000);
    expect(devices.map((d) => d.id)).toContain('demo-board');
    // Not a terminal: JSON lines, one object each, for a pipe, a file or the journal.
    const logged = stdout.trimEnd().split('\n');
    expect(logged.length).toBeGreaterThan(0);
    for (const line of logged) expect(JSON.parse(line)).toMatchObject({ level: expect.any(Number) });
    expect(logged.map((l) => JSON.parse(l).msg)).toContain('new device');

    const exited = new Promise<number | null>((r) => demo.on('exit', (code) => r(code)));
    demo.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('check-config: prints every error with its path and exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-cli-'));
    const file = join(dir, 'hub.yaml');
    writeFileSync(file, 'mqtt:\n  port: 99999\nhttp:\n  host: 0.0.0.0\ninflux:\n  url: not-a-url\n');
    const res = await cli(['check-config', file], {});
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('HUB_CONFIG_INVALID');
    expect(res.stderr).toMatch(/hub\.yaml:2:9: mqtt\.port: .*65535/);
    expect(res.stderr).toMatch(/influx\.url: /);
    expect(res.stderr).toMatch(/http\.token: expected a bearer token/);

    writeFileSync(file, 'mqtt:\n  port: 1884\n');
    const ok = await cli(['check-config', file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok: .*hub\.yaml is valid \(MQTT 127\.0\.0\.1:1884/);
  });

  it('start: names the taken port and exits 1', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as { port: number }).port;
    const res = await cli(['start'], {
      HUB_MQTT_PORT: String(port),
      HUB_INFLUX_URL: 'http://127.0.0.1:1',
      HUB_HTTP_PORT: '0',
    });
    blocker.close();
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`error HUB_PORT_IN_USE: MQTT port 127.0.0.1:${port} is in use`);
  });

  it('simulate: refuses bad arguments with a clear message', async () => {
    const res = await cli(['simulate', '--devices', 'zero', '--rate', '1']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/--devices: expected a whole number >= 1, got "zero"/);
  });
});
