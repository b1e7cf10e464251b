/**
 * The fleet as a load generator: bounded at any asked rate, its figures what reached the
 * socket (and the broker, at QoS 1), and saying so when the asked rate is out of reach.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../../hub/testing/index.js';
import { simulateFleet } from '../../simulators/fleet.js';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.stop();
});

const counted = async () => Number(/^hub_messages_total (\d+)/m.exec(await t.api.metrics())?.[1] ?? 0);

it('at QoS 1 counts what the broker acknowledged, and reaches a modest rate', async () => {
  const before = await counted();
  const fleet = await simulateFleet({
    url: t.mqttUrl,
    devices: 5,
    rate: 20,
    qos: 1,
    dropouts: false,
    prefix: 'acked',
  });
  await new Promise((r) => setTimeout(r, 1500));
  await fleet.stop();
  const s = fleet.stats();
  expect(s.acked).toBe(s.published);
  // A stalled event loop on a busy machine may skip a few; reached means at most 5 %.
  expect(s.reached).toBe(true);
  expect(s.skipped).toBeLessThanOrEqual(0.05 * (s.published + s.skipped));
  expect(s.askedRate).toBe(300);
  expect((await counted()) - before).toBe(s.published);
});

it('far above what one machine can send: no queue, no listener warning, skipped counted, what it says it sent arrived', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const before = await counted();
  const heap0 = process.memoryUsage().heapUsed;
  try {
    // 40 devices × 5000 Hz × 3 sensors = 600,000 messages a second over 4 connections.
    const fleet = await simulateFleet({
      url: t.mqttUrl,
      devices: 40,
      rate: 5000,
      connections: 4,
      dropouts: false,
      prefix: 'flood',
    });
    await new Promise((r) => setTimeout(r, 2000));
    const mid = fleet.stats();
    await fleet.stop();
    const s = fleet.stats();
    expect(s.askedRate).toBe(600_000);
    expect(s.reached).toBe(false);
    expect(s.skipped).toBeGreaterThan(0);
    expect(s.achievedRate).toBeLessThan(s.askedRate);
    expect(mid.published).toBeGreaterThan(0);
    // Everything counted as published was written to the socket and reached the broker.
    await expect.poll(async () => (await counted()) - before, { timeout: 10_000 }).toBe(s.published);
    // Memory stays bounded: nothing queues for the messages it could not send.
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(200 * 1024 * 1024);
  } finally {
    process.off('warning', onWarning);
  }
  expect(warnings.filter((w) => /MaxListeners/.test(w))).toEqual([]);
}, 60_000);

it('speaks MQTT 5 with the user-properties format: a number, with unit, metric and ts as user properties', async () => {
  const sub = await mqtt.connectAsync(t.mqttUrl, { protocolVersion: 5, clientId: 'props-sub' });
  const got: Array<{ topic: string; payload: string; props: Record<string, unknown> | undefined }> = [];
  sub.on('message', (topic, payload, packet) =>
    got.push({
      topic,
      payload: payload.toString(),
      props: packet.properties?.userProperties as Record<string, unknown>,
    }),
  );
  await sub.subscribeAsync('sensors/props-0001/#');
  const fleet = await simulateFleet({
    url: t.mqttUrl,
    devices: 1,
    rate: 10,
    format: 'user-properties',
    sensors: ['temperature'],
    dropouts: false,
    prefix: 'props',
  });
  await expect.poll(() => got.length, { timeout: 5000 }).toBeGreaterThan(2);
  await fleet.stop();
  await sub.endAsync();
  const m = got[0]!;
  expect(m.topic).toBe('sensors/props-0001/temperature');
  expect(Number.isFinite(Number(m.payload))).toBe(true);
  expect(m.props).toMatchObject({ unit: 'Cel', metric: 'temperature' });
  expect(Math.abs(Number(m.props?.ts) - Date.now())).toBeLessThan(60_000);
  await expect(
    simulateFleet({ url: t.mqttUrl, devices: 1, rate: 1, format: 'user-properties', protocol: 4 }),
  ).rejects.toThrow(/needs MQTT 5/);
});

it('sensor-hub simulate prints the achieved rate beside the asked one and says when it cannot reach it', async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HUB_')));
  const { stderr } = await promisify(execFile)(
    process.execPath,
    [
      'dist/hub/cli.js',
      'simulate',
      '--url',
      t.mqttUrl,
      '--devices',
      '20',
      '--rate',
      '5000',
      '--connections',
      '2',
      '--no-dropouts',
      '--prefix',
      'clifl',
      '--duration',
      '2s',
    ],
    { env, timeout: 30_000 },
  );
  const last = JSON.parse(stderr.trimEnd().split('\n').at(-1)!) as Record<string, number | boolean>;
  expect(last).toMatchObject({ askedRate: 300_000, reached: false, done: true });
  expect(last.skipped).toBeGreaterThan(0);
  expect(stderr).not.toMatch(/MaxListenersExceededWarning/);
}, 60_000);
