/**
 * The only module that touches Johnny-Five and firmata-io (see STYLE.md, adapters).
 * One session = one board connection: the firmata-io instance over a transport,
 * a Johnny-Five Board with its components, and every timer they started, so that a
 * lost board can be dropped completely and a new session opened when the port
 * returns (Johnny-Five itself has no reconnect: rwaldron/johnny-five#649, #1790).
 */
import type { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { boardDepsMissing } from './optional-deps.js';

const require = createRequire(import.meta.url);

type Component = EventEmitter & Record<string, unknown>;
type ComponentClass = new (opts: Record<string, unknown>) => Component;
interface J5Board extends EventEmitter {
  io: EventEmitter;
}
interface Five extends Record<string, unknown> {
  Board: (new (opts: Record<string, unknown>) => J5Board) & { cache: J5Board[] };
}
type FirmataClass = new (transport: unknown, opts: Record<string, unknown>) => EventEmitter;
let libs: { five: Five; Firmata: FirmataClass } | undefined;
/**
 * Johnny-Five is loaded with the first board, not with the hub: it imports Node's
 * REPL, which loads `domain`, and that wraps every EventEmitter's emit in the process
 * (sockets, streams, the MQTT parser) in a slower one. A hub without boards never pays.
 */
function load(): { five: Five; Firmata: FirmataClass } {
  try {
    libs ??= {
      five: require('johnny-five') as Five,
      Firmata: (require('firmata-io') as { Firmata: FirmataClass }).Firmata,
    };
  } catch (err) {
    if ((err as { code?: string }).code === 'MODULE_NOT_FOUND')
      throw boardDepsMissing(['johnny-five', 'firmata-io'], err);
    throw err;
  }
  return libs;
}

/** What firmata-io needs of a transport: a serialport instance, or anything shaped like one. */
export interface Transport extends EventEmitter {
  isOpen: boolean;
  write(data: Buffer, cb?: (err?: Error | null) => void): boolean;
  close(cb?: (err?: Error | null) => void): void;
}

export interface ComponentSpec {
  component: string;
  options: Record<string, unknown>;
  /** Sampled parts: read these dotted paths on each 'data' event. */
  paths: string[];
  /** Edge-driven parts: events that mean 1 and 0. */
  edges?: { on: string; off: string } | undefined;
}

export type SampleListener = (values: ReadonlyArray<number | null>, ts: number) => void;

export interface BoardSession {
  /** Resolves when Johnny-Five reports the board ready. */
  readonly ready: Promise<{ firmware: string }>;
  /** Resolves with a reason when the link is lost (port closed, error). */
  readonly lost: Promise<string>;
  addComponent(spec: ComponentSpec, listener: SampleListener): void;
  close(): Promise<void>;
}

function readPath(obj: unknown, path: string): number | null {
  let cur: unknown = obj;
  for (const key of path.split('.')) cur = (cur as Record<string, unknown> | null | undefined)?.[key];
  if (typeof cur === 'boolean') return cur ? 1 : 0;
  return typeof cur === 'number' && Number.isFinite(cur) ? cur : null;
}

/**
 * Runs fn while recording the intervals it starts: Johnny-Five components start
 * setInterval timers they never clear (Hygrometer, Barometer, Light, Motion), which
 * would keep the process alive and leak one per reconnect.
 */
function captureIntervals<T>(fn: () => T, into: NodeJS.Timeout[]): T {
  const original = globalThis.setInterval;
  const wrapped = ((...args: Parameters<typeof setInterval>) => {
    const t = original(...args);
    into.push(t);
    return t;
  }) as typeof setInterval;
  globalThis.setInterval = Object.assign(wrapped, original);
  try {
    return fn();
  } finally {
    globalThis.setInterval = original;
  }
}

export function openSession(
  transport: Transport,
  opts: { readyTimeoutMs: number; log: Logger },
): BoardSession {
  const timers: NodeJS.Timeout[] = [];
  let resolveLost!: (reason: string) => void;
  const lost = new Promise<string>((r) => {
    resolveLost = r;
  });
  transport.on('close', () => resolveLost('serial port closed'));
  transport.on('error', (err: Error) => resolveLost(`serial port error: ${err.message}`));

  // The version banner is flushed away when the port opens (serialport flushes on
  // open), so ask for it after 300 ms instead of firmata-io's default 5 s.
  const { five, Firmata } = load();
  const io = new Firmata(transport, {
    reportVersionTimeout: 300,
  });
  io.on('error', (err: Error) => resolveLost(`firmata error: ${err.message}`));
  const board = captureIntervals(
    () => new five.Board({ io, repl: false, debug: false, sigint: false, timeout: opts.readyTimeoutMs }),
    timers,
  );
  board.on('error', (err: Error) => resolveLost(`board error: ${err?.message ?? err}`));

  const ready = new Promise<{ firmware: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no Firmata answer within ${opts.readyTimeoutMs} ms`)),
      opts.readyTimeoutMs,
    );
    void lost.then((reason) => {
      clearTimeout(timer);
      reject(new Error(reason));
    });
    board.once('ready', () => {
      clearTimeout(timer);
      const fw = (io as unknown as { firmware?: { name?: string } }).firmware;
      resolve({ firmware: fw?.name ?? 'unknown' });
    });
  });
  ready.catch(() => undefined);

  let closed = false;
  return {
    ready,
    lost,
    addComponent(spec, listener) {
      const Cls = five[spec.component] as ComponentClass | undefined;
      if (!Cls) throw new Error(`Johnny-Five has no component ${spec.component}`);
      const c = captureIntervals(() => new Cls({ ...spec.options, board }), timers);
      c.on('error', (err: unknown) =>
        opts.log.warn({ err: String(err), component: spec.component }, 'sensor error'),
      );
      if (spec.edges) {
        c.on(spec.edges.on, () => listener([1], Date.now()));
        c.on(spec.edges.off, () => listener([0], Date.now()));
      } else {
        c.on('data', () =>
          listener(
            spec.paths.map((p) => readPath(c, p)),
            Date.now(),
          ),
        );
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      resolveLost('closed');
      for (const t of timers) clearInterval(t);
      // Johnny-Five's connect timer may still fire: keep an 'error' listener so it is not thrown.
      board.removeAllListeners();
      board.on('error', () => undefined);
      io.removeAllListeners();
      io.on('error', () => undefined);
      const cache = five.Board.cache;
      const i = cache.indexOf(board);
      if (i >= 0) cache.splice(i, 1);
      if (transport.isOpen) await new Promise<void>((r) => transport.close(() => r()));
      transport.removeAllListeners();
      // A late error from a closing port must not become an unhandled 'error' event.
      transport.on('error', () => undefined);
    },
  };
}
