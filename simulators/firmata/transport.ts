import { type ChildProcess, spawn } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { VirtualFirmataBoard } from './virtual-board.js';

/**
 * The host end of an in-process link to a virtual board, shaped like a serialport
 * instance (open/close/data events, isOpen, close(cb)) so firmata-io takes it as
 * its transport.
 */
export class VirtualSerialPort extends Duplex {
  isOpen = false;
  readonly path: string;
  readonly #link: { receive(bytes: Uint8Array): void; detach(): void };

  constructor(board: VirtualFirmataBoard, path = 'virtual') {
    super();
    this.path = path;
    // Bytes arrive on a later turn, as from a real serial line, never inside write().
    let queued: Buffer[] = [];
    this.#link = board.attach(
      (bytes) => {
        if (queued.length === 0)
          setImmediate(() => {
            const out = Buffer.concat(queued);
            queued = [];
            if (this.isOpen) this.push(out);
          });
        queued.push(bytes);
      },
      // Unplugged: the port goes away under the host, as a USB serial device does.
      () =>
        setImmediate(() => {
          if (!this.isOpen) return;
          this.isOpen = false;
          this.emit('close');
        }),
    );
    process.nextTick(() => {
      this.isOpen = true;
      this.emit('open');
    });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.isOpen) this.#link.receive(chunk);
    cb();
  }

  close(cb?: (err?: Error | null) => void): void {
    if (!this.isOpen) {
      cb?.(null);
      return;
    }
    this.isOpen = false;
    this.#link.detach();
    this.emit('close');
    cb?.(null);
  }
}

export interface PtyExposure {
  /** The stable path (a symlink to the pty). */
  path: string;
  pid: number;
  /** Closes the pty: a host sees its serial port go away. */
  stop(): Promise<void>;
}

/** Puts a virtual board on a pseudo-terminal linked at `path`, through the pty-relay helper. */
export async function exposeOnPty(
  board: VirtualFirmataBoard,
  path: string,
  relay: string,
): Promise<PtyExposure> {
  const child: ChildProcess = spawn(relay, [path], { stdio: ['pipe', 'pipe', 'inherit'] });
  let link: { receive(bytes: Uint8Array): void; detach(): void } | undefined;
  await new Promise<void>((resolve, reject) => {
    let banner = '';
    const onData = (chunk: Buffer) => {
      if (link) {
        link.receive(chunk);
        return;
      }
      banner += chunk.toString('latin1');
      const nl = banner.indexOf('\n');
      if (nl < 0) return;
      if (!banner.startsWith('ready ')) return reject(new Error(`pty-relay: ${banner.slice(0, 200)}`));
      link = board.attach((bytes) => child.stdin?.write(bytes));
      const rest = Buffer.from(banner.slice(nl + 1), 'latin1');
      if (rest.length > 0) link.receive(rest);
      resolve();
    };
    child.stdout?.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`pty-relay exited with ${code}`)));
  });
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    path,
    pid: child.pid!,
    async stop() {
      link?.detach();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
