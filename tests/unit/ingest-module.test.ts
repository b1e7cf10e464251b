import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../hub/config/load.js';
import { EventBus } from '../../hub/core/bus.js';
import type { QuarantineEntry } from '../../hub/core/quarantine-entry.js';
import { registryOptions } from '../../hub/device-support.js';
import { IngestModule } from '../../hub/modules/ingest.js';
import { createMetrics } from '../../hub/prometheus.js';
import { Quarantine } from '../../hub/quarantine.js';
import { DeviceRegistry } from '../../hub/registry.js';
import { Spool } from '../../hub/storage/spool.js';
import { SpoolSink } from '../../hub/storage/spool-sink.js';
import { mqttMessage } from '../support/hub.js';

const log = pino({ level: 'silent' });

/** Waits (bounded) until the spool has committed n readings. */
async function committed(n: number): Promise<void> {
  for (let i = 0; i < 200 && spool.readings < n; i++) await new Promise((r) => setTimeout(r, 5));
  expect(spool.readings).toBe(n);
}

let dir: string;
let spool: Spool;
let ingest: IngestModule;
let quarantine: Quarantine;
let bus: EventBus;
const seen: QuarantineEntry[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ingest-module-'));
  const config = loadConfig({
    env: {},
    defaults: { dataDir: dir },
    overrides: { mqtt: { ignore: ['ignored/#'] } },
  });
  bus = new EventBus(log);
  const metrics = createMetrics();
  quarantine = new Quarantine(bus, log, { file: join(dir, 'quarantine.jsonl') });
  const registry = new DeviceRegistry(bus, [], { ...registryOptions(config), checkEveryMs: 0 });
  spool = await Spool.open({
    dir: join(dir, 'spool'),
    maxBytes: 1 << 20,
    fsync: false,
    maxUncommittedBytes: 1 << 20,
    minFreeBytes: 0,
  });
  const sink = new SpoolSink(spool, () => undefined);
  ingest = new IngestModule({ config, bus, metrics, registry, quarantine, store: () => sink });
  seen.length = 0;
  bus.on(seen, 'quarantine', (e) => seen.push(e));
  quarantine.start();
  registry.start();
  ingest.start();
});

afterEach(async () => {
  ingest.stop();
  await quarantine.stop();
  await spool.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ingest module, alone with a real spool and no sockets', () => {
  it('holds a QoS 1 publish until its reading is committed to the spool', async () => {
    const wait = ingest.onMessage(mqttMessage('sensors/d1/t', '21.5'), 1);
    expect(wait).toBeInstanceOf(Promise);
    // Not committed yet: the commit runs on a later turn, and the PUBACK waits for it.
    expect(spool.readings).toBe(0);
    await wait;
    expect(spool.readings).toBe(1);
  });

  it('does not hold a QoS 0 publish, and stores its reading all the same', async () => {
    expect(ingest.onMessage(mqttMessage('sensors/d1/t', '21.5'), 0)).toBeUndefined();
    expect(spool.readings).toBe(0);
    await committed(1);
  });

  it('holds nothing for a publish that gives no reading, whatever its QoS', () => {
    expect(ingest.onMessage(mqttMessage('sensors/d1/t', 'not a number'), 1)).toBeUndefined();
    expect(seen.map((e) => e.reason)).toEqual(['not_a_number']);
  });

  it('quarantines a topic no decoder reads as unknown_topic, except under the ignore filters', () => {
    ingest.onMessage(mqttMessage('nobody/reads/this/topic/at/all', '1'), 0);
    ingest.onMessage(mqttMessage('ignored/anything', '1'), 0);
    ingest.ingest(mqttMessage('ignored/too/deep', '1'));
    expect(seen.map((e) => [e.reason, e.topic])).toEqual([
      ['unknown_topic', 'nobody/reads/this/topic/at/all'],
    ]);
    expect(seen[0]!.detail).toBe('no decoder reads nobody/reads/this/topic/at/all');
  });

  it('quarantines a publish under hub/ or $SYS/ as reserved_topic, whatever decoder or ignore filter would match', async () => {
    expect(ingest.onMessage(mqttMessage('hub/status', 'offline', 'prankster'), 1)).toBeUndefined();
    ingest.onMessage(mqttMessage('hub/readings/kitchen/temperature', '99'), 0);
    ingest.ingest(mqttMessage('$SYS/broker/uptime', '1'));
    expect(seen.map((e) => [e.reason, e.topic, e.clientId])).toEqual([
      ['reserved_topic', 'hub/status', 'prankster'],
      ['reserved_topic', 'hub/readings/kitchen/temperature', undefined],
      ['reserved_topic', '$SYS/broker/uptime', undefined],
    ]);
    expect(seen[0]!.detail).toBe('hub/status is reserved for the hub (client prankster)');
    expect(spool.readings).toBe(0);
  });

  it('passes board candidates through the same steps, as QoS 0', async () => {
    const res = ingest.ingestCandidates(
      [{ device: 'b1', sensor: 'soil', value: 40, metric: 'moisture', unit: '%' }],
      'firmata',
      Date.now(),
    );
    expect(res.readings).toHaveLength(1);
    await committed(1);
  });

  it('leaves the bus on stop and refuses messages until started again', () => {
    const before = bus.listenerCount('quarantine');
    ingest.stop();
    expect(bus.listenerCount('quarantine')).toBe(before - 1);
    expect(() => ingest.onMessage(mqttMessage('sensors/d1/t', '1'), 0)).toThrow(/not started/);
    ingest.start();
  });
});
