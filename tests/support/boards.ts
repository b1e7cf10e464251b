import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Candidate } from '../../devices/decoder.js';
import { BoardConnection } from '../../hub/boards/connection.js';
import { type BoardConfig, board as boardSchema } from '../../hub/config/boards.js';
import type { Availability } from '../../hub/core/bus.js';
import { type EmulatedUno, startEmulatedUno } from '../../simulators/avr/emulator.js';
import { VirtualFirmataBoard, VirtualSerialPort } from '../../simulators/firmata/index.js';

/** A board under test: whatever runs the firmware, the test drives its inputs the same way. */
export interface BoardTarget {
  name: string;
  /** The `port:` for the board's config. */
  port: string;
  setMillivolts(channel: number, mv: number): void;
  setDigital(pin: number, level: 0 | 1): void;
  /** For in-process targets: the transport factory. */
  openVirtual?: () => VirtualSerialPort;
  stop(): Promise<void>;
}

export function tmpPortPath(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'hub-tty-')), name);
}

export async function emulatedTarget(path = tmpPortPath('uno')): Promise<BoardTarget & { uno: EmulatedUno }> {
  const uno = await startEmulatedUno(path);
  return {
    name: 'StandardFirmata in simavr',
    port: path,
    uno,
    setMillivolts: (ch, mv) => uno.setMillivolts(ch, mv),
    setDigital: (pin, level) => uno.setDigital(pin, level),
    stop: () => uno.stop(),
  };
}

export function virtualTarget(vb = new VirtualFirmataBoard()): BoardTarget & { board: VirtualFirmataBoard } {
  return {
    name: 'virtual Firmata board',
    port: 'virtual',
    board: vb,
    setMillivolts: (ch, mv) => vb.setMillivolts(ch, mv),
    setDigital: (pin, level) => vb.setDigital(pin, level),
    openVirtual: () => new VirtualSerialPort(vb),
    stop: async () => undefined,
  };
}

/** One board connection (the hub's driver layer) collecting what it would feed the pipeline. */
export function driveBoard(target: BoardTarget, input: Record<string, unknown>) {
  const cfg: BoardConfig = boardSchema.parse({ port: target.port, ...input });
  const candidates: Candidate[] = [];
  const states: Availability[] = [];
  const conn = new BoardConnection(cfg, {
    log: pino({ level: process.env.HUB_TEST_LOG ?? 'silent' }),
    ingest: (cs) => candidates.push(...cs),
    setState: (s) => states.push(s),
    resolvePath: async (b) => b.port,
    openVirtual: target.openVirtual,
    retryMs: 250,
  });
  conn.start();
  return { conn, candidates, states, stop: () => conn.stop() };
}
