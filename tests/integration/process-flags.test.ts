import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hubProcessFlags } from '../../hub/config/process.js';
import { eventually } from '../support/hub.js';

// The built CLI, started the way `npx sensor-hub start` starts it: no flags of its own.
const CLI = 'dist/hub/cli.js';
const started: ChildProcess[] = [];
afterAll(() => {
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
});

const alive = (pid: number) => existsSync(`/proc/${pid}`);
const childrenOf = (pid: number) =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);

/** `sensor-hub start` on free ports with a managed influxd; resolves once its banner is out. */
async function start(env: Record<string, string> = {}, execArgv: string[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'hub-flags-'));
  const proc = spawn(process.execPath, [...execArgv, CLI, 'start'], {
    env: {
      ...process.env,
      HUB_MQTT_PORT: '0',
      HUB_HTTP_PORT: '0',
      HUB_DATA_DIR: dir,
      HUB_INFLUX_MANAGED_DATA_DIR: join(dir, 'influxdb'),
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group, so a test can signal the group as a terminal's Ctrl-C does.
    detached: true,
  });
  started.push(proc);
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    proc.once('exit', (code, signal) => r({ code, signal })),
  );
  await eventually(() => stderr.includes('sensor-hub ready'), 30_000, 50);
  return { proc, pid: proc.pid!, exited, stderr: () => stderr };
}

/** The node process running the hub under `launcher` (its influxd is the hub's child). */
const hubUnder = (launcher: number) => {
  const nodes = childrenOf(launcher).filter((c) => cmdline(c).includes(join(process.cwd(), CLI)));
  expect(nodes).toHaveLength(1);
  return nodes[0]!;
};

describe('sensor-hub start applies its process flags itself', () => {
  it('runs the hub with the heap and allocator flags of npm start, and a Ctrl-C stops it cleanly', async () => {
    const hub = await start({ HUB_MAX_HEAP_MB: '512' });
    const child = hubUnder(hub.pid);
    const want = hubProcessFlags({ HUB_MAX_HEAP_MB: '512' });
    expect(want.execArgv).toContain('--max-old-space-size=512');
    expect(cmdline(child)).toEqual(expect.arrayContaining(want.execArgv));
    expect(environ(child)).toContain('MALLOC_ARENA_MAX=2');
    // A terminal's Ctrl-C: SIGINT to every process of the group, launcher and hub alike.
    process.kill(-hub.pid, 'SIGINT');
    expect(await hub.exited).toEqual({ code: 0, signal: null });
    expect(hub.stderr()).not.toMatch(/exiting without waiting/);
    expect(alive(child)).toBe(false);
  });

  it('passes SIGTERM on, and a hub whose launcher is killed outright stops by itself', async () => {
    const first = await start();
    const firstChild = hubUnder(first.pid);
    first.proc.kill('SIGTERM');
    expect(await first.exited).toEqual({ code: 0, signal: null });
    expect(alive(firstChild)).toBe(false);

    const second = await start();
    const child = hubUnder(second.pid);
    const influxd = childrenOf(child);
    second.proc.kill('SIGKILL');
    await second.exited;
    await eventually(() => !alive(child) && influxd.every((p) => !alive(p)), 15_000, 50);
  });

  it("exits with the hub's exit code", async () => {
    const proc = spawn(process.execPath, [CLI, 'start'], {
      env: { ...process.env, HUB_MQTT_PORT: 'eighty' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise((r) => proc.once('exit', r));
    expect(code).toBe(2);
    expect(stderr).toContain('HUB_MQTT_PORT: expected a port number, got "eighty"');
  });

  it('starts no second process when started with the flags already', async () => {
    const flags = hubProcessFlags({});
    const hub = await start(flags.env, flags.execArgv);
    expect(childrenOf(hub.pid).map((c) => cmdline(c)[0])).not.toContain(process.execPath);
    hub.proc.kill('SIGTERM');
    expect(await hub.exited).toEqual({ code: 0, signal: null });
  });
});
