// Home Assistant discovery: removal of a device's configs (clear) and retirement after
// homeassistant.retireAfter of silence, with the real registry and bus.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../hub/core/bus.js';
import type { Reading } from '../../hub/core/reading.js';
import { HomeAssistantDiscovery } from '../../hub/homeassistant.js';
import { DeviceRegistry } from '../../hub/registry.js';

const log = pino({ level: 'silent' });
const DAY = 86_400_000;

function setup(retireAfterMs = 0) {
  let now = 1_790_000_000_000;
  const bus = new EventBus(log);
  const reg = new DeviceRegistry(bus, [], { checkEveryMs: 0, now: () => now });
  const sent: Array<[string, string]> = [];
  const ha = new HomeAssistantDiscovery(bus, reg, {
    prefix: 'homeassistant',
    publish: async (t, p, retain) => {
      expect(retain).toBe(true);
      sent.push([t, p]);
    },
    retireAfterMs,
    now: () => now,
  });
  reg.start();
  ha.start();
  const read = (device: string, sensor: string, metric = 'temperature'): void => {
    const r: Reading = {
      device,
      sensor,
      metric,
      value: 1,
      unit: 'Cel',
      ts: now,
      source: 'mqtt',
      quality: 'good',
    };
    bus.emit('readings', [r]);
  };
  return {
    ha,
    reg,
    sent,
    read,
    advance: (ms: number) => {
      now += ms;
    },
    stop: () => {
      ha.stop();
      reg.stop();
    },
  };
}

describe('Home Assistant discovery removal', () => {
  it('clear(device) empties the retained config of each of its sensors, and only its own', async () => {
    const t = setup();
    t.read('porch', 'temperature');
    t.read('porch', 'motion', 'motion');
    t.read('garage', 'temperature');
    expect(t.sent.map(([topic]) => topic)).toEqual([
      'homeassistant/sensor/porch/temperature/config',
      'homeassistant/binary_sensor/porch/motion/config',
      'homeassistant/sensor/garage/temperature/config',
    ]);
    t.sent.length = 0;
    const cleared = await t.ha.clear('porch');
    expect(cleared.sort()).toEqual([
      'homeassistant/binary_sensor/porch/motion/config',
      'homeassistant/sensor/porch/temperature/config',
    ]);
    expect(t.sent.map(([, p]) => p)).toEqual(['', '']);
    // Its next reading announces it again.
    t.sent.length = 0;
    t.read('porch', 'temperature');
    expect(t.sent.map(([topic, p]) => [topic, p.length > 0])).toEqual([
      ['homeassistant/sensor/porch/temperature/config', true],
    ]);
    t.stop();
  });

  it('clear(device) also clears sensors known from storage, announced by an earlier run', async () => {
    const t = setup();
    t.reg.restore([
      {
        device: '__proto__',
        sensor: 'hum',
        metric: 'humidity',
        unit: '%RH',
        value: 40,
        ts: 1,
        source: 'mqtt',
      },
    ]);
    expect(await t.ha.clear('__proto__')).toEqual(['homeassistant/sensor/__proto__/hum/config']);
    expect(await t.ha.clear('never-seen')).toEqual([]);
    t.stop();
  });

  it('a device silent for retireAfter is cleared once; one that speaks again is announced and kept', async () => {
    const t = setup(30 * DAY);
    t.read('shed', 'temperature');
    t.read('house', 'temperature');
    t.advance(20 * DAY);
    t.read('house', 'temperature');
    expect(await t.ha.retire()).toEqual([]);
    t.advance(11 * DAY);
    t.sent.length = 0;
    expect(await t.ha.retire()).toEqual(['shed']);
    expect(t.sent).toEqual([['homeassistant/sensor/shed/temperature/config', '']]);
    // Not again while it stays silent.
    expect(await t.ha.retire()).toEqual([]);
    t.read('shed', 'temperature');
    expect(t.sent.at(-1)![1]).not.toBe('');
    t.advance(31 * DAY);
    expect((await t.ha.retire()).sort()).toEqual(['house', 'shed']);
    t.stop();
  });

  it('with retireAfter 0 (the default) nothing retires', async () => {
    const t = setup(0);
    t.read('shed', 'temperature');
    t.advance(3650 * DAY);
    expect(await t.ha.retire()).toEqual([]);
    t.stop();
  });
});
