/**
 * Boards without hardware, on the virtual board: every sensor kind, including I2C parts (BME280,
 * SHT31-D, HTU21D) and a 1-Wire DS18B20, through a real hub into a real influxd;
 * then the virtual board on a pty, through the real serial port stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { buildAvrTools } from '../../simulators/avr/build.js';
import {
  Bh1750,
  Bme280,
  Ds18b20,
  exposeOnPty,
  Htu21d,
  Sht31d,
  VirtualFirmataBoard,
  VirtualSerialPort,
} from '../../simulators/firmata/index.js';
import { tmpPortPath } from '../support/boards.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

let influx: TestInfluxd;
beforeAll(async () => {
  influx = await startTestInfluxd();
});
afterAll(async () => {
  await influx?.stop();
});

describe('every sensor kind on virtual boards', () => {
  let hub: HubHandle & { database: string };
  const bme = Object.assign(new Bme280(), { temperature: 21.5, humidity: 45, pressure: 101_325 });
  const sht = Object.assign(new Sht31d(), { humidity: 55 });
  const htu = Object.assign(new Htu21d(), { temperature: 23, humidity: 40 });
  const ds = Object.assign(new Ds18b20(), { temperature: 19.5 });
  const lux = Object.assign(new Bh1750(), { lux: 640 });
  const lab = new VirtualFirmataBoard({ i2c: [bme, sht, htu, lux], oneWire: { 7: [ds] } });
  const attic = new VirtualFirmataBoard({ i2c: [Object.assign(new Bme280(), { pressure: 98_000 })] });

  beforeAll(async () => {
    lab.setMillivolts(0, 1000);
    lab.setMillivolts(1, 750);
    lab.setMillivolts(2, 220);
    lab.setMillivolts(3, 2500);
    hub = await startTestHub(
      influx.url,
      {
        boards: [
          {
            id: 'lab',
            port: 'virtual',
            sensors: [
              { id: 'pot', type: 'analog', pin: 'A0', every: '100ms' },
              { id: 'tmp36', type: 'thermometer', controller: 'TMP36', pin: 'A1', every: '100ms' },
              { id: 'lm35', type: 'thermometer', controller: 'LM35', pin: 'A2', every: '100ms' },
              { id: 'probe', type: 'thermometer', controller: 'DS18B20', pin: 'D7', every: '200ms' },
              { id: 'rh', type: 'hygrometer', controller: 'SHT31D', every: '100ms' },
              { id: 'air', type: 'multi', controller: 'BME280', every: '100ms' },
              { id: 'htu', type: 'multi', controller: 'HTU21D', every: '100ms' },
              { id: 'ldr', type: 'light', pin: 'A3', every: '100ms' },
              { id: 'lux', type: 'light', controller: 'BH1750', every: '100ms' },
              { id: 'pir', type: 'motion', pin: 'D2' },
              { id: 'bell', type: 'button', pin: 'D3' },
              { id: 'door', type: 'switch', pin: 'D4' },
            ],
          },
          { id: 'attic', port: 'virtual', sensors: [{ id: 'baro', type: 'barometer', every: '100ms' }] },
        ],
      },
      { boards: { openVirtual: (b) => new VirtualSerialPort(b.id === 'lab' ? lab : attic) } },
    );
    await eventually(() => hub.boards.status().every((b) => b.state === 'online'), 10_000);
  });

  afterAll(async () => {
    await hub?.stop();
  });

  it('stores a reading of each kind with its metric, unit and value', async () => {
    // Johnny-Five lets a PIR settle for 2 s and a BME280 for 1 s before they report.
    await new Promise((r) => setTimeout(r, 2300));
    lab.setDigital(2, 1);
    lab.setDigital(3, 1);
    lab.setDigital(4, 1);
    const expected: Array<
      [device: string, sensor: string, metric: string, unit: string, value: number, tol: number]
    > = [
      ['lab', 'pot', 'analog', '1', 205, 0.5], // 1000 of 5000 mV, 10 bits
      ['lab', 'tmp36', 'temperature', 'Cel', 25, 1],
      ['lab', 'lm35', 'temperature', 'Cel', 22, 1],
      ['lab', 'probe', 'temperature', 'Cel', 19.5, 0.01],
      ['lab', 'rh', 'humidity', '%RH', 55, 0.1],
      ['lab', 'air.temperature', 'temperature', 'Cel', 21.5, 0.05],
      ['lab', 'air.humidity', 'humidity', '%RH', 45, 0.1],
      ['lab', 'air.pressure', 'pressure', 'Pa', 101_325, 2],
      ['lab', 'htu.temperature', 'temperature', 'Cel', 23, 0.05],
      ['lab', 'htu.humidity', 'humidity', '%RH', 40, 0.1],
      ['lab', 'ldr', 'light_level', '%', 50, 0.1],
      ['lab', 'lux', 'illuminance', 'lx', 640, 0.5],
      ['lab', 'pir', 'motion', '1', 1, 0],
      ['lab', 'bell', 'button', '1', 1, 0],
      ['lab', 'door', 'contact', '1', 1, 0],
      ['attic', 'baro', 'pressure', 'Pa', 98_000, 2],
    ];
    for (const [device, sensor, metric, unit, value, tol] of expected) {
      const row = await eventually(async () => {
        await hub.flush();
        const s = await influx.query(
          hub.database,
          `SELECT last(value) FROM "${metric}" WHERE device='${device}' AND sensor='${sensor}' GROUP BY unit, source`,
        );
        const v = Number(s[0]?.values[0]?.[1]);
        return s[0] && Math.abs(v - value) <= tol ? s[0] : undefined;
      }, 8000).catch(() => undefined);
      expect(row, `${device}/${sensor} ${metric} = ${value} ${unit}`).toBeDefined();
      expect(row?.tags).toEqual({ unit, source: 'firmata' });
    }
  }, 60_000);
});

describe('the virtual board on a pty', () => {
  it('is read through the serial port stack, and goes offline when the pty closes', async () => {
    const { ptyRelay } = await buildAvrTools();
    const path = tmpPortPath('ttyVIRT');
    const vb = new VirtualFirmataBoard();
    vb.setMillivolts(5, 4000);
    let pty = await exposeOnPty(vb, path, ptyRelay);
    const hub = await startTestHub(
      influx.url,
      {
        boards: [
          {
            id: 'bench',
            port: path,
            sensors: [
              {
                id: 'v',
                type: 'analog',
                pin: 'A5',
                scale: [0, 5],
                unit: 'V',
                metric: 'voltage',
                every: '100ms',
              },
            ],
          },
        ],
      },
      { boards: { retryMs: 200 } },
    );
    try {
      const r = await eventually(() => hub.registry.get('bench')?.sensors.v, 10_000);
      expect(r.value).toBeCloseTo(4, 1);
      expect(r.unit).toBe('V');
      await pty.stop();
      await eventually(() => hub.registry.get('bench')?.state === 'offline', 5000);
      pty = await exposeOnPty(vb, path, ptyRelay);
      vb.setMillivolts(5, 1000);
      await eventually(() => Math.abs((hub.registry.get('bench')?.sensors.v?.value ?? 0) - 1) < 0.05, 10_000);
      expect(hub.registry.get('bench')?.state).toBe('online');
      expect(hub.boards.status()[0]?.connects).toBe(2);
    } finally {
      await hub.stop();
      await pty.stop();
    }
  }, 40_000);
});
