// Home Assistant and Zigbee2MQTT as they connect to a broker, reproduced with the mqtt
// package at protocol 5 and mosquitto_sub -V mqttv5, against a real hub (real influxd)
// with a simulated fleet publishing. The sequences follow Home Assistant's MQTT
// integration (birth and will on homeassistant/status, discovery subscriptions, then the
// state and availability topics each config names) and Zigbee2MQTT's lib/mqtt.ts (v5 with
// maximumPacketSize, retained bridge/state with a will, bridge/devices, device states).
import { type ChildProcess, spawn } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { type FleetHandle, simulateFleet } from '../../simulators/index.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

let influx: TestInfluxd;
let hub: HubHandle & { database: string };
let fleet: FleetHandle;
let port: number;
const clients: MqttClient[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url, {
    homeassistant: { discovery: true },
    registry: { checkEvery: 0 },
  });
  port = Number(new URL(hub.mqttUrl).port);
  fleet = await simulateFleet({
    url: hub.mqttUrl,
    devices: 3,
    rate: 5,
    seed: 7,
    prefix: 'ha',
    dropouts: false,
  });
});
afterAll(async () => {
  for (const c of clients) c.end(true);
  for (const p of children) p.kill();
  await fleet?.stop();
  await hub?.stop();
  await influx?.stop();
});

interface Entity {
  config: { state_topic: string; availability_topic?: string; unique_id: string; value_template?: string };
  state?: unknown;
  available?: string;
}

/**
 * A client that does what Home Assistant's MQTT integration does: MQTT 5, a will of
 * `offline` on homeassistant/status, subscriptions to the discovery topics and to its own
 * birth topic, the birth `online`, then for each config its state and availability topics.
 * An empty config removes the entity.
 */
async function homeAssistant(clientId: string) {
  const c = await mqtt.connectAsync(hub.mqttUrl, {
    clientId,
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 0,
    will: { topic: 'homeassistant/status', payload: Buffer.from('offline'), qos: 0, retain: false },
  });
  clients.push(c);
  const entities = new Map<string, Entity>();
  const byState = new Map<string, Entity>();
  const byAvailability = new Map<string, Entity[]>();
  const retainedConfigs: string[] = [];
  c.on('message', (topic, payload, packet) => {
    if (topic.endsWith('/config')) {
      if (packet.retain) retainedConfigs.push(topic);
      if (payload.length === 0) {
        entities.delete(topic);
        return;
      }
      const e: Entity = { config: JSON.parse(payload.toString()) };
      entities.set(topic, e);
      byState.set(e.config.state_topic, e);
      const a = e.config.availability_topic;
      if (a) byAvailability.set(a, [...(byAvailability.get(a) ?? []), e]);
      // Fails only once the client is gone (a test ended it), when nothing waits for it.
      c.subscribeAsync([e.config.state_topic, ...(a ? [a] : [])], { qos: 0 }).catch(() => undefined);
      return;
    }
    const e = byState.get(topic);
    if (e) e.state = JSON.parse(payload.toString());
    for (const x of byAvailability.get(topic) ?? []) x.available = payload.toString();
  });
  await c.subscribeAsync(['homeassistant/+/+/config', 'homeassistant/+/+/+/config', 'homeassistant/status'], {
    qos: 1,
  });
  await c.publishAsync('homeassistant/status', 'online', { qos: 0, retain: false });
  return { c, entities, retainedConfigs };
}

/** mosquitto_sub -V mqttv5 for the next `count` messages of a topic (retained ones included). */
function mosquittoSub(topic: string, count: number): Promise<string[]> {
  const p = spawn('mosquitto_sub', [
    ...['-V', 'mqttv5', '-p', String(port), '-t', topic, '-C', String(count), '-W', '10'],
  ]);
  children.push(p);
  let out = '';
  p.stdout.on('data', (b: Buffer) => {
    out += b.toString();
  });
  return new Promise((resolve, reject) => {
    p.once('exit', (code) =>
      code === 0
        ? resolve(out.trim().split('\n'))
        : reject(new Error(`mosquitto_sub exited ${code}: ${out}`)),
    );
  });
}

