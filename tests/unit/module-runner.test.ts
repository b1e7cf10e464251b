import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { buildHealth, type HubModule, ModuleRunner } from '../../hub/modules/module.js';

/** A logger that keeps what it is told, for asserting the stop log. */
function recordingLog() {
  const lines: Array<{ msg: string; step?: string; module?: string }> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

function fake(name: string, calls: string[], fail: { start?: boolean; stop?: boolean } = {}): HubModule {
  return {
    name,
    start: async () => {
      calls.push(`start ${name}`);
      if (fail.start) throw new Error(`${name} cannot start`);
    },
    stop: async () => {
      calls.push(`stop ${name}`);
      if (fail.stop) throw new Error(`${name} cannot stop`);
    },
  };
}

describe('module lifecycle', () => {
  it('starts modules in order and stops them in reverse', async () => {
    const calls: string[] = [];
    const runner = new ModuleRunner(pino({ level: 'silent' }));
    for (const n of ['storage', 'ingest', 'broker', 'http']) await runner.start(fake(n, calls));
    await runner.stop();
    expect(calls).toEqual([
      'start storage',
      'start ingest',
      'start broker',
      'start http',
      'stop http',
      'stop broker',
      'stop ingest',
      'stop storage',
    ]);
    // Stopped once: a second stop has nothing left to do.
    await runner.stop();
    expect(calls).toHaveLength(8);
  });

  it('logs a failing stop step and still stops every other module', async () => {
    const calls: string[] = [];
    const { log, lines } = recordingLog();
    const runner = new ModuleRunner(log);
    for (const m of [fake('storage', calls), fake('broker', calls, { stop: true }), fake('http', calls)])
      await runner.start(m);
    await runner.stop();
    expect(calls.filter((c) => c.startsWith('stop'))).toEqual(['stop http', 'stop broker', 'stop storage']);
    expect(lines.filter((l) => l.msg === 'stop step failed').map((l) => l.step)).toEqual(['broker']);
    expect(lines.filter((l) => l.msg === 'module stopped').map((l) => l.module)).toEqual(['http', 'storage']);
  });

  it('stops a module whose start failed (it undoes what it opened), then the caller stops the rest', async () => {
    const calls: string[] = [];
    const runner = new ModuleRunner(pino({ level: 'silent' }));
    await runner.start(fake('storage', calls));
    await expect(runner.start(fake('broker', calls, { start: true }))).rejects.toThrow('broker cannot start');
    await runner.stop();
    expect(calls).toEqual(['start storage', 'start broker', 'stop broker', 'stop storage']);
  });
});

describe('/healthz body', () => {
  it('merges what each module reports, ok only when none says otherwise', async () => {
    const mod = (name: string, health?: HubModule['health']): HubModule => ({
      name,
      start: () => undefined,
      stop: () => undefined,
      ...(health ? { health } : {}),
    });
    const ok = await buildHealth([
      mod('storage', async () => ({ ok: true, influx: { reachable: true } })),
      mod('boards'),
      mod('broker', () => ({ mqtt: { port: 1883, clients: 2 } })),
    ]);
    expect(ok).toEqual({ ok: true, influx: { reachable: true }, mqtt: { port: 1883, clients: 2 } });
    const down = await buildHealth([
      mod('storage', async () => ({ ok: false, influx: { reachable: false } })),
      mod('registry', () => ({ ok: true, devices: 3 })),
    ]);
    expect(down).toEqual({ ok: false, influx: { reachable: false }, devices: 3 });
  });
});
