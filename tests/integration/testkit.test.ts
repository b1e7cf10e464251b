import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../hub/config/load.js';
import { HubError } from '../../hub/core/errors.js';
import { startTestHub, type TestHub, WaitTimeoutError } from '../../hub/testing/index.js';
import { TestClock } from '../../simulators/clock.js';
import type { Bme280 } from '../../simulators/firmata/bme280.js';
import { virtualBoardFor } from '../../simulators/firmata/for-config.js';
import { VirtualFirmataBoard } from '../../simulators/firmata/virtual-board.js';
import { playScenario } from '../../simulators/play.js';
import { Scenario } from '../../simulators/scenario.js';

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub();
});
afterAll(async () => {
  await t?.stop();
});

describe('startTestHub', () => {
  it('runs on free loopback ports with a temporary folder, the dashboard off, and answers its API', async () => {
    expect(t.mqttUrl).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(t.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(t.dataDir).toContain('sensor-hub-test-');
    expect(existsSync(t.dataDir)).toBe(true);
    expect(t.config.dashboard.enabled).toBe(false);
    expect(t.config.spool.fsync).toBe(false);
    expect((await fetch(`${t.httpUrl}/`)).status).toBe(404);
    expect((await t.api.health()).ok).toBe(true);
    expect(await t.api.devices()).toEqual([]);
    await expect(t.api.device('nobody')).rejects.toMatchObject({ status: 404, code: 'HUB_NOT_FOUND' });
  });

  it('waits for readings and for them to be queryable in InfluxDB', async () => {
    const run = await playScenario(new Scenario({ start: 20, every: 100 }).ramp(22, 1000), {
      url: t.mqttUrl,
      device: 'wait-1',
      qos: 1,
    });
    const r = await t.waitForReading({ device: 'wait-1', value: (v) => v >= 21.8 });
    expect(r).toMatchObject({ sensor: 'temperature', metric: 'temperature', unit: 'Cel' });
    const all = await t.waitForReadings({ device: 'wait-1' }, 10);
    expect(all.map((x) => x.value)).toEqual([20, 20.2, 20.4, 20.6, 20.8, 21, 21.2, 21.4, 21.6, 21.8]);
    await run.done;
    await run.stop();
    expect(
      await t.waitForStored(
        { device: 'wait-1', sensor: 'temperature', metric: 'temperature' },
        { count: 10 },
      ),
    ).toBe(10);
    const history = await t.api.readings({
      device: 'wait-1',
      sensor: 'temperature',
      from: Date.now() - 3_600_000,
    });
    expect(history.points).toHaveLength(10);
  });

  it('times out with an error that says what it saw instead', async () => {
    const err = await t.waitForReading({ device: 'never' }, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as Error).message).toMatch(/no a reading with device="never" within 200 ms/);
    expect((err as Error).message).toMatch(/seen \d+ readings of wait-1\/temperature/);
    const stored = await t
      .waitForStored({ device: 'never' }, { timeoutMs: 300 })
      .catch((e: unknown) => e as Error);
    expect(stored).toBeInstanceOf(WaitTimeoutError);
    expect((stored as Error).message).toMatch(/InfluxDB holds 0 of 1 points of never/);
  });
});

describe('scenarios on a test clock', () => {
  it('ramp, spike, flap and silence arrive with the timestamps of the clock, skewed as asked', async () => {
    // Within the hub's time.maxPastAge: an older device time is replaced by the receive time.
    const start = Date.now() - 3_600_000;
    const clock = new TestClock(start);
    const s = new Scenario({ start: 20, every: 1000 })
      .ramp(24, 4000)
      .spike(40, 1000)
      .flap(30, 1, 4000)
      .silence(5000)
      .hold(1000);
    const run = await playScenario(s, { url: t.mqttUrl, device: 'clock-1', clock, qos: 1, skewMs: -500 });
    expect(run.stats().sent).toBe(1);
    await clock.advance(3000);
    expect(run.stats()).toMatchObject({ sent: 4, acked: 4 });
    await clock.advance(s.durationMs);
    await run.done;
    await run.stop();
    const got = await t.waitForReadings({ device: 'clock-1' }, 10);
    expect(got.map((r) => r.value)).toEqual([20, 21, 22, 23, 40, 31, 29, 31, 29, 30]);
    const t0 = start - 500;
    expect(got.map((r) => r.ts - t0)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 14_000]);
  });

  it('bad payloads land in the quarantine with their reasons, and the hub goes on', async () => {
    const s = new Scenario({ start: 1, every: 10 }).bad(5).hold(10);
    const run = await playScenario(s, { url: t.mqttUrl, device: 'bad-1', format: 'plain', qos: 1 });
    await run.done;
    await run.stop();
    await t.waitForReading({ device: 'bad-1', value: 1 });
    const q = await t.api.quarantine({ device: 'bad-1' });
    expect(q.entries.map((e) => e.reason).sort()).toEqual([
      'empty_payload',
      'invalid_json',
      'non_finite',
      'not_a_number',
      'not_a_number',
    ]);
  });
});

