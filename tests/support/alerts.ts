import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MqttClient } from 'mqtt';

/**
 * A real webhook receiver on 127.0.0.1. `mode` says how it answers: `ok` (200),
 * a status to refuse with (500, 401), or `down` (not listening at all, connection refused).
 */
export class TestReceiver {
  readonly received: Array<Record<string, unknown>> = [];
  /** Every request, refused or not. */
  attempts = 0;
  mode: 'ok' | 'down' | number = 'ok';
  #server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.attempts++;
        if (typeof this.mode === 'number') {
          res.writeHead(this.mode).end();
          return;
        }
        this.received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
    this.mode = this.mode === 'down' ? 'ok' : this.mode;
  }

  /** Down: the port refuses connections until start() again (same port). */
  async down(): Promise<void> {
    this.mode = 'down';
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()).closeAllConnections());
  }

  /** What it got for one rule and device, as "state" strings in order. */
  states(rule: string, device: string): string[] {
    return this.received.filter((b) => b.rule === rule && b.device === device).map((b) => String(b.state));
  }

  stop(): Promise<void> {
    return this.down();
  }
}

/** Scripted signals: values one after another on sensors/<device>/<sensor>, QoS 1, each acknowledged. */
export async function publishValues(
  c: MqttClient,
  device: string,
  sensor: string,
  values: readonly number[],
  gapMs = 0,
): Promise<void> {
  for (const v of values) {
    await c.publishAsync(`sensors/${device}/${sensor}`, JSON.stringify({ value: v }), { qos: 1 });
    if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
  }
}

/** A ramp from `from` to `to` in `steps` steps. */
export const ramp = (from: number, to: number, steps: number): number[] =>
  Array.from({ length: steps + 1 }, (_, i) => from + ((to - from) * i) / steps);

/** A value flapping around a level by ± amplitude, n times. */
export const flap = (level: number, amplitude: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => level + (i % 2 ? -amplitude : amplitude));
