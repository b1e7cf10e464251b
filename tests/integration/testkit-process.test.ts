/**
 * What a test process leaves behind: nothing after a failed start (a plain script exits
 * by itself), and nothing after it is killed with SIGKILL (its influxd and the temporary
 * folder go with it).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const TESTING = fileURLToPath(new URL('../../hub/testing/index.ts', import.meta.url));
let dir: string;
let held: Server;
let heldPort: number;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'testkit-proc-'));
  held = createServer();
  await new Promise<void>((r) => held.listen(0, '127.0.0.1', () => r()));
  heldPort = (held.address() as { port: number }).port;
});
afterAll(() => {
  held?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs a script that imports the testing entry point; resolves when it exits by itself. */
function runScript(
  body: string,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(dir, `s-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(file, `import { startTestHub } from ${JSON.stringify(TESTING)};\n${body}\n`);
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', file], { timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('a start that fails leaves nothing running', () => {
  const cases: Array<[string, () => string, string]> = [
    ['MQTT port in use', () => `{ mqtt: { port: ${heldPort} } }`, 'HUB_PORT_IN_USE'],
    ['HTTP port in use', () => `{ http: { port: ${heldPort} } }`, 'HUB_PORT_IN_USE'],
    [
      'no influxd binary',
      () => `{ influx: { managed: { binary: '/nonexistent/influxd' } } }`,
      'HUB_INFLUXD_MISSING',
    ],
    ['a bad setting', () => `{ mqtt: { port: 'x' } }`, 'HUB_CONFIG_INVALID'],
  ];
  for (const [name, config, code] of cases) {
    it(`${name}: a HubError with ${code}, and the script exits by itself`, async () => {
      const res = await runScript(
        `try { await startTestHub({ config: ${config()} }); console.log('started'); }
         catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`,
      );
      // Killed by the timeout (a leaked timer, socket or child) is a null code.
      expect(res.code, res.stderr).toBe(0);
      const out = JSON.parse(res.stdout.trim()) as { name: string; code: string };
      expect(out.code).toBe(code);
      expect(['HubError', 'ConfigError']).toContain(out.name);
    });
  }
});

describe('a test process killed with SIGKILL', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
  });

  it('takes its influxd and its temporary folder with it', async () => {
    const file = join(dir, 'killed.mts');
    writeFileSync(
      file,
      `import { startTestHub } from ${JSON.stringify(TESTING)};
       const t = await startTestHub();
       const h = await t.api.health();
       console.log(JSON.stringify({ influxd: h.influxd.pid, dataDir: t.dataDir }));
       setInterval(() => {}, 1000);`,
    );
    child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child!.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child!.once('exit', (c) => reject(new Error(`exited early with ${c}`)));
    });
    const { influxd, dataDir } = JSON.parse(line) as { influxd: number; dataDir: string };
    expect(alive(influxd)).toBe(true);
    expect(existsSync(dataDir)).toBe(true);

    child.kill('SIGKILL');
    await expect.poll(() => alive(influxd), { timeout: 15_000, interval: 100 }).toBe(false);
    await expect.poll(() => existsSync(dataDir), { timeout: 15_000, interval: 100 }).toBe(false);
  }, 40_000);
});
