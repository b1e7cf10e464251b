import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
/** Sources live beside this file in the repository; dist/ has only the compiled JS. */
const SRC = existsSync(join(HERE, 'firmata-harness.c')) ? HERE : resolve(HERE, '../../../simulators/avr');
export const AVR_BUILD_DIR = join(SRC, 'build');

export interface AvrTools {
  /** Runs a firmware hex on an emulated ATmega328P with UART0 on a pty. */
  harness: string;
  /** Puts stdin/stdout on a pty (the virtual board as a serial port). */
  ptyRelay: string;
}

/**
 * The harness links simavr's static libraries (Debian libsimavr-dev); it is built
 * on the machine that runs it, never committed. Rebuilt when a source is newer.
 */
const TARGETS = [
  {
    out: 'firmata-harness',
    src: 'firmata-harness.c',
    // Static simavr: the Debian package ships libsimavr.a without a pkg-config file usable here.
    args: [
      '-I/usr/include/simavr',
      '-Wl,-Bstatic',
      '-lsimavrparts',
      '-lsimavr',
      '-Wl,-Bdynamic',
      '-lpthread',
      '-lutil',
    ],
  },
  { out: 'pty-relay', src: 'pty-relay.c', args: [] },
];

export async function buildAvrTools(): Promise<AvrTools> {
  mkdirSync(AVR_BUILD_DIR, { recursive: true });
  for (const t of TARGETS) {
    const src = join(SRC, t.src);
    const out = join(AVR_BUILD_DIR, t.out);
    if (existsSync(out) && statSync(out).mtimeMs >= statSync(src).mtimeMs) continue;
    // Build to a temporary name, so parallel test workers never run a half-written binary.
    const tmp = `${out}.${process.pid}.tmp`;
    try {
      await run('gcc', ['-O2', '-o', tmp, src, ...t.args]);
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(
        `cannot build ${t.src} (needs gcc and Debian libsimavr-dev): ${e.stderr?.slice(0, 2000) ?? e.message}`,
      );
    }
    renameSync(tmp, out);
  }
  return { harness: join(AVR_BUILD_DIR, 'firmata-harness'), ptyRelay: join(AVR_BUILD_DIR, 'pty-relay') };
}
