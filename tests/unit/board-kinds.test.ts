/** Walks every board sensor kind and controller and checks the invariants the hub relies on. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { SENSOR_KINDS } from '../../devices/boards/index.js';
import { configSchema } from '../../hub/config/schema.js';
import { isValidId } from '../../hub/core/reading.js';
import { resolveUnit } from '../../hub/core/units.js';

const five = createRequire(import.meta.url)('johnny-five') as Record<string, unknown>;
const controllers = SENSOR_KINDS.flatMap((k) =>
  Object.values(k.controllers).map((c) => [k.type, c.name, k, c] as const),
);

describe('board sensor kinds', () => {
  it('have unique types and cover what the issue names', () => {
    const types = SENSOR_KINDS.map((k) => k.type);
    expect(new Set(types).size).toBe(types.length);
    for (const t of [
      'analog',
      'thermometer',
      'hygrometer',
      'barometer',
      'multi',
      'light',
      'motion',
      'button',
      'switch',
    ])
      expect(types).toContain(t);
    const multi = SENSOR_KINDS.find((k) => k.type === 'multi')!;
    expect(Object.keys(multi.controllers).sort()).toEqual(['BME280', 'HTU21D', 'SHT31D']);
    const therm = SENSOR_KINDS.find((k) => k.type === 'thermometer')!;
    expect(Object.keys(therm.controllers).sort()).toEqual(['DS18B20', 'LM35', 'TMP36']);
  });

  it.each(controllers)('%s %s is complete and consistent', (type, name, kind, c) => {
    expect(kind.controllers[kind.defaultController]).toBeDefined();
    expect(typeof five[c.component], `Johnny-Five has ${c.component}`).toBe('function');
    expect(c.name).toBe(name.toUpperCase());
    expect(c.outputs.length).toBeGreaterThan(0);
    for (const o of c.outputs) {
      expect(isValidId(o.metric)).toBe(true);
      expect(resolveUnit(o.unit), `unit ${o.unit} is known`).toBeDefined();
      expect(o.path).toMatch(/^[a-zA-Z]+(\.[a-zA-Z]+)*$/);
    }
    if (c.wiring === 'i2c') expect(c.address).toBeGreaterThan(0);
    else expect(c.address).toBeUndefined();
    if (c.edges) {
      // Edge-driven parts give exactly one binary reading.
      expect(c.outputs).toHaveLength(1);
      expect(c.outputs[0]!.unit).toBe('1');
      expect(c.wiring).toBe('digital');
    }
    if (c.outputs.length > 1) expect(new Set(c.outputs.map((o) => o.metric)).size).toBe(c.outputs.length);
    // A minimal config entry for it is accepted.
    const pin = c.wiring === 'analog' ? 'A0' : c.wiring === 'i2c' ? undefined : 'D2';
    const parsed = configSchema.safeParse({
      boards: [
        {
          id: 'b',
          port: '/dev/ttyACM0',
          sensors: [{ id: 's', type, controller: name, ...(pin ? { pin } : {}) }],
        },
      ],
    });
    expect(parsed.error?.issues ?? []).toEqual([]);
  });
});
