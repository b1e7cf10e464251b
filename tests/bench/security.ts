// What access control and TLS cost: QoS 0 and QoS 1 throughput of 10 publishers (a
// process of their own) into three hubs of this process, in the same run, in rotating
// order: plain (no users, no ACL), auth+ACL (every client signed in from a password
// file, the ACL's device rule decides every publish), and TLS (mqtts with the hub's
// generated CA). BENCH_RUNS rounds (default 5); medians and ratios to plain.
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HubHandle } from '../../hub/hub.js';
import { passwd } from '../../hub/security/passwd-cli.js';
import { median } from '../support/bench-load.js';
import type { PublisherOptions } from '../support/bench-publishers.js';
import { startTestHub } from '../support/hub.js';
import { startTestInfluxd } from '../support/influxd.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const CLIENTS = 10;
const MESSAGES = { 0: 20_000, 1: 3_000 } as const;
const cpus = os.cpus();
console.log(`hardware: ${cpus[0]?.model} x ${cpus.length} cores; node ${process.version}`);
console.log(
  `${CLIENTS} publishers, ${MESSAGES[0]} (QoS 0) / ${MESSAGES[1]} (QoS 1) messages each per run, ${RUNS} rounds, order rotated; medians\n`,
);

const influx = await startTestInfluxd();
const dir = mkdtempSync(join(tmpdir(), 'bench-sec-'));
const file = join(dir, 'passwd');
await passwd({ file, user: 'bench', password: 'bench-password', batch: true, create: true });
const quiet = { registry: { checkEvery: 0 }, mqtt: { republish: false } } as const;
const plain = await startTestHub(influx.url, quiet);
const auth = await startTestHub(influx.url, {
  ...quiet,
  mqtt: {
    republish: false,
    passwordFile: file,
    allowAnonymous: false,
    acl: [{ user: 'bench', devices: ['bench*'] }],
  },
});
const tls = await startTestHub(influx.url, {
  ...quiet,
  dataDir: dir,
  mqtt: { republish: false, listeners: [{ protocol: 'mqtts', host: '127.0.0.1', port: 0 }] },
});
const ca = readFileSync(join(dir, 'tls', 'ca.crt'), 'utf8');

type Name = 'plain' | 'auth+ACL' | 'TLS';
const targets: Array<{ name: Name; hub: HubHandle; connect: Record<string, unknown> }> = [
  { name: 'plain', hub: plain, connect: {} },
  { name: 'auth+ACL', hub: auth, connect: { username: 'bench', password: 'bench-password' } },
  { name: 'TLS', hub: tls, connect: { ca, rejectUnauthorized: true, servername: 'localhost' } },
];

async function once(url: string, qos: 0 | 1, connect: Record<string, unknown>): Promise<number> {
  const opts: PublisherOptions = {
    url,
    clients: CLIENTS,
    messages: MESSAGES[qos],
    qos,
    kind: 'single',
    window: qos === 0 ? 500 : 20,
    connect,
  };
  const proc = fork(
    fileURLToPath(new URL('../support/bench-publishers.ts', import.meta.url)),
    [JSON.stringify(opts)],
    {
      execArgv: ['--import', 'tsx'],
      stdio: 'inherit',
    },
  );
  await new Promise<void>((resolve, reject) => {
    proc.once('message', () => resolve());
    proc.once('exit', (code) => reject(new Error(`publishers exited with ${code}`)));
  });
  const r = await new Promise<{ sent: number; ms: number }>((resolve) => {
    proc.once('message', (m) => resolve(m as { sent: number; ms: number }));
    proc.send('go');
  });
  return (r.sent * 1000) / r.ms;
}

const results = new Map<string, number[]>();
for (let round = 0; round < RUNS; round++)
  for (const qos of [0, 1] as const)
    for (let k = 0; k < targets.length; k++) {
      const t = targets[(k + round) % targets.length]!;
      const rate = await once(t.hub.mqttUrl.replace('localhost', '127.0.0.1'), qos, t.connect);
      const key = `${qos}/${t.name}`;
      results.set(key, [...(results.get(key) ?? []), rate]);
    }

for (const qos of [0, 1] as const) {
  const base = median(results.get(`${qos}/plain`)!);
  for (const t of targets) {
    const m = median(results.get(`${qos}/${t.name}`)!);
    console.log(
      `QoS ${qos}  ${t.name.padEnd(9)} ${Math.round(m).toLocaleString('en-US').padStart(8)} msg/s  ratio to plain ${(m / base).toFixed(2)}`,
    );
  }
}
for (const h of [plain, auth, tls]) await h.stop();
await influx.stop();
process.exit(0);
