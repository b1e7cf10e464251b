import type { Logger } from 'pino';

/** A module's part of the /healthz body; `ok: false` makes the whole hub not ok. */
export type ModuleHealth = { ok?: boolean } & Record<string, unknown>;

/**
 * One part of the hub with one lifecycle. The constructor does no I/O; start()
 * subscribes to the bus and opens what the module owns, stop() undoes exactly that.
 */
export interface HubModule {
  readonly name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
  /** What the module adds to /healthz, asked on each request. */
  health?(): Promise<ModuleHealth> | ModuleHealth;
}

/** A module from an object that already has start/stop (the quarantine, the board manager). */
export function asModule(
  name: string,
  part: { start(): Promise<unknown> | unknown; stop(): Promise<unknown> | unknown },
  health?: () => ModuleHealth,
): HubModule {
  return {
    name,
    start: async () => {
      await part.start();
    },
    stop: async () => {
      await part.stop();
    },
    ...(health ? { health } : {}),
  };
}

/**
 * Starts modules in order and stops the started ones in reverse. A stop step that
 * fails is logged and the others still run, so one broken part cannot keep the
 * spool open or the port bound.
 */
export class ModuleRunner {
  readonly #started: HubModule[] = [];

  constructor(private readonly log: Logger) {}

  get started(): readonly HubModule[] {
    return this.#started;
  }

  /** A module whose start() fails is stopped at once: its stop() undoes what it opened so far. */
  async start(m: HubModule): Promise<void> {
    try {
      await m.start();
    } catch (err) {
      await this.#stopOne(m);
      throw err;
    }
    this.#started.push(m);
    this.log.debug({ module: m.name }, 'module started');
  }

  async stop(): Promise<void> {
    while (this.#started.length > 0) {
      await this.#stopOne(this.#started.pop()!);
    }
  }

  async #stopOne(m: HubModule): Promise<void> {
    try {
      await m.stop();
      this.log.debug({ module: m.name }, 'module stopped');
    } catch (err) {
      this.log.error({ err, step: m.name }, 'stop step failed');
    }
  }
}

/**
 * The /healthz body: every module's part, merged in start order, with `ok` true only
 * when no module reports `ok: false`.
 */
export async function buildHealth(
  modules: readonly HubModule[],
): Promise<{ ok: boolean; [k: string]: unknown }> {
  const parts = await Promise.all(modules.map((m) => m.health?.()));
  let ok = true;
  const body: { ok: boolean; [k: string]: unknown } = { ok };
  for (const part of parts) {
    if (!part) continue;
    const { ok: partOk, ...rest } = part;
    if (partOk === false) ok = false;
    Object.assign(body, rest);
  }
  body.ok = ok;
  return body;
}
