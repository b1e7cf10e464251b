/**
 * A board's deadband is the pipeline's report-on-change, in the stored unit: a BME280
 * measures kPa, its pressure is stored and dead-banded in Pa, as the same values sent
 * over MQTT with the equivalent devices[].sensors setting. Real hub, real influxd.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { Bme280, VirtualFirmataBoard, VirtualSerialPort } from '../../simulators/firmata/index.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

let influx: TestInfluxd;
let hub: HubHandle & { database: string };
const bme = Object.assign(new Bme280(), { pressure: 101_000 });
const board = new VirtualFirmataBoard({ i2c: [bme] });

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(
    influx.url,
    {
      boards: [
        {
          id: 'bench',
          port: 'virtual',
          sensors: [{ id: 'baro', type: 'barometer', controller: 'BME280', every: '50ms', deadband: 50 }],
        },
      ],
      devices: [{ id: 'mq', sensors: { baro: { deadband: 50 } } }],
    },
    { boards: { openVirtual: () => new VirtualSerialPort(board) } },
  );
  await eventually(() => hub.boards.status().every((b) => b.state === 'online'), 10_000);
});

afterAll(async () => {
  await hub?.stop();
  await influx?.stop();
});

const stored = async (device: string) => {
  await hub.flush();
  const s = await influx.query(
    hub.database,
    `SELECT value FROM pressure WHERE device='${device}' AND sensor='baro'`,
  );
  return (s[0]?.values ?? []).map((v) => Math.round(Number(v[1])));
};

it('dead-bands a board pressure in Pa, as the same values from MQTT', async () => {
  // Johnny-Five lets a BME280 settle for 1 s before it reports.
  await eventually(async () => ((await stored('bench')).length === 1 ? true : undefined), 8000);
  bme.pressure = 101_030; // 30 Pa: within the deadband
  await new Promise((r) => setTimeout(r, 500));
  bme.pressure = 101_100; // 100 Pa from the stored value
  await eventually(async () => ((await stored('bench')).length === 2 ? true : undefined), 8000);

  const c = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'mq', reconnectPeriod: 0 });
  for (const kpa of [101, 101.03, 101.03, 101.1, 101.1])
    await c.publishAsync('sensors/mq/baro', JSON.stringify({ value: kpa, unit: 'kPa' }), { qos: 1 });
  await c.endAsync();

  const fromBoard = await stored('bench');
  const fromMqtt = await eventually(async () => {
    const v = await stored('mq');
    return v.length === 2 ? v : undefined;
  }, 8000);
  expect(fromMqtt).toEqual([101_000, 101_100]);
  expect(fromBoard).toHaveLength(2);
  for (const [i, v] of fromBoard.entries()) expect(Math.abs(v - fromMqtt[i]!)).toBeLessThanOrEqual(2);
  const m = await (await fetch(`${hub.httpUrl}/metrics`)).text();
  // The board's samples inside the deadband are counted like the MQTT ones.
  expect(Number(/hub_readings_suppressed_total (\d+)/.exec(m)?.[1])).toBeGreaterThan(5);
}, 30_000);
