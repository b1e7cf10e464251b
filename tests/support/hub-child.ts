import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hubProcessFlags } from '../../hub/config/process.js';
import type { HubConfigInput } from '../../hub/config/schema.js';

export interface HubChild {
  proc: ChildProcess;
  mqttUrl: string;
  httpUrl: string;
  /** Waits until the child's spool is empty (InfluxDB confirmed everything). */
  flush(): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** What went wrong in the child so far: an unexpected exit, an unhandled rejection or exception. */
  readonly problems: readonly string[];
}

/**
 * Children whose problems are not yet reported. A hub child that exits without being
 * killed, or prints an unhandled rejection or uncaught exception, fails the test
 * during which it happened (or the next one, for a hub started in beforeAll).
 */
const watched = new Set<HubChild & { reported: number }>();
function report(): void {
  const found: string[] = [];
  for (const c of watched) {
    found.push(...c.problems.slice(c.reported));
    c.reported = c.problems.length;
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) watched.delete(c);
  }
  if (found.length > 0) throw new Error(`hub child failed:\n${found.join('\n')}`);
}
// Benchmarks use these helpers outside vitest, where its hooks cannot be registered.
if (process.env.VITEST) {
  const { afterAll, afterEach } = await import('vitest');
  afterEach(report);
  afterAll(report);
}

/** Node's own report of an uncaught error, and the marker of hub-process.ts. */
const FATAL = /HUB_CHILD_FATAL|UnhandledPromiseRejection|^Node\.js v\d+/m;

function watch(proc: ChildProcess, stderr: NodeJS.ReadableStream | null): string[] {
  const problems: string[] = [];
  let tail = '';
  stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-8000);
    const m = FATAL.exec(tail);
    if (m) {
      problems.push(`the hub child printed:\n${tail.slice(Math.max(0, m.index - 200))}`);
      tail = '';
    }
  });
  proc.once('exit', (code, signal) => {
    if (!(proc as { killedByTest?: boolean }).killedByTest)
      problems.push(`the hub child exited unexpectedly (code ${code}, signal ${signal})`);
  });
  return problems;
}

const script = fileURLToPath(new URL('./hub-process.ts', import.meta.url));

/**
 * Waits until a hub child's output (read from `stream` as it grows) gives both URLs,
 * and returns the handle. Rejects if it exits first or takes longer than 30 s.
 */
async function handle(
  proc: ChildProcess,
  stream: NodeJS.ReadableStream,
  urlsIn: (out: string) => { mqttUrl: string; httpUrl: string } | undefined,
  problems: string[],
): Promise<HubChild> {
  const urls = await new Promise<{ mqttUrl: string; httpUrl: string }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`hub child did not start within 30 s:\n${out}`)), 30_000);
    stream.on('data', (d: Buffer) => {
      out += d.toString();
      const found = urlsIn(out);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub child exited with ${code}:\n${out}`));
    });
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const child: HubChild & { reported: number } = {
    proc,
    ...urls,
    problems,
    reported: 0,
    flush: () =>
      new Promise<number>((resolve) => {
        const on = (m: unknown) => {
          if (m && typeof m === 'object' && 'flushed' in m) {
            proc.off('message', on);
            resolve((m as { flushed: number }).flushed);
          }
        };
        proc.on('message', on);
        proc.send('flush');
      }),
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      (proc as { killedByTest?: boolean }).killedByTest = true;
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
  watched.add(child);
  return child;
}

/** Starts tests/support/hub-process.ts as a child process and waits for its URLs. */
export async function startHubChild(config: HubConfigInput, execArgv: string[] = []): Promise<HubChild> {
  const proc = spawn(process.execPath, [...execArgv, '--import', 'tsx', script, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  proc.stderr!.pipe(process.stderr, { end: false });
  const problems = watch(proc, proc.stderr);
  // hub-process.ts prints one JSON line with its URLs.
  return handle(
    proc,
    proc.stdout!,
    (out) => {
      const nl = out.indexOf('\n');
      return nl >= 0 ? JSON.parse(out.slice(0, nl)) : undefined;
    },
    problems,
  );
}

/** The V8 flags and environment `sensor-hub start` runs the hub with (hub/config/process.ts). */
const START = hubProcessFlags(process.env);

/** The V8 flags `npm start` runs the hub with. */
export const START_FLAGS: readonly string[] = START.execArgv;

/** The environment `npm start` runs the hub with. */
export const START_ENV: Readonly<Record<string, string>> = START.env;

/**
 * Starts the built hub as `npm start` runs it (`<START_ENV> node <START_FLAGS> dist/hub/cli.js start`),
 * with `config` written to <dataDir>/hub.yaml, and waits for the URLs of its banner.
 * `flush()` is not available (the CLI has no IPC channel).
 */
export async function startBuiltHub(
  config: HubConfigInput & { dataDir: string },
  execArgv: string[] = [],
): Promise<HubChild> {
  const file = join(config.dataDir, 'hub.yaml');
  writeFileSync(file, JSON.stringify(config)); // JSON is YAML
  // BENCH_HUB_CLI runs another build of the hub (e.g. the previous commit's) under the same bench.
  const cli = process.env.BENCH_HUB_CLI ?? fileURLToPath(new URL('../../dist/hub/cli.js', import.meta.url));
  const proc = spawn(process.execPath, [...START_FLAGS, ...execArgv, cli, 'start', '--config', file], {
    env: { ...process.env, ...START_ENV },
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const problems = watch(proc, proc.stderr);
  return handle(
    proc,
    proc.stderr!,
    (out) => {
      const mqttUrl = /MQTT\s+(mqtt:\/\/\S+)/.exec(out)?.[1];
      const httpUrl = /dashboard\s+(http:\/\/\S+?)\/?\n/.exec(out)?.[1];
      return mqttUrl && httpUrl ? { mqttUrl, httpUrl } : undefined;
    },
    problems,
  );
}
