import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceState } from '../../hub/core/device-state.js';
import { simulateFleet } from '../../simulators/fleet.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

let influx: TestInfluxd;
let hub: Awaited<ReturnType<typeof startTestHub>>;

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, {
    devices: [
      {
        id: 'greenhouse',
        name: 'Greenhouse sensor',
        location: 'garden',
        tags: { zone: 'south' },
        sensors: {
          temperature: { offset: -0.5, factor: 1.0 },
          humidity: { deadband: 2, maxSilence: '1h' },
          soil: { factor: 0.5, offset: 10, expectedInterval: '300ms' },
        },
      },
    ],
    registry: { checkEvery: 50, staleAfter: 2 },
    homeassistant: { discovery: true },
  });
});

afterAll(async () => {
  await hub?.stop();
  await influx?.stop();
});

const devices = async () =>
  ((await (await fetch(`${hub.httpUrl}/api/devices`)).json()) as { devices: DeviceState[] }).devices;

it('calibrates in the canonical unit and drops readings inside the deadband', async () => {
  const c = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'gh', reconnectPeriod: 0 });
  // °F in, calibrated after conversion: 71.6 °F = 22 °C, minus 0.5
  await c.publishAsync('sensors/greenhouse/temperature', '{"value":71.6,"unit":"°F"}', { qos: 1 });
  for (const h of [50, 51, 51.9, 52.5, 49.5, 47.9]) {
    await c.publishAsync('sensors/greenhouse/humidity', String(h), { qos: 1 });
  }
  await c.publishAsync('sensors/greenhouse/soil', '100', { qos: 1 });
  await c.endAsync();
  await hub.flush();
  const t = await influx.query(
    hub.database,
    `SELECT value, location, zone FROM temperature WHERE device='greenhouse'`,
  );
  expect(t[0]!.values.map((v) => [v[1], v[2], v[3]])).toEqual([[21.5, 'garden', 'south']]);
  const h = await influx.query(hub.database, `SELECT value FROM humidity WHERE device='greenhouse'`);
  // compared with the last stored value: 50 stored; 51 and 51.9 within ±2 of it; 52.5 stored;
  // 49.5 is 3 from 52.5: stored; 47.9 within ±2 of 49.5
  expect(h[0]!.values.map((v) => v[1])).toEqual([50, 52.5, 49.5]);
  const m = await (await fetch(`${hub.httpUrl}/metrics`)).text();
  expect(m).toMatch(/hub_readings_suppressed_total 3/);
  const soil = await influx.query(hub.database, `SELECT value FROM moisture WHERE device='greenhouse'`);
  expect(soil[0]!.values.map((v) => v[1])).toEqual([60]);
});

it('lists declared name, location and tags, last seen per sensor, and marks a late sensor stale', async () => {
  const gh = (await devices()).find((d) => d.id === 'greenhouse')!;
  expect(gh).toMatchObject({ name: 'Greenhouse sensor', location: 'garden', state: 'online' });
  expect(gh.tags).toEqual({ zone: 'south', location: 'garden' });
  // suppressed readings still count as seen
  expect(gh.sensors.humidity!.value).toBe(49.5);
  expect(gh.sensors.soil).toMatchObject({ expectedInterval: 300, intervalSource: 'config' });
  const stale = await eventually(
    async () => (await devices()).find((d) => d.id === 'greenhouse')!.sensors.soil!.stale,
    3000,
  );
  expect(stale).toBe(true);
  const again = (await devices()).find((d) => d.id === 'greenhouse')!;
  expect(again.sensors.soil!.quality).toBe('stale');
  expect(again.sensors.temperature!.stale).toBe(false); // no interval known yet
});