describe('a virtual board the test drives', () => {
  it('reads the millivolts, pins and I2C values the test sets, and goes offline when unplugged', async () => {
    const sensors = [
      {
        id: 'soil',
        type: 'analog' as const,
        pin: 'A0',
        metric: 'moisture',
        unit: '%',
        scale: [0, 100] as [number, number],
        every: '50ms',
      },
      { id: 'air', type: 'multi' as const, controller: 'BME280', every: '50ms' },
      { id: 'door', type: 'switch' as const, pin: 2 },
    ];
    const board = virtualBoardFor(sensors, { modelled: false });
    expect(board).toBeInstanceOf(VirtualFirmataBoard);
    const hub = await startTestHub({
      config: { boards: [{ id: 'bench', port: 'virtual', sensors }] },
      boards: { bench: board },
      start: { boards: { retryMs: 100 } },
    });
    try {
      board.setMillivolts(0, 2500);
      board.i2cDevice<Bme280>(0x77)!.temperature = 31.5;
      const soil = await hub.waitForReading(
        { device: 'bench', sensor: 'soil', value: (v) => Math.abs(v - 50) < 0.2 },
        { timeoutMs: 10_000 },
      );
      expect(soil.source).toBe('firmata');
      await hub.waitForReading(
        { device: 'bench', metric: 'temperature', value: (v) => Math.abs(v - 31.5) < 0.1 },
        { timeoutMs: 10_000 },
      );
      board.setMillivolts(0, 1000);
      await hub.waitForReading(
        { device: 'bench', sensor: 'soil', value: (v) => Math.abs(v - 20) < 0.2 },
        { fresh: true },
      );
      board.setDigital(2, 1);
      await hub.waitForReading({ device: 'bench', sensor: 'door', value: 1 }, { timeoutMs: 10_000 });

      board.unplug();
      await expect
        .poll(async () => (await hub.api.device('bench')).state, { timeout: 10_000 })
        .toBe('offline');
      board.replug();
      await expect
        .poll(async () => (await hub.api.device('bench')).state, { timeout: 10_000 })
        .toBe('online');
      board.setMillivolts(0, 4000);
      await hub.waitForReading(
        { device: 'bench', sensor: 'soil', value: (v) => Math.abs(v - 80) < 0.2 },
        { fresh: true, timeoutMs: 10_000 },
      );
    } finally {
      await hub.stop();
    }
    expect(existsSync(hub.dataDir)).toBe(false);
  });
});

describe('failures a test can match', () => {
  it('bad options are a ConfigError with every problem and its path, and leave no folder', async () => {
    const err = await startTestHub({
      config: { mqtt: { port: -1 }, influx: { batchSize: 'x' } } as never,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(HubError);
    expect((err as ConfigError).code).toBe('HUB_CONFIG_INVALID');
    expect((err as ConfigError).problems.map((p) => p.path).sort()).toEqual([
      'influx.batchSize',
      'mqtt.port',
    ]);
  });

  it('a port in use is HUB_PORT_IN_USE naming the config key', async () => {
    const port = Number(new URL(t.mqttUrl).port);
    const err = await startTestHub({ config: { mqtt: { port } } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubError);
    expect((err as HubError).code).toBe('HUB_PORT_IN_USE');
    expect((err as Error).message).toContain('mqtt.port');
    expect((err as Error).message).not.toContain('HUB_MQTT_PORT');
  });
});

describe('startHub itself', () => {
  it('a failure without a code of its own is HUB_START_FAILED naming the part, with the cause', async () => {
    const { startHub } = await import('../../hub/hub.js');
    const { parseConfig } = await import('../../hub/config/load.js');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { pino } = await import('pino');
    const dataDir = mkdtempSync(join(tmpdir(), 'hub-start-failed-'));
    try {
      const config = parseConfig({
        mqtt: { port: 0 },
        http: { port: 0 },
        influx: { url: t.influxUrl },
        dataDir,
        boards: [{ id: 'b1', port: 'virtual', sensors: [{ id: 's', type: 'analog', pin: 'A0' }] }],
      });
      // A virtual board and no opener for it.
      const err = await startHub(config, { logger: pino({ level: 'silent' }) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HubError);
      expect((err as HubError).code).toBe('HUB_START_FAILED');
      expect((err as Error).message).toMatch(/boards: board b1 has port "virtual"/);
      expect((err as Error).cause).toBeInstanceOf(Error);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
