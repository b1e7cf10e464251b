/**
 * Boards with real firmware: StandardFirmata on an emulated ATmega328P, a real
 * hub (broker, pipeline, writer) and a real influxd.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { type EmulatedUno, startEmulatedUno } from '../../simulators/avr/emulator.js';
import { tmpPortPath } from '../support/boards.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

describe('a board running StandardFirmata (emulated)', () => {
  let influx: TestInfluxd;
  let hub: HubHandle & { database: string };
  let uno: EmulatedUno;
  const path = tmpPortPath('ttyACM-greenhouse');
  const availability: Array<{ state: string; at: number }> = [];

  const last = async (measurement: string, sensor: string) => {
    const series = await influx.query(
      hub.database,
      `SELECT last(value) FROM "${measurement}" WHERE device='greenhouse' AND sensor='${sensor}' GROUP BY *`,
    );
    return series[0];
  };

  beforeAll(async () => {
    influx = await startTestInfluxd();
    uno = await startEmulatedUno(path);
    uno.setMillivolts(0, 2500);
    uno.setDigital(2, 0);
    hub = await startTestHub(influx.url, {
      boards: [
        {
          id: 'greenhouse',
          port: path,
          sensors: [
            {
              id: 'soil',
              type: 'analog',
              pin: 'A0',
              metric: 'moisture',
              unit: '%',
              scale: [0, 100],
              every: '200ms',
            },
            { id: 'pir', type: 'motion', pin: 'D2' },
          ],
        },
      ],
    });
    hub.bus.on(availability, 'availability', (device, state, at) => {
      if (device === 'greenhouse') availability.push({ state, at });
    });
    await eventually(() => hub.registry.get('greenhouse')?.state === 'online', 20_000, 50);
  }, 60_000);

  afterAll(async () => {
    await hub?.stop();
    await uno?.stop();
    await influx?.stop();
  });

  it('stores 2500 mV on A0 as the configured scaled reading', async () => {
    const s = await eventually(async () => {
      await hub.flush();
      return last('moisture', 'soil');
    }, 10_000);
    expect(s?.tags).toMatchObject({ device: 'greenhouse', sensor: 'soil', unit: '%', source: 'firmata' });
    // 2500 of 5000 mV on a 10-bit ADC: 511 or 512 counts, 49.95 or 50.05 %.
    expect(Number(s?.values[0]?.[1])).toBeCloseTo(50, 0);
  });

  it('stores a level change on D2 as a motion reading', async () => {
    // Johnny-Five lets a PIR settle for 2 s before it reports motion.
    await new Promise((r) => setTimeout(r, 2500));
    uno.setDigital(2, 1);
    const s = await eventually(async () => {
      await hub.flush();
      const v = await last('motion', 'pir');
      return v && Number(v.values[0]?.[1]) === 1 ? v : undefined;
    }, 10_000);
    expect(s?.tags).toMatchObject({ unit: '1', source: 'firmata' });
    uno.setDigital(2, 0);
  });

  it('goes offline within 5 s when the emulator stops, and back by itself when it returns', async () => {
    const stoppedAt = Date.now();
    await uno.stop();
    const off = await eventually(
      () => availability.find((a) => a.state === 'offline' && a.at >= stoppedAt),
      5000,
      20,
    );
    expect(off.at - stoppedAt).toBeLessThan(5000);
    expect(hub.registry.get('greenhouse')?.state).toBe('offline');

    // The retained availability topic says so too.
    const client = await mqtt.connectAsync(hub.mqttUrl);
    const retained = await new Promise<string>((resolve) => {
      client.on('message', (_t, p) => resolve(p.toString()));
      void client.subscribeAsync('hub/devices/greenhouse/availability');
    });
    await client.endAsync();
    expect(retained).toBe('offline');

    // Let the gap be visible, then plug the board back in on the same path.
    await new Promise((r) => setTimeout(r, 1500));
    const restartedAt = Date.now();
    uno = await startEmulatedUno(path);
    uno.setMillivolts(0, 3750);
    await eventually(() => hub.registry.get('greenhouse')?.state === 'online', 20_000, 50);
    const after = await eventually(async () => {
      await hub.flush();
      const rows = await influx.query(
        hub.database,
        `SELECT value FROM moisture WHERE sensor='soil' AND time > ${restartedAt}ms`,
      );
      return rows[0]?.values.find((v) => Math.abs(Number(v[1]) - 75) < 0.2);
    }, 10_000);
    expect(Number(after[1])).toBeCloseTo(75, 0);

    // A gap is a gap: nothing was written for the time the board was away.
    const gap = await influx.query(
      hub.database,
      `SELECT count(value) FROM moisture WHERE time > ${off.at + 50}ms AND time < ${restartedAt}ms`,
    );
    expect(gap).toEqual([]);
  }, 60_000);
});
