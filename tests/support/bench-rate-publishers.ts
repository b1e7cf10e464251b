// The load of the overload benchmark, in a process of its own: QoS 0 publishers that
// offer a fixed total rate for a fixed time (rate 0: as fast as their window allows).
// Options as JSON in argv[2]; over IPC: -> {ready}, <- 'go', -> {done, offered, sent, ...}.
import mqtt, { type MqttClient } from 'mqtt';
import { payloadFor, topicFor } from './bench-load.js';

export interface RatePublisherOptions {
  url: string;
  clients: number;
  /** Messages per second offered by all clients together; 0: unpaced. */
  rate: number;
  seconds: number;
  /** Messages a client may have unwritten at once; past it the schedule's messages are not sent. */
  window: number;
}

export interface RatePublisherResult {
  /** Messages the schedule called for. */
  offered: number;
  /** Messages published (QoS 0: all the hub can see; written out by the time the clients disconnected). */
  sent: number;
  /** Messages not sent because the client's window was full (the hub's TCP backpressure). */
  heldBack: number;
  /** Clients whose connection ended before the time was up. */
  disconnected: number;
  ms: number;
}

const opts = JSON.parse(process.argv[2]!) as RatePublisherOptions;
const TICK_MS = 10;
/** Per client, messages handed to the client library (its last window is written while it disconnects). */
const sentBy = new Array<number>(opts.clients).fill(0);

function run(
  client: MqttClient,
  c: number,
  t0: number,
): Promise<{ offered: number; sent: number; held: number; lost: boolean }> {
  const perMs = opts.rate / opts.clients / 1000;
  const endAt = t0 + opts.seconds * 1000;
  let next = 0;
  let written = 0;
  let held = 0;
  let lost = false;
  client.on('close', () => {
    lost = true;
  });
  return new Promise((resolve) => {
    const publish = () => {
      const i = next++;
      sentBy[c]!++;
      client.publish(topicFor('single', c, i), payloadFor('single', i), { qos: 0 }, (err) => {
        if (!err) written++;
        if (opts.rate === 0 && !lost && performance.now() < endAt) fill();
      });
    };
    // Unpaced: keep the window full.
    const fill = () => {
      while (next - written < opts.window && !lost) publish();
    };
    if (opts.rate === 0) {
      fill();
      setTimeout(() => resolve({ offered: next, sent: written, held: 0, lost }), opts.seconds * 1000);
      return;
    }
    let due = 0;
    const timer = setInterval(() => {
      const now = Math.min(performance.now(), endAt);
      const target = Math.floor((now - t0) * perMs);
      for (; due < target; due++) {
        if (!lost && next - written < opts.window) publish();
        else held++;
      }
      if (now >= endAt) {
        clearInterval(timer);
        resolve({ offered: due, sent: written, held, lost });
      }
    }, TICK_MS);
  });
}

const clients = await Promise.all(
  Array.from({ length: opts.clients }, (_, c) =>
    mqtt.connectAsync(opts.url, {
      clientId: `overload-${process.pid}-${c}`,
      reconnectPeriod: 0,
      keepalive: 600,
    }),
  ),
);
for (const cl of clients) cl.on('error', () => {});
process.send!({ ready: true });
process.once('message', async () => {
  const t0 = performance.now();
  const rs = await Promise.all(clients.map((cl, c) => run(cl, c, t0)));
  const ms = performance.now() - t0;
  await Promise.all(clients.map((cl) => cl.endAsync().catch(() => {})));
  const result: RatePublisherResult = {
    offered: rs.reduce((n, r) => n + r.offered, 0),
    sent: sentBy.reduce((n, w) => n + w, 0),
    heldBack: rs.reduce((n, r) => n + r.held, 0),
    disconnected: rs.filter((r) => r.lost).length,
    ms,
  };
  process.send!({ done: true, ...result }, () => process.exit(0));
});