it('learns an interval and marks the sensor stale when it stops', async () => {
  const c = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'learner', reconnectPeriod: 0 });
  for (let i = 0; i < 4; i++) {
    await c.publishAsync('sensors/learner/co2', String(400 + i), { qos: 1 });
    await new Promise((r) => setTimeout(r, 100));
  }
  const s = (await devices()).find((d) => d.id === 'learner')!.sensors.co2!;
  expect(s.intervalSource).toBe('learned');
  expect(s.expectedInterval).toBeGreaterThanOrEqual(90);
  await eventually(async () => (await devices()).find((d) => d.id === 'learner')!.sensors.co2!.stale, 3000);
  await c.publishAsync('sensors/learner/co2', '500', { qos: 1 });
  expect((await devices()).find((d) => d.id === 'learner')!.sensors.co2!.stale).toBe(false);
  await c.endAsync();
});

it('goes offline on a Tasmota LWT sent by the broker for a lost connection', async () => {
  const tas = await mqtt.connectAsync(hub.mqttUrl, {
    clientId: 'DVES_8E5F3C',
    reconnectPeriod: 0,
    will: { topic: 'tele/tasmota_lwt/LWT', payload: Buffer.from('Offline'), qos: 1, retain: true },
  });
  await tas.publishAsync('tele/tasmota_lwt/LWT', 'Online', { qos: 1, retain: true });
  expect(hub.registry.get('tasmota_lwt')?.state).toBe('online');
  tas.stream.destroy(); // a power cut: no DISCONNECT, the broker publishes the will
  await eventually(() => hub.registry.get('tasmota_lwt')?.state === 'offline', 5000);
  expect(hub.registry.get('tasmota_lwt')?.stateSource).toBe('device');
});

it('announces every normalized sensor to Home Assistant, retained, with class and unit', async () => {
  const sub = await mqtt.connectAsync(hub.mqttUrl, { clientId: 'ha', reconnectPeriod: 0 });
  const configs = new Map<string, Record<string, unknown>>();
  sub.on('message', (topic, payload, packet) => {
    if (packet.retain) configs.set(topic, JSON.parse(payload.toString()));
  });
  await sub.subscribeAsync('homeassistant/#');
  const t = await eventually(() => configs.get('homeassistant/sensor/greenhouse/temperature/config'));
  expect(t).toMatchObject({
    device_class: 'temperature',
    unit_of_measurement: '°C',
    state_class: 'measurement',
    state_topic: 'hub/readings/greenhouse/temperature',
    availability_topic: 'hub/devices/greenhouse/availability',
    unique_id: 'sensorhub_greenhouse_temperature',
    device: { name: 'Greenhouse sensor', suggested_area: 'garden' },
  });
  expect(configs.get('homeassistant/sensor/greenhouse/humidity/config')).toMatchObject({
    device_class: 'humidity',
    unit_of_measurement: '%',
  });
  expect(configs.get('homeassistant/sensor/learner/co2/config')).toMatchObject({
    device_class: 'carbon_dioxide',
    unit_of_measurement: 'ppm',
  });
  await sub.endAsync();
});

describe('simulated Tasmota and Zigbee2MQTT fleets', () => {
  it.each(['tasmota', 'zigbee2mqtt'] as const)(
    '%s devices reach the registry with canonical metrics and units',
    async (format) => {
      const fleet = await simulateFleet({
        url: hub.mqttUrl,
        devices: 2,
        rate: 4,
        format,
        prefix: `sim${format}`,
        sensors: ['temperature', 'humidity', 'pressure', 'battery', 'voltage'],
        dropouts: false,
        qos: 1,
        seed: 3,
      });
      await new Promise((r) => setTimeout(r, 600));
      await fleet.stop();
      expect(fleet.stats().errors).toBe(0);
      for (const id of fleet.deviceIds) {
        const sensors = Object.values(hub.registry.get(id)!.sensors).map((s) => [s.metric, s.unit]);
        expect(sensors.sort()).toEqual([
          ['battery', '%'],
          ['humidity', '%RH'],
          ['pressure', 'Pa'],
          ['temperature', 'Cel'],
          ['voltage', 'V'],
        ]);
        const v = Object.values(hub.registry.get(id)!.sensors).find((s) => s.metric === 'voltage')!;
        expect(v.value).toBeGreaterThan(2);
        expect(v.value).toBeLessThan(5);
      }
      expect(hub.quarantine.recent(1000).filter((q) => q.device.startsWith(`sim${format}`))).toEqual([]);
    },
  );
});
