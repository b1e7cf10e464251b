import { spawn } from 'node:child_process';
import { constants } from 'node:os';

// Imports nothing heavy: the process that only starts the hub again and waits for it
// should stay small (zod alone adds about 15 MB).

/** V8's old-space limit of the hub when HUB_MAX_HEAP_MB is not set. */
export const DEFAULT_MAX_HEAP_MB = 384;

/** Set in the environment of the process that runs the hub, so it does not start itself again. */
export const LAUNCHED_VARIABLE = 'SENSOR_HUB_LAUNCHED';

type Env = Readonly<Record<string, string | undefined>>;

export interface ProcessFlags {
  /** Node/V8 flags, e.g. --max-old-space-size=384. */
  execArgv: string[];
  /** Environment the process must start with, e.g. MALLOC_ARENA_MAX=2. */
  env: Record<string, string>;
}

/**
 * The flags and environment the hub runs with: a small young generation (8 MB
 * semi-spaces: shorter scavenges under bursts), an old-space limit of `maxHeapMB`, and
 * two malloc arenas (glibc's default of several per thread held 20 to 30 MB more at peak).
 * A MALLOC_ARENA_MAX already set is kept.
 */
export function processFlagsFor(maxHeapMB: number, env: Env): ProcessFlags {
  return {
    execArgv: ['--max-semi-space-size=8', `--max-old-space-size=${maxHeapMB}`],
    env: { MALLOC_ARENA_MAX: env.MALLOC_ARENA_MAX || '2' },
  };
}

const flagName = (flag: string) => flag.split('=')[0]!.replace(/_/g, '-');

/**
 * What `wanted` adds to a process started with `execArgv` and `env` (NODE_OPTIONS
 * counts as given); a flag or variable the process already has is kept as it is.
 */
export function missingFlags(
  wanted: ProcessFlags,
  current: { execArgv: readonly string[]; env: Env },
): ProcessFlags | undefined {
  const given = new Set(
    [...current.execArgv, ...(current.env.NODE_OPTIONS ?? '').split(/\s+/)].filter(Boolean).map(flagName),
  );
  const execArgv = wanted.execArgv.filter((f) => !given.has(flagName(f)));
  const env = Object.fromEntries(Object.entries(wanted.env).filter(([k]) => current.env[k] === undefined));
  return execArgv.length === 0 && Object.keys(env).length === 0 ? undefined : { execArgv, env };
}

/**
 * Makes sure the hub runs with its process flags. When this process lacks some, it starts
 * the same command again in a child that has them, passes SIGINT, SIGTERM and SIGHUP on
 * to it and exits as the child exits (same code, or the same signal): it never returns
 * there. In the process that should run the hub it returns; `onParentGone` then runs if
 * the starting process dies without passing a signal on (SIGKILL), so the hub is not
 * left running alone.
 *
 * A HUB_MAX_HEAP_MB that is not a whole number starts nothing: the hub's process
 * validates it (hub/config/process.ts) and reports it as a config error.
 */
export async function ensureProcessFlags(onParentGone: () => void): Promise<void> {
  const env = process.env;
  if (env[LAUNCHED_VARIABLE] === '1') {
    delete env[LAUNCHED_VARIABLE];
    if (process.connected) {
      process.once('disconnect', onParentGone);
      process.channel?.unref();
    }
    return;
  }
  const heap = env.HUB_MAX_HEAP_MB;
  if (heap !== undefined && !/^\d+$/.test(heap)) return;
  const wanted = processFlagsFor(heap === undefined ? DEFAULT_MAX_HEAP_MB : Number(heap), env);
  const missing = missingFlags(wanted, { execArgv: process.execArgv, env });
  if (!missing) return;
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...missing.execArgv, ...process.argv.slice(1)],
    {
      env: { ...env, ...missing.env, [LAUNCHED_VARIABLE]: '1' },
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    },
  );
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const forward = (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const s of signals) process.on(s, forward);
  await new Promise<never>(() => {
    child.once('error', (err) => {
      process.stderr.write(`error: cannot start ${process.execPath}: ${err.message}\n`);
      process.exit(1);
    });
    child.once('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      if (signal) {
        // Die of the same signal, so a shell or supervisor sees what the hub saw.
        process.kill(process.pid, signal);
        process.exit(128 + (constants.signals[signal] ?? 0));
      }
      process.exit(code ?? 1);
    });
  });
}
