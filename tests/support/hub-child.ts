import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HubConfigInput } from '../../hub/config/schema.js';

export interface HubChild {
  proc: ChildProcess;
  mqttUrl: string;
  httpUrl: string;
  /** Waits until the child's spool is empty (InfluxDB confirmed everything). */
  flush(): Promise<number>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const script = fileURLToPath(new URL('./hub-process.ts', import.meta.url));

/** Starts tests/support/hub-process.ts as a child process and waits for its URLs. */
export async function startHubChild(config: HubConfigInput, execArgv: string[] = []): Promise<HubChild> {
  const proc = spawn(process.execPath, [...execArgv, '--import', 'tsx', script, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const urls = await new Promise<{ mqttUrl: string; httpUrl: string }>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('hub child did not start within 30 s')), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(buf.slice(0, nl)));
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hub child exited with ${code}`));
    });
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  return {
    proc,
    ...urls,
    flush: () =>
      new Promise((resolve) => {
        const on = (m: unknown) => {
          if (m && typeof m === 'object' && 'flushed' in m) {
            proc.off('message', on);
            resolve((m as { flushed: number }).flushed);
          }
        };
        proc.on('message', on);
        proc.send('flush');
      }),
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}
