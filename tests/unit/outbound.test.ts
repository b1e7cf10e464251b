import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../hub/core/bus.js';
import type { QuarantineEntry } from '../../hub/core/quarantine-entry.js';
import type { Reading } from '../../hub/core/reading.js';
import { topics } from '../../hub/core/topics.js';
import { OutboundModule, type OutboundOptions } from '../../hub/modules/outbound.js';

const log = pino({ level: 'silent' });

/** A broker that records publishes and settles each one only when told. */
function fakeBroker(listening = true) {
  const sent: Array<{ topic: string; payload: string; retain: boolean; settle: () => void }> = [];
  return {
    sent,
    listening,
    hasListeners(prefix: string) {
      return this.listening && prefix === topics.readingsRoot;
    },
    publish(topic: string, payload: string, retain = false): Promise<void> {
      return new Promise<void>((resolve) => sent.push({ topic, payload, retain, settle: resolve }));
    },
  };
}

const reading = (sensor: string, value = 1): Reading => ({
  device: 'd1',
  sensor,
  metric: 'temperature',
  value,
  unit: 'Cel',
  ts: 1_790_000_000_000,
  source: 'mqtt',
  quality: 'good',
});

const entry = (device: string): QuarantineEntry => ({
  device,
  topic: `sensors/${device}/x`,
  reason: 'not_a_number',
  detail: 'not a number',
  payload: '',
  size: 0,
  truncated: false,
  receivedAt: 0,
});

function setup(
  opts: {
    republish?: boolean;
    max?: number;
    listening?: boolean;
    discovery?: OutboundOptions['discovery'];
  } = {},
) {
  const bus = new EventBus(log);
  const broker = fakeBroker(opts.listening ?? true);
  const skipped = { reading: 0, quarantine: 0 };
  const outbound = new OutboundModule({
    bus,
    broker,
    republish: opts.republish ?? true,
    maxInFlight: opts.max ?? 3,
    skipped: { reading: () => skipped.reading++, quarantine: () => skipped.quarantine++ },
    ...(opts.discovery ? { discovery: opts.discovery } : {}),
  });
  return { bus, broker, skipped, outbound };
}

/** Starts the module; the retained hub/status publish is settled so start() returns. */
async function started(s: ReturnType<typeof setup>) {
  const p = s.outbound.start();
  await Promise.resolve();
  s.broker.sent.find((m) => m.topic === 'hub/status')?.settle();
  await p;
  s.broker.sent.length = 0;
}

describe('outbound module', () => {
  it('says online on hub/status at start and offline at stop, both retained, and leaves the bus', async () => {
    const s = setup();
    const p = s.outbound.start();
    await Promise.resolve();
    expect(s.broker.sent.map((m) => [m.topic, m.payload, m.retain])).toEqual([
      ['hub/status', 'online', true],
    ]);
    s.broker.sent[0]!.settle();
    await p;
    expect(s.bus.listenerCount('readings')).toBe(1);
    const stopping = s.outbound.stop();
    await Promise.resolve();
    expect(s.broker.sent.at(-1)).toMatchObject({ topic: 'hub/status', payload: 'offline', retain: true });
    s.broker.sent.at(-1)!.settle();
    await stopping;
    for (const e of ['readings', 'availability', 'quarantine'] as const)
      expect(s.bus.listenerCount(e)).toBe(0);
  });

  it('copies readings to hub/readings/<device>/<sensor>, with at most maxInFlight copies in flight', async () => {
    const s = setup({ max: 3 });
    await started(s);
    s.bus.emit('readings', [reading('a'), reading('b'), reading('c'), reading('d'), reading('e')]);
    expect(s.broker.sent.map((m) => m.topic)).toEqual([
      'hub/readings/d1/a',
      'hub/readings/d1/b',
      'hub/readings/d1/c',
    ]);
    expect(JSON.parse(s.broker.sent[0]!.payload)).toEqual(reading('a'));
    expect(s.broker.sent[0]!.retain).toBe(false);
    expect(s.skipped.reading).toBe(2);
    expect(s.outbound.inFlight.readings).toBe(3);

    // A settled copy frees its place.
    s.broker.sent[0]!.settle();
    await new Promise((r) => setImmediate(r));
    expect(s.outbound.inFlight.readings).toBe(2);
    s.bus.emit('readings', [reading('f'), reading('g')]);
    expect(s.broker.sent.map((m) => m.topic).slice(3)).toEqual(['hub/readings/d1/f']);
    expect(s.skipped.reading).toBe(3);
  });

  it('makes no copy when nobody listens on hub/readings, or when republish is off', async () => {
    const quiet = setup({ listening: false });
    await started(quiet);
    quiet.bus.emit('readings', [reading('a')]);
    expect(quiet.broker.sent).toEqual([]);
    expect(quiet.skipped.reading).toBe(0);

    const off = setup({ republish: false });
    await started(off);
    off.bus.emit('readings', [reading('a')]);
    expect(off.broker.sent).toEqual([]);
  });

  it('publishes availability retained on hub/devices/<device>/availability, online and offline only', async () => {
    const s = setup();
    await started(s);
    s.bus.emit('availability', 'd1', 'online', 0);
    s.bus.emit('availability', 'd1', 'stale', 0);
    s.bus.emit('availability', 'd2', 'offline', 0);
    expect(s.broker.sent.map((m) => [m.topic, m.payload, m.retain])).toEqual([
      ['hub/devices/d1/availability', 'online', true],
      ['hub/devices/d2/availability', 'offline', true],
    ]);
  });

  it('copies quarantine entries to hub/quarantine/<device>, with at most maxInFlight in flight', async () => {
    const s = setup({ max: 2 });
    await started(s);
    for (const d of ['a', 'b', 'c', 'd']) s.bus.emit('quarantine', entry(d));
    expect(s.broker.sent.map((m) => m.topic)).toEqual(['hub/quarantine/a', 'hub/quarantine/b']);
    expect(JSON.parse(s.broker.sent[1]!.payload)).toEqual(entry('b'));
    expect(s.skipped.quarantine).toBe(2);
    expect(s.skipped.reading).toBe(0);
    s.broker.sent[0]!.settle();
    await new Promise((r) => setImmediate(r));
    s.bus.emit('quarantine', entry('e'));
    expect(s.broker.sent.at(-1)!.topic).toBe('hub/quarantine/e');
  });

  it('starts discovery before its own listeners and stops it after', async () => {
    const order: string[] = [];
    const s = setup({
      discovery: {
        name: 'homeassistant',
        start: () => {
          order.push(`discovery start, readings listeners: ${s.bus.listenerCount('readings')}`);
        },
        stop: () => {
          order.push(`discovery stop, readings listeners: ${s.bus.listenerCount('readings')}`);
        },
        clear: async () => [],
        refresh: async () => undefined,
      },
    });
    await started(s);
    const stopping = s.outbound.stop();
    await Promise.resolve();
    s.broker.sent.at(-1)?.settle();
    await stopping;
    expect(order).toEqual([
      'discovery start, readings listeners: 0',
      'discovery stop, readings listeners: 0',
    ]);
  });

  it('builds every outbound topic in one place', () => {
    expect(topics.reading('d', 's')).toBe('hub/readings/d/s');
    expect(topics.availability('d')).toBe('hub/devices/d/availability');
    expect(topics.quarantine('d')).toBe('hub/quarantine/d');
    expect(topics.status).toBe('hub/status');
    expect(topics.reading('d', 's').startsWith(`${topics.readingsRoot}/`)).toBe(true);
  });
});
