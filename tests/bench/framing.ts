// The hub's MQTT framing alone (hub/mqtt/framing.ts), without sockets or Aedes: a
// connection's bytes (CONNECT, then plain QoS 0 publishes of the ingest bench's topics
// and payloads) fed in socket-sized reads to a framer whose sink does nothing. What the
// framing and its checks cost per packet on the hot path. BENCH_RUNS runs (default 7)
// after a warm-up; medians. BENCH_PROTOCOL=5 frames MQTT 5 packets (no properties).
import os from 'node:os';
import type { PublishFramer as Framer } from '../../hub/mqtt/framing.js';
import { type BenchKind, median, payloadFor, topicFor } from '../support/bench-load.js';
import type { Packet } from '../support/mqtt-packet.js';
import * as mqttPacket from '../support/mqtt-packet.js';

// BENCH_FRAMER=<path of another framing.ts> measures that one instead (before/after).
const { PublishFramer } = (await import(process.env.BENCH_FRAMER ?? '../../hub/mqtt/framing.js')) as {
  PublishFramer: typeof Framer;
};
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const PROTOCOL = process.env.BENCH_PROTOCOL === '5' ? 5 : 4;
const PACKETS = 1_000_000;
/** The size of one socket read under load. */
const READ = 64 * 1024;

const cpus = os.cpus();
console.log(`hardware: ${cpus[0]?.model} x ${cpus.length} cores; node ${process.version}`);
console.log(
  `framer only, MQTT ${PROTOCOL === 5 ? '5' : '3.1.1'}, ${PACKETS.toLocaleString('en-US')} QoS 0 publishes a run in ${READ}-byte reads, ${RUNS} runs after a warm-up; medians\n`,
);

const connect = mqttPacket.generate(
  {
    cmd: 'connect',
    protocolId: 'MQTT',
    protocolVersion: PROTOCOL,
    clean: true,
    clientId: 'bench',
    keepalive: 30,
  } as Packet,
  PROTOCOL,
);

for (const kind of ['single', 'multi'] as BenchKind[]) {
  const stream = Buffer.concat(
    Array.from({ length: 5000 }, (_, i) =>
      mqttPacket.generate(
        {
          cmd: 'publish',
          topic: topicFor(kind, i % 50, i),
          payload: payloadFor(kind, i),
          qos: 0,
          retain: false,
          dup: false,
        } as Packet,
        PROTOCOL,
      ),
    ),
  );
  const reads: Buffer[] = [];
  for (let i = 0; i < stream.length; i += READ) reads.push(stream.subarray(i, i + READ));
  let taken = 0;
  const run = () => {
    const framer = new PublishFramer({
      fast: () => {
        taken++;
        return true;
      },
      slow: () => undefined,
      refuse: (reason) => {
        throw new Error(`refused: ${reason}`);
      },
    } as ConstructorParameters<typeof Framer>[0]);
    // Older framers have no accept(): they check nothing before CONNECT.
    framer.feed(connect);
    (framer as { accept?: () => void }).accept?.();
    taken = 0;
    // CPU time, not wall time: steadier on a machine shared with other work.
    const c0 = process.cpuUsage();
    while (taken < PACKETS) for (const r of reads) framer.feed(r);
    const c = process.cpuUsage(c0);
    return ((c.user + c.system) * 1000) / taken;
  };
  run();
  const runs: number[] = [];
  for (let k = 0; k < RUNS; k++) runs.push(run());
  console.log(
    `${kind.padEnd(7)} ${median(runs).toFixed(1)} ns CPU per packet (best ${Math.min(...runs).toFixed(1)}) [runs: ${runs.map((r) => r.toFixed(1)).join(', ')}]`,
  );
}
