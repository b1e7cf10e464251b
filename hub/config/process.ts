import { z } from 'zod';
import { applyEnv, dotted } from './env.js';
import { DEFAULT_MAX_HEAP_MB, type ProcessFlags, processFlagsFor } from './launch.js';
import { type Env, originOf, validate } from './load.js';

/**
 * Settings of the hub's process itself. V8 fixes its heap limits and glibc its malloc
 * arenas before any code runs, so these come from the environment only (HUB_MAX_HEAP_MB),
 * never from the config file; `sensor-hub start` applies them by starting itself again
 * (hub/config/launch.ts).
 */
export const processSchema = z.strictObject({
  /** V8's old-space limit in MB: keeps peak memory low under bursts; raise it for very many series. */
  maxHeapMB: z.number().int().min(64).max(1_048_576).default(DEFAULT_MAX_HEAP_MB),
});

/** The hub's process flags for `env`, its HUB_MAX_HEAP_MB validated (a ConfigError names it). */
export function hubProcessFlags(env: Env = process.env): ProcessFlags {
  const raw: Record<string, unknown> = {};
  const origins = applyEnv(processSchema, raw, env);
  const settings = validate(processSchema, raw, (path) => originOf(origins, dotted(path)));
  return processFlagsFor(settings.maxHeapMB, env);
}
