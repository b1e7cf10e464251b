import type { Logger } from 'pino';
import type { Candidate } from '../../devices/decoder.js';
import type { BoardConfig } from '../config/boards.js';
import type { Availability } from '../core/bus.js';
import type { IngestResult } from '../pipeline/pipeline.js';
import { BoardConnection } from './connection.js';
import type { Transport } from './johnny-five.js';
import { assertBoardDeps } from './optional-deps.js';
import { findArduinoPort } from './ports.js';

export interface BoardManagerOptions {
  boards: readonly BoardConfig[];
  log: Logger;
  ingestCandidates(candidates: readonly Candidate[], source: 'firmata', receivedAt: number): IngestResult;
  setState(device: string, state: Availability): void;
  /** Forgets a board's last stored values on (re)connect, so its first sample is always stored. */
  forgetReported?: ((device: string) => void) | undefined;
  /**
   * How `port: virtual` boards are made; the service has none of its own, so the entry
   * points that offer virtual boards (the CLI, tests) pass simulators' openVirtualBoard.
   */
  openVirtual?: ((board: BoardConfig) => Transport) | undefined;
  retryMs?: number;
}

export interface BoardStatus {
  id: string;
  port: string;
  path: string | undefined;
  state: Availability | 'connecting';
  connects: number;
}

/** Starts one connection per configured board; each reconnects on its own. */
export class BoardManager {
  readonly #connections: BoardConnection[] = [];
  readonly #state = new Map<string, Availability>();

  constructor(private readonly opts: BoardManagerOptions) {}

  start(): void {
    if (this.opts.boards.length > 0) assertBoardDeps(this.opts.boards.some((b) => b.port !== 'virtual'));
    const virtual = this.opts.boards.find((b) => b.port === 'virtual');
    if (virtual && !this.opts.openVirtual)
      throw new Error(
        `board ${virtual.id} has port "virtual" but no virtual board opener was passed (startHub option boards.openVirtual; simulators export openVirtualBoard)`,
      );
    for (const cfg of this.opts.boards) {
      const conn: BoardConnection = new BoardConnection(cfg, {
        log: this.opts.log,
        retryMs: this.opts.retryMs,
        ingest: (candidates, receivedAt) => {
          this.opts.ingestCandidates(candidates, 'firmata', receivedAt);
        },
        setState: (state) => {
          this.#state.set(cfg.id, state);
          this.opts.setState(cfg.id, state);
        },
        forgetReported: () => this.opts.forgetReported?.(cfg.id),
        resolvePath: async (b): Promise<string | undefined> => {
          if (b.port !== 'auto') return b.port;
          const taken = new Set<string>(
            this.#connections.filter((c) => c !== conn && c.path).map((c) => c.path!),
          );
          return findArduinoPort(taken);
        },
        openVirtual: this.opts.openVirtual,
      });
      this.#connections.push(conn);
      conn.start();
    }
  }

  status(): BoardStatus[] {
    return this.#connections.map((c) => ({
      id: c.cfg.id,
      port: c.cfg.port,
      path: c.path,
      state: this.#state.get(c.cfg.id) ?? 'connecting',
      connects: c.connects,
    }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#connections.map((c) => c.stop()));
    this.#connections.length = 0;
  }
}
