import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { asResult, type DecodeContext } from '../../devices/decoder.js';
import { buildDecoders } from '../../devices/decoders/index.js';
import { MetaCache } from '../../devices/meta-cache.js';
import { EventBus } from '../../hub/core/bus.js';
import type { RawMessage } from '../../hub/core/raw-message.js';
import { Pipeline } from '../../hub/pipeline/pipeline.js';
import { SeriesClock } from '../../hub/pipeline/series-clock.js';
import { Quarantine } from '../../hub/quarantine.js';
import { loadFixtures, payloadOf } from '../support/fixtures.js';

const log = pino({ level: 'silent' });
const msg = (topic: string, payload: string | Buffer, receivedAt = Date.now()): RawMessage => ({
  topic,
  payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload),
  receivedAt,
  source: 'mqtt',
});

describe('every decoder definition', () => {
  const decoders = buildDecoders({
    mappings: [{ name: 'm', topic: 'm/+', device: '{1}', values: [{ path: '', sensor: 'v' }] }],
  });

  it('has a unique name, documented topics, and reads its own fixtures', () => {
    const names = decoders.map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    for (const d of decoders) expect(d.topics.length, d.name).toBeGreaterThan(0);
  });

  it('routes each fixture topic to the decoder of its format', () => {
    const expected: Record<string, string[]> = {
      tasmota: ['tasmota'],
      esphome: ['esphome', 'ha-discovery'],
      shelly: ['shelly'],
      homie: ['homie'],
      zigbee2mqtt: ['zigbee2mqtt'],
      mapping: ['mapping:weather'],
    };
    const withMapping = buildDecoders({
      mappings: loadFixtures().flatMap((f) => (f.config ? [f.config as never] : [])),
    });
    for (const f of loadFixtures()) {
      for (const m of f.messages) {
        const d = withMapping.find((x) => x.match(m.topic.split('/')));
        expect(expected[f.format], m.topic).toContain(d?.name);
      }
    }
  });

  it('never throws anything but a RejectError on random bytes', () => {
    const ctx: DecodeContext = { meta: new MetaCache(100) };
    const topics = [
      'tele/x/SENSOR',
      'tele/x/STATE',
      'x/sensor/t/state',
      'x/status',
      'x/status/temperature:0',
      'x/events/rpc',
      'homie/x/n/p',
      'homie/5/x/$description',
      'zigbee2mqtt/x',
      'zigbee2mqtt/bridge/devices',
      'homeassistant/sensor/x/y/config',
      'm/x',
    ];
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pieces = [
      '{',
      '}',
      '[',
      ']',
      '"a"',
      ':',
      ',',
      '1e999',
      'null',
      'true',
      '"__proto__"',
      '"tC"',
      '-',
      '0',
    ];
    for (let i = 0; i < 2000; i++) {
      const text = Array.from(
        { length: 1 + Math.floor(rand() * 12) },
        () => pieces[Math.floor(rand() * pieces.length)],
      ).join('');
      for (const t of topics) {
        const levels = t.split('/');
        const d = decoders.find((x) => x.match(levels))!;
        try {
          asResult(d.decode(msg(t, text), levels, ctx));
        } catch (err) {
          expect((err as Error).name, `${d.name} on ${text}`).toBe('RejectError');
        }
      }
    }
    expect(ctx.meta.size).toBeLessThanOrEqual(100);
  });
});

describe('metadata cache', () => {
  it('keeps at most its limit, dropping the least recently used', () => {
    const c = new MetaCache(3);
    for (const k of ['a', 'b', 'c']) c.set(k, k);
    c.get('a');
    c.set('d', 'd');
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe('a');
    expect(c.size).toBe(3);
  });

  it('bounds what a Homie device that invents property names can make the hub remember', () => {
    const bus = new EventBus(log);
    const meta = new MetaCache(500);
    const p = new Pipeline({
      decoders: buildDecoders(),
      meta,
      quarantine: new Quarantine(bus, log),
      bus,
      maxPayloadBytes: 1024,
      context: { deviceTags: new Map(), maxFutureSkewMs: 60_000, clock: new SeriesClock() },
    });
    for (let i = 0; i < 5000; i++) p.ingest(msg(`homie/flood/node/p${i}/$unit`, '°C'));
    expect(meta.size).toBe(500);
  });
});

describe('device clocks', () => {
  const bus = new EventBus(log);
  const p = new Pipeline({
    decoders: buildDecoders(),
    quarantine: new Quarantine(bus, log),
    bus,
    maxPayloadBytes: 1024,
    context: {
      deviceTags: new Map(),
      clock: new SeriesClock(),
      maxFutureSkewMs: 5 * 60_000,
      maxPastAgeMs: 7 * 86_400_000,
      timeZone: 'Europe/Berlin',
    },
  });
  const now = Date.UTC(2024, 6, 1, 12);
  const one = (payload: unknown) =>
    p.ingest(msg('tele/clock/SENSOR', payloadOf(payload as Record<string, unknown>), now)).readings[0]!;

  it('reads Tasmota local time in the configured zone', () => {
    const r = one({ Time: '2024-07-01T13:59:00', SI7021: { Temperature: 20 } });
    expect(r.ts).toBe(Date.UTC(2024, 6, 1, 11, 59));
    expect(r.quality).toBe('good');
  });

  it('clamps a clock running ahead, or one that never synced, to the receive time as uncertain', () => {
    const ahead = one({ Time: '2024-07-01T15:00:00', SI7021: { Temperature: 20 } });
    // the receive time (the series clock keeps hub times of one sensor apart by 1 µs)
    expect([Math.floor(ahead.ts), ahead.quality]).toEqual([now, 'uncertain']);
    const never = one({ Time: '1970-01-01T00:00:12', SI7021: { Temperature: 20 } });
    expect([Math.floor(never.ts), never.quality]).toEqual([now, 'uncertain']);
    const recent = one({ Time: '2024-06-30T14:00:00', SI7021: { Temperature: 20 } });
    expect([recent.ts, recent.quality]).toEqual([Date.UTC(2024, 5, 30, 12), 'good']);
  });
});
