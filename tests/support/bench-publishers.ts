// The load of the ingest benchmark, in a process of its own so it does not share the
// hub's event loop. Options as JSON in argv[2]; talks to the parent over IPC:
// -> {ready}, <- 'go', -> {done, sent, ms, cpuUs}.
import mqtt, { type MqttClient } from 'mqtt';
import { type BenchKind, payloadFor, topicFor } from './bench-load.js';

export interface PublisherOptions {
  url: string;
  clients: number;
  /** Messages per client. */
  messages: number;
  qos: 0 | 1;
  kind: BenchKind;
  /** Messages a client has outstanding at once (unacknowledged for QoS 1, unwritten for QoS 0). */
  window: number;
  /** MQTT protocol level: 4 (3.1.1, the default) or 5. */
  protocol?: 4 | 5;
  /** MQTT 5 only: each publish carries the user property unit=Cel. */
  userProperties?: boolean;
  /** More client options (username, password, ca for TLS). */
  connect?: Record<string, unknown>;
}

const opts = JSON.parse(process.argv[2]!) as PublisherOptions;
const publishOpts =
  opts.protocol === 5 && opts.userProperties
    ? { qos: opts.qos, properties: { userProperties: { unit: 'Cel' } } }
    : { qos: opts.qos };

async function run(client: MqttClient, c: number): Promise<void> {
  let next = 0;
  let done = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (next < opts.messages && next - done < opts.window) {
        const i = next++;
        client.publish(topicFor(opts.kind, c, i), payloadFor(opts.kind, i), publishOpts, (err) => {
          if (err) return reject(err);
          done++;
          if (done === opts.messages) resolve();
          else if (next - done <= opts.window / 2) pump();
        });
      }
    };
    pump();
  });
}

const clients = await Promise.all(
  Array.from({ length: opts.clients }, (_, c) =>
    mqtt.connectAsync(opts.url, {
      clientId: `bench-${process.pid}-${c}`,
      reconnectPeriod: 0,
      keepalive: 600,
      protocolVersion: opts.protocol ?? 4,
      ...opts.connect,
    }),
  ),
);
process.send!({ ready: true });
process.once('message', async () => {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(clients.map((cl, c) => run(cl, c)));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(clients.map((cl) => cl.endAsync()));
  process.send!({ done: true, sent: opts.clients * opts.messages, ms, cpuUs: cpu.user + cpu.system }, () =>
    process.exit(0),
  );
});
