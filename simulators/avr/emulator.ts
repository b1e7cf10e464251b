import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { buildAvrTools } from './build.js';

/** StandardFirmata 2.4 for the Uno, as shipped (compiled) inside the npm package avrgirl-arduino. */
export function standardFirmataHex(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('avrgirl-arduino/package.json');
  const hex = join(dirname(pkg), 'junk/hex/uno/StandardFirmata.cpp.hex');
  if (!existsSync(hex)) throw new Error(`StandardFirmata hex not found at ${hex}`);
  return hex;
}

export interface EmulatedUno {
  /** The stable path the test chose (a symlink to the pty). */
  readonly path: string;
  readonly pid: number;
  /** Drives analog input `channel` (A0..A5) in millivolts, against 5 V. */
  setMillivolts(channel: number, mv: number): void;
  /** Drives a digital input level (Arduino pin numbers). */
  setDigital(pin: number, level: 0 | 1): void;
  /** Ends the emulator: the pty goes away and the link is removed. */
  stop(): Promise<void>;
}

/**
 * Real StandardFirmata on an emulated ATmega328P (simavr), serial port on a pty
 * linked at `path`. The emulator runs at about half real time and takes a core
 * while it runs: stop it as soon as a test is done.
 */
export async function startEmulatedUno(path: string, hex = standardFirmataHex()): Promise<EmulatedUno> {
  const { harness } = await buildAvrTools();
  const child: ChildProcess = spawn(harness, [hex, path], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`emulator did not start: ${stderr}`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      // simavr prints its own banner lines first; ours is "ready <pty>".
      if (/^ready \S+$/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited with ${code}: ${stderr}`));
    });
  });
  const send = (line: string) => child.stdin?.write(`${line}\n`);
  return {
    path,
    pid: child.pid!,
    setMillivolts: (ch, mv) => send(`adc ${ch} ${Math.round(mv)}`),
    setDigital: (pin, level) => send(`pin ${pin} ${level}`),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      send('quit');
      const killed = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(killed);
    },
  };
}
