import { PassThrough } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EventBus } from '../../hub/core/bus.js';
import { LogBudget } from '../../hub/core/log-budget.js';
import { createLogger } from '../../hub/core/logger.js';
import type { RawMessage } from '../../hub/core/raw-message.js';
import { Quarantine } from '../../hub/quarantine.js';
import { DeviceRegistry } from '../../hub/registry.js';

/** A JSON logger whose lines are collected, parsed. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => {
    for (const l of c.toString().split('\n')) if (l) lines.push(JSON.parse(l));
  });
  const log = pino({ level: 'info' }, { write: (s: string) => stream.write(s) });
  return { log, lines };
}

const msg = (topic: string, payload: string, clientId?: string): RawMessage => ({
  topic,
  payload: Buffer.from(payload),
  receivedAt: Date.now(),
  source: 'mqtt',
  ...(clientId ? { clientId } : {}),
});

afterEach(() => {
  vi.useRealTimers();
});

describe('logs', () => {
  it('a flood is logged as its first lines and then one summary line per minute', async () => {
    vi.useFakeTimers();
    const { log, lines } = capture();
    const budget = new LogBudget(log, { perWindow: 3, summary: 'payloads quarantined' });
    for (let i = 0; i < 1000; i++)
      budget.event('info', i % 2 ? 'not_a_number' : 'invalid_json', { i }, 'payload quarantined');
    await Promise.resolve();
    expect(lines.map((l) => l.i)).toEqual([0, 1, 2]);
    vi.advanceTimersByTime(60_000);
    await Promise.resolve();
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({
      level: 40,
      suppressed: 997,
      byKind: { invalid_json: 498, not_a_number: 499 },
      msg: 'payloads quarantined: 997 more not logged',
    });
    // A new minute logs again.
    budget.event('info', 'invalid_json', { i: 'next' }, 'payload quarantined');
    await Promise.resolve();
    expect(lines[4]).toMatchObject({ i: 'next' });
  });

  it('a quarantined payload is logged at info with device, topic and reason; a reserved topic at warn', async () => {
    const { log, lines } = capture();
    const q = new Quarantine(new EventBus(log), log);
    q.add(
      msg('sensors/kitchen/temperature', 'hot'),
      'kitchen',
      'not_a_number',
      'value "hot" is not a number',
    );
    q.add(msg('hub/status', 'offline', 'prankster'), undefined, 'reserved_topic', 'hub/status is reserved');
    await q.stop();
    await Promise.resolve();
    expect(lines[0]).toMatchObject({
      level: 30,
      device: 'kitchen',
      topic: 'sensors/kitchen/temperature',
      reason: 'not_a_number',
      detail: 'value "hot" is not a number',
      msg: 'payload quarantined',
    });
    expect(lines[1]).toMatchObject({
      level: 40,
      topic: 'hub/status',
      reason: 'reserved_topic',
      clientId: 'prankster',
    });
  });

  it('a flood of publishes under hub/ costs the first lines of a minute and one summary, each one still quarantined', async () => {
    vi.useFakeTimers();
    const { log, lines } = capture();
    const q = new Quarantine(new EventBus(log), log, { logBudget: { perWindow: 5 } });
    for (let i = 0; i < 500; i++)
      q.add(
        msg('hub/status', 'offline', `spoofer-${i}`),
        undefined,
        'reserved_topic',
        'hub/status is reserved',
      );
    vi.advanceTimersByTime(60_000);
    await Promise.resolve();
    expect(lines.filter((l) => l.reason === 'reserved_topic')).toHaveLength(5);
    expect(lines.at(-1)).toMatchObject({ suppressed: 495, byKind: { reserved_topic: 495 } });
    expect(q.counts().reserved_topic).toBe(500);
    await q.stop();
  });

  it('a device never seen before is announced once; declared and restored devices are not', () => {
    const seen: string[] = [];
    const reg = new DeviceRegistry(new EventBus(pino({ level: 'silent' })), [{ id: 'declared', tags: {} }], {
      checkEveryMs: 0,
      onNewDevice: (d) => seen.push(d),
    });
    reg.restore([
      { device: 'old', sensor: 't', metric: 'temperature', unit: 'Cel', value: 1, ts: 1, source: 'mqtt' },
    ]);
    const r = { sensor: 't', metric: 'temperature', unit: 'Cel', value: 1, ts: 1, quality: 'good' as const };
    for (const device of ['declared', 'old', 'kitchen', 'kitchen']) reg.admit({ ...r, device });
    reg.setAvailability('garage', 'online');
    expect(seen).toEqual(['kitchen', 'garage']);
  });

  it('pretty: one short line per event with level, module and message; JSON otherwise', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    const pretty = createLogger('info', { format: 'pretty', destination: out, isTTY: false });
    pretty.child({ module: 'registry' }).info({ device: 'kitchen' }, 'new device');
    await new Promise((r) => setImmediate(r));
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: registry: new device \{"device":"kitchen"\}\n$/);
    expect(text).not.toContain('\u001b[');

    text = '';
    const onTerminal = createLogger('info', { destination: out, isTTY: true });
    onTerminal.warn('coloured');
    await new Promise((r) => setImmediate(r));
    expect(text).toContain('\u001b[');
    expect(text).toContain('coloured');

    text = '';
    const auto = createLogger('info', { destination: out, isTTY: false });
    auto.info({ device: 'kitchen' }, 'new device');
    await new Promise((r) => setImmediate(r));
    expect(JSON.parse(text)).toMatchObject({ level: 30, device: 'kitchen', msg: 'new device' });
  });
});
