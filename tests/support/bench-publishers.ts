// The load of the ingest benchmark, in a process of its own so it does not share the
// hub's event loop. Options as JSON in argv[2]; talks to the parent over IPC:
// -> {ready}, <- 'go', -> {done, sent, ms, cpuUs}.
import mqtt, { type MqttClient } from 'mqtt';

export interface PublisherOptions {
  url: string;
  clients: number;
  /** Messages per client. */
  messages: number;
  qos: 0 | 1;
  /** single: one number per message; multi: a JSON object of 8 sensors per message. */
  kind: 'single' | 'multi';
  /** Messages a client has outstanding at once (unacknowledged for QoS 1, unwritten for QoS 0). */
  window: number;
}

// Series per client: more than a client's window, so two messages of one series never
// arrive in one socket read (the same hub millisecond would overwrite in InfluxDB).
const SENSORS = 500;
const DEVICES = 150;
const opts = JSON.parse(process.argv[2]!) as PublisherOptions;

function payloadFor(kind: PublisherOptions['kind'], i: number): string {
  if (kind === 'single') return String(20 + (i % 100) / 10);
  const v = i % 100;
  return `{"temperature":${20 + v / 10},"humidity":${40 + v / 5},"pressure":${1000 + v},"illuminance":${v * 10},"voltage":${3 + v / 100},"co2":${400 + v},"power":${v},"energy":${i}}`;
}

// Every series gets a reading only every SENSORS messages of its client, so the
// hub-assigned millisecond timestamps never collide within a series (a collision
// would overwrite in InfluxDB and the counts would not be exact).
function topicFor(kind: PublisherOptions['kind'], c: number, i: number): string {
  return kind === 'single' ? `sensors/bench${c}/s${i % SENSORS}` : `sensors/bench${c}x${i % DEVICES}`;
}

async function run(client: MqttClient, c: number): Promise<void> {
  let next = 0;
  let done = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      while (next < opts.messages && next - done < opts.window) {
        const i = next++;
        client.publish(topicFor(opts.kind, c, i), payloadFor(opts.kind, i), { qos: opts.qos }, (err) => {
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
