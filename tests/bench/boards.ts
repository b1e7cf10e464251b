/**
 * npm run bench -- boards:
 * 1. samples per second one board delivers into the pipeline: a virtual board with
 *    6 analog pins sampled every 20 ms, through Johnny-Five and the pipeline steps;
 * 2. time from plug-in to first reading with StandardFirmata in the AVR emulator:
 *    the hub waits on a path, the emulator starts there, the clock stops at the
 *    first reading out of the pipeline.
 */
import { cpus, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { pino } from 'pino';
import { DECODERS } from '../../devices/decoders/index.js';
import { BoardConnection } from '../../hub/boards/connection.js';
import { board as boardSchema } from '../../hub/config/boards.js';
import { EventBus } from '../../hub/core/bus.js';
import { Pipeline } from '../../hub/pipeline/pipeline.js';
import { SeriesClock } from '../../hub/pipeline/series-clock.js';
import { Quarantine } from '../../hub/quarantine.js';
import { startEmulatedUno } from '../../simulators/avr/emulator.js';
import { VirtualFirmataBoard, VirtualSerialPort } from '../../simulators/firmata/index.js';
import { tmpPortPath } from '../support/boards.js';

const log = pino({ level: 'silent' });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pipeline() {
  const bus = new EventBus(log);
  const quarantine = new Quarantine(bus, log, { file: resolve(tmpPortPath('q'), '..', 'quarantine.jsonl') });
  const p = new Pipeline({
    decoders: DECODERS,
    quarantine,
    bus,
    maxPayloadBytes: 1 << 16,
    context: { deviceTags: new Map(), maxFutureSkewMs: 300_000, clock: new SeriesClock() },
  });
  let readings = 0;
  bus.on({}, 'readings', (rs) => {
    readings += rs.length;
  });
  return { p, count: () => readings };
}

async function throughput(seconds: number): Promise<{ perSecond: number; firmataMessages: number }> {
  const vb = new VirtualFirmataBoard();
  for (let ch = 0; ch < 6; ch++) vb.drive(`A${ch}`, (t) => 2500 + 2000 * Math.sin(t / 1000 + ch));
  const { p, count } = pipeline();
  const cfg = boardSchema.parse({
    id: 'bench',
    port: 'virtual',
    sensors: [0, 1, 2, 3, 4, 5].map((ch) => ({ id: `a${ch}`, type: 'analog', pin: `A${ch}`, every: '20ms' })),
  });
  let online = false;
  const conn = new BoardConnection(cfg, {
    log,
    ingest: (cs, at) => p.ingestCandidates(cs, 'firmata', at),
    setState: (s) => {
      online = s === 'online';
    },
    resolvePath: async () => undefined,
    openVirtual: () => new VirtualSerialPort(vb),
  });
  conn.start();
  while (!online) await sleep(10);
  await sleep(500); // let every sensor get its first value
  const r0 = count();
  const m0 = vb.sent;
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const dt = (performance.now() - t0) / 1000;
  const result = { perSecond: (count() - r0) / dt, firmataMessages: (vb.sent - m0) / dt };
  await conn.stop();
  return result;
}

async function plugInToFirstReading(): Promise<{ online: number; first: number }> {
  const path = tmpPortPath('ttyACM-bench');
  const { p, count } = pipeline();
  const cfg = boardSchema.parse({
    id: 'plug',
    port: path,
    sensors: [{ id: 'a0', type: 'analog', pin: 'A0', every: '20ms' }],
  });
  let onlineAt = 0;
  const conn = new BoardConnection(cfg, {
    log,
    ingest: (cs, at) => p.ingestCandidates(cs, 'firmata', at),
    setState: (s) => {
      if (s === 'online') onlineAt = performance.now();
    },
    resolvePath: async (b) => b.port,
    // How often the hub looks for a port that is not there bounds this figure; 100 ms here.
    retryMs: 100,
  });
  conn.start();
  await sleep(300); // the hub is waiting for the board
  const t0 = performance.now();
  const uno = await startEmulatedUno(path);
  uno.setMillivolts(0, 2500);
  const deadline = t0 + 30_000;
  while (count() === 0 && performance.now() < deadline) await sleep(5);
  const first = performance.now() - t0;
  await conn.stop();
  await uno.stop();
  return { online: onlineAt - t0, first };
}

const cpu = cpus();
process.stdout.write(
  `hardware: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}\n\n`,
);

const runs = 3;
const tp: Array<{ perSecond: number; firmataMessages: number }> = [];
for (let i = 0; i < runs; i++) tp.push(await throughput(5));
const ideal = 6 * (1000 / 20);
const sps = median(tp.map((r) => r.perSecond));
process.stdout.write(
  `virtual board, 6 analog pins every 20 ms, into the pipeline (${runs} runs of 5 s):\n` +
    `  samples/s   median ${sps.toFixed(1)}  (runs ${tp.map((r) => r.perSecond.toFixed(1)).join(', ')})\n` +
    `  configured  ${ideal} samples/s; ratio ${(sps / ideal).toFixed(3)}\n` +
    `  Firmata messages/s from the board: median ${median(tp.map((r) => r.firmataMessages)).toFixed(1)} (analog reports at its 19 ms sampling interval)\n\n`,
);

const plug: Array<{ online: number; first: number }> = [];
for (let i = 0; i < runs; i++) plug.push(await plugInToFirstReading());
process.stdout.write(
  `StandardFirmata in simavr, plug-in to first reading (${runs} runs):\n` +
    `  to online        median ${median(plug.map((r) => r.online)).toFixed(0)} ms  (runs ${plug.map((r) => r.online.toFixed(0)).join(', ')})\n` +
    `  to first reading median ${median(plug.map((r) => r.first)).toFixed(0)} ms  (runs ${plug.map((r) => r.first.toFixed(0)).join(', ')})\n` +
    '  (the hub looks for the missing port every 100 ms here; the default is 1 s)\n',
);
process.exit(0);