const fleetEntities = (entities: Map<string, Entity>) =>
  [...entities.entries()].filter(([t]) => /^homeassistant\/[a-z_]+\/ha-\d+\//.test(t));

describe('Home Assistant (MQTT 5 client)', () => {
  it("discovers every sensor of the fleet from retained configs and sees each one's state and availability", async () => {
    const ha = await homeAssistant('ha-core-1');
    const devices = new Set(fleet.deviceIds);
    const seen = await eventually(() => {
      const ours = fleetEntities(ha.entities);
      const named = new Set(ours.map(([t]) => t.split('/')[2]));
      const complete = [...devices].every((d) => named.has(d));
      return (
        complete && ours.every(([, e]) => typeof e.state === 'object' && e.available === 'online') && ours
      );
    }, 15_000);
    for (const [topic, e] of seen) {
      const device = topic.split('/')[2]!;
      expect(e.config.state_topic).toMatch(new RegExp(`^hub/readings/${device}/`));
      expect(e.config.availability_topic).toBe(`hub/devices/${device}/availability`);
      expect(typeof (e.state as { value: unknown }).value).toBe('number');
    }
    // Every sensor the hub lists for a fleet device has its entity.
    const listed = hub.registry
      .list()
      .filter((d) => devices.has(d.id))
      .reduce((n, d) => n + Object.keys(d.sensors).length, 0);
    expect(seen.length).toBe(listed);
  });

  it('a Home Assistant that (re)starts later gets the configs as retained messages at once', async () => {
    const ha = await homeAssistant('ha-core-2');
    await eventually(() => fleetEntities(ha.entities).length >= fleet.deviceIds.length);
    expect(ha.retainedConfigs.length).toBeGreaterThanOrEqual(fleet.deviceIds.length);
  });

  it("HA's birth and will on homeassistant/status reach subscribers and are not quarantined", async () => {
    const watcher = await mqtt.connectAsync(hub.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(watcher);
    const heard: string[] = [];
    watcher.on('message', (_t, p) => heard.push(p.toString()));
    await watcher.subscribeAsync('homeassistant/status');
    const ha = await homeAssistant('ha-core-3');
    await eventually(() => heard.includes('online'));
    // The connection dies without DISCONNECT: the broker publishes the will.
    ha.c.stream.destroy();
    await eventually(() => heard.includes('offline'));
    expect(heard).toEqual(['online', 'offline']);
    expect(hub.quarantine.recent(1000).filter((e) => e.topic.startsWith('homeassistant/'))).toEqual([]);
  });

  it('a device cleared from discovery disappears from Home Assistant, and from a later one', async () => {
    const ha = await homeAssistant('ha-core-4');
    const gone = fleet.deviceIds[0]!;
    await eventually(() => fleetEntities(ha.entities).some(([t]) => t.split('/')[2] === gone));
    // The fleet stops first: a device's next reading announces it again.
    await fleet.stop();
    const cleared = await hub.discovery!.clear(gone);
    expect(cleared.length).toBeGreaterThan(0);
    await eventually(() => !fleetEntities(ha.entities).some(([t]) => t.split('/')[2] === gone));
    const later = await homeAssistant('ha-core-5');
    await eventually(() => fleetEntities(later.entities).length > 0);
    await new Promise((r) => setTimeout(r, 200));
    const names = new Set(fleetEntities(later.entities).map(([t]) => t.split('/')[2]));
    expect(names.has(gone)).toBe(false);
    expect(names.size).toBe(fleet.deviceIds.length - 1);
  });
});

describe('Zigbee2MQTT (MQTT 5 client)', () => {
  const base = 'zigbee2mqtt';
  const ieee = '0x00158d0001e1a2b3';

  async function zigbee2mqtt(maximumPacketSize: number) {
    const c = await mqtt.connectAsync(hub.mqttUrl, {
      clientId: `zigbee2mqtt_${maximumPacketSize}`,
      protocolVersion: 5,
      reconnectPeriod: 0,
      properties: { maximumPacketSize },
      will: {
        topic: `${base}/bridge/state`,
        payload: Buffer.from(JSON.stringify({ state: 'offline' })),
        retain: true,
        qos: 1,
      },
    });
    clients.push(c);
    const got: Array<[string, number]> = [];
    c.on('message', (topic, payload) => got.push([topic, payload.length]));
    await c.subscribeAsync([
      `${base}/+/set`,
      `${base}/+/+/set`,
      `${base}/bridge/request/#`,
      'homeassistant/status',
    ]);
    await c.publishAsync(`${base}/bridge/state`, JSON.stringify({ state: 'online' }), {
      qos: 1,
      retain: true,
    });
    await c.publishAsync(
      `${base}/bridge/devices`,
      JSON.stringify([
        {
          ieee_address: ieee,
          friendly_name: ieee,
          definition: {
            exposes: [
              { type: 'numeric', property: 'temperature', unit: '°C' },
              { type: 'numeric', property: 'pressure', unit: 'hPa' },
            ],
          },
        },
      ]),
      { qos: 1, retain: true },
    );
    return { c, got };
  }

  it('its retained bridge/state, device list and device states land; readings reach the HTTP API', async () => {
    const z = await zigbee2mqtt(1_048_576);
    await z.c.publishAsync(
      `${base}/${ieee}`,
      JSON.stringify({ temperature: 22.67, pressure: 1002.3, linkquality: 72 }),
    );
    expect(await mosquittoSub(`${base}/bridge/state`, 1)).toEqual(['{"state":"online"}']);
    const dev = await eventually(async () => {
      const body = (await (await fetch(`${hub.httpUrl}/api/devices/${ieee}`)).json()) as {
        state?: string;
        sensors?: Record<string, { value: number; unit: string }>;
      };
      return body.sensors?.pressure && body;
    });
    expect(dev.state).toBe('online');
    expect(dev.sensors!.temperature).toMatchObject({ value: 22.67, unit: 'Cel' });
    expect(dev.sensors!.pressure).toMatchObject({ value: 100230, unit: 'Pa' });
  });

  it('a message over the Maximum Packet Size it sent is not delivered to it; a smaller one is', async () => {
    const z = await zigbee2mqtt(1024);
    const other = await mqtt.connectAsync(hub.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0 });
    clients.push(other);
    await other.publishAsync(`${base}/bridge/request/big`, 'x'.repeat(4096), { qos: 1 });
    await other.publishAsync(`${base}/bridge/request/small`, 'x'.repeat(10), { qos: 1 });
    await eventually(() => z.got.some(([t]) => t.endsWith('/small')));
    expect(z.got.filter(([t]) => t.startsWith(`${base}/bridge/request/`))).toEqual([
      [`${base}/bridge/request/small`, 10],
    ]);
    expect(z.c.connected).toBe(true);
  });

  it('its will, a retained bridge/state offline, replaces online and marks its devices offline', async () => {
    const z = await zigbee2mqtt(1_048_576);
    await z.c.publishAsync(`${base}/${ieee}`, JSON.stringify({ temperature: 23 }));
    await eventually(async () => {
      const body = (await (await fetch(`${hub.httpUrl}/api/devices/${ieee}`)).json()) as { state?: string };
      return body.state === 'online';
    });
    z.c.stream.destroy();
    await eventually(async () => {
      const body = (await (await fetch(`${hub.httpUrl}/api/devices/${ieee}`)).json()) as { state?: string };
      return body.state === 'offline';
    });
    // A subscriber arriving later is told the bridge is offline (retained).
    expect(await mosquittoSub(`${base}/bridge/state`, 1)).toEqual(['{"state":"offline"}']);
  });
});
