import { existsSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Candidate } from '../../devices/decoder.js';
import type { BoardConfig } from '../config/boards.js';
import type { Availability } from '../core/bus.js';
import { type BoardSession, openSession, type Transport } from './johnny-five.js';
import { loadSerialPort } from './optional-deps.js';
import { componentSpec, SensorSampler } from './sensor.js';

export interface ConnectionDeps {
  log: Logger;
  ingest(candidates: Candidate[], receivedAt: number): void;
  setState(state: Availability): void;
  /** Called on each (re)connect, before the first sample: report-on-change starts afresh. */
  forgetReported?: (() => void) | undefined;
  /** Resolves the serial path for port "auto"; undefined when no port is found. */
  resolvePath(board: BoardConfig): Promise<string | undefined>;
  /** In-process transports (port "virtual"); undefined: open the serial path. */
  openVirtual?: ((board: BoardConfig) => Transport) | undefined;
  /** Wait between attempts while the board is away. */
  retryMs?: number;
}

/** How often the port's path is checked while connected: offline within 5 s needs well under that. */
const WATCH_MS = 500;
/** How long Firmata may take to answer after the port opens. */
const READY_TIMEOUT_MS = 10_000;

/** Waits ms, or less when aborted (the watch loop calls this every 500 ms while connected). */
const sleep = (ms: number, signal: AbortSignal) => delay(ms, undefined, { signal }).catch(() => undefined);

/**
 * One board's life: open its port, wait for Firmata, start its sensors, report
 * online; on loss report offline, drop everything and try again until the port
 * returns (same path, or any Arduino-like one for "auto"). Nothing is sent for the
 * time it was away: a gap is a gap.
 */
export class BoardConnection {
  readonly #abort = new AbortController();
  readonly #samplers: SensorSampler[];
  #session: BoardSession | undefined;
  #loop: Promise<void> | undefined;
  /** Path of the current connection, for "auto" bookkeeping. */
  path: string | undefined;
  connects = 0;

  constructor(
    readonly cfg: BoardConfig,
    private readonly deps: ConnectionDeps,
  ) {
    this.#samplers = cfg.sensors.map((s) => new SensorSampler(cfg.id, s));
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#session?.close();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { log } = this.deps;
    const retry = this.deps.retryMs ?? 1000;
    let announcedOffline = false;
    while (!this.#abort.signal.aborted) {
      const attempt = await this.#connectOnce().catch((err: Error) => err);
      if (this.#abort.signal.aborted) break;
      if (attempt instanceof Error) {
        if (!announcedOffline) {
          log.warn(
            { board: this.cfg.id, port: this.cfg.port, err: attempt.message },
            'board not reachable; retrying',
          );
          this.deps.setState('offline');
          announcedOffline = true;
        }
        await sleep(retry, this.#abort.signal);
        continue;
      }
      announcedOffline = false;
      const reason = await attempt;
      if (this.#abort.signal.aborted) break;
      log.warn({ board: this.cfg.id, path: this.path, reason }, 'board lost');
      this.deps.setState('offline');
      announcedOffline = true;
      await this.#session?.close();
      this.#session = undefined;
      await sleep(retry, this.#abort.signal);
    }
  }

  /** Connects and starts the sensors; resolves with a promise of the loss reason. */
  async #connectOnce(): Promise<Promise<string>> {
    let transport: Transport;
    if (this.cfg.port === 'virtual') {
      if (!this.deps.openVirtual) throw new Error('port "virtual" needs a virtual board provider');
      transport = this.deps.openVirtual(this.cfg);
      this.path = 'virtual';
    } else {
      const path = await this.deps.resolvePath(this.cfg);
      if (!path) throw new Error('no Arduino-like serial port found');
      if (!existsSync(path)) throw new Error(`${path} does not exist`);
      this.path = path;
      const { SerialPort } = await loadSerialPort();
      transport = new SerialPort({ path, baudRate: this.cfg.baudRate }) as unknown as Transport;
    }
    const session = openSession(transport, {
      readyTimeoutMs: READY_TIMEOUT_MS,
      log: this.deps.log,
    });
    this.#session = session;
    try {
      const { firmware } = await session.ready;
      if (this.#abort.signal.aborted) throw new Error('stopped');
      this.deps.forgetReported?.();
      this.cfg.sensors.forEach((s, i) => {
        const sampler = this.#samplers[i]!;
        session.addComponent(componentSpec(s), (values, ts) => {
          const candidates = sampler.sample(values, ts);
          if (candidates.length > 0) this.deps.ingest(candidates, ts);
        });
      });
      this.connects++;
      this.deps.log.info({ board: this.cfg.id, path: this.path, firmware }, 'board online');
      this.deps.setState('online');
    } catch (err) {
      await session.close();
      this.#session = undefined;
      throw err;
    }
    return Promise.race([session.lost, this.#watchPath(session)]);
  }

  /** A pty or USB device node that disappears is a lost board, even before the port reports it. */
  async #watchPath(session: BoardSession): Promise<string> {
    const path = this.path;
    if (!path || path === 'virtual') return session.lost;
    let done = false;
    void session.lost.then(() => {
      done = true;
    });
    while (!done && !this.#abort.signal.aborted) {
      await sleep(WATCH_MS, this.#abort.signal);
      if (!existsSync(path)) return `${path} disappeared`;
    }
    return session.lost;
  }
}
