import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { z } from 'zod';
import { applyEnv, dotted } from './env.js';
import { type Env, originOf, validate } from './load.js';

/**
 * Settings of the hub's process itself. V8 fixes its heap limits and glibc its malloc
 * arenas before any code runs, so these come from the environment only (HUB_MAX_HEAP_MB),
 * never from the config file, and `sensor-hub start` applies them by starting itself again.
 */
export const processSchema = z.strictObject({
  /** V8's old-space limit in MB: keeps peak memory low under bursts; raise it for very many series. */
  maxHeapMB: z.number().int().min(64).max(1_048_576).default(384),
});

/** Set in the environment of the process that runs the hub, so it does not start itself again. */
export const LAUNCHED_VARIABLE = 'SENSOR_HUB_LAUNCHED';

export interface ProcessFlags {
  /** Node/V8 flags, e.g. --max-old-space-size=384. */
  execArgv: string[];
  /** Environment the process must start with, e.g. MALLOC_ARENA_MAX=2. */
  env: Record<string, string>;
}

/**
 * The flags and environment the hub runs with: a small young generation (8 MB
 * semi-spaces: shorter scavenges under bursts), an old-space limit of HUB_MAX_HEAP_MB
 * (default 384), and two malloc arenas (glibc's default of one per thread held 20 to 30 MB
 * more at peak). A MALLOC_ARENA_MAX already set is kept.
 */
export function hubProcessFlags(env: Env = process.env): ProcessFlags {
  const raw: Record<string, unknown> = {};
  const origins = applyEnv(processSchema, raw, env);
  const settings = validate(processSchema, raw, (path) => originOf(origins, dotted(path)));
  return {
    execArgv: ['--max-semi-space-size=8', `--max-old-space-size=${settings.maxHeapMB}`],
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
 * Makes sure the hub runs with hubProcessFlags(). When this process lacks some, it starts
 * the same command again in a child that has them, forwards SIGINT, SIGTERM and SIGHUP to
 * it and exits as the child exits (same code, or the same signal), never returning. In the
 * process that should run the hub it returns; `onParentGone` then runs if the starting
 * process dies without a signal passed on (killed with SIGKILL), so the hub is not orphaned.
 */
export async function ensureProcessFlags(onParentGone: () => void): Promise<void> {
  if (process.env[LAUNCHED_VARIABLE] === '1') {
    delete process.env[LAUNCHED_VARIABLE];
    if (process.connected) {
      process.once('disconnect', onParentGone);
      process.channel?.unref();
    }
    return;
  }
  const missing = missingFlags(hubProcessFlags(), { execArgv: process.execArgv, env: process.env });
  if (!missing) return;
  const child = spawn(
    process.execPath,
    [...process.execArgv, ...missing.execArgv, ...process.argv.slice(1)],
    {
      env: { ...process.env, ...missing.env, [LAUNCHED_VARIABLE]: '1' },
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
