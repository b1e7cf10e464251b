import { playScenario, Scenario, TestClock } from 'sensor-hub/simulators';
import { startTestHub } from 'sensor-hub/testing';
import { expect } from 'vitest';
import { test } from './fixtures.js';

test('a scripted device: a ramp and a spike arrive and are stored', async ({ hub }) => {
  const clock = new TestClock(Date.now() - 60_000);
  const scenario = new Scenario({ start: 20, every: 1000 }).ramp(25, 5000).spike(40, 1000);
  const device = await playScenario(scenario, { url: hub.mqttUrl, device: 'greenhouse', clock, qos: 1 });
  await clock.advance(scenario.durationMs);
  await device.stop();

  const spike = await hub.waitForReading({ device: 'greenhouse', value: (v) => v > 30 });
  expect(spike).toMatchObject({ metric: 'temperature', unit: 'Cel', value: 40 });
  expect(await hub.waitForStored({ device: 'greenhouse' }, { count: 6 })).toBe(6);
});

test('a virtual board the test drives: millivolts in, a reading out', async () => {
  await using hub = await startTestHub({
    config: {
      boards: [
        {
          id: 'bench',
          port: 'virtual',
          sensors: [
            {
              id: 'soil',
              type: 'analog',
              pin: 'A0',
              metric: 'moisture',
              unit: '%',
              scale: [0, 100],
              every: '50ms',
            },
          ],
        },
      ],
    },
    boards: { bench: 'controlled' },
  });
  hub.board('bench').setMillivolts(0, 2500);
  const r = await hub.waitForReading({ device: 'bench', sensor: 'soil' }, { timeoutMs: 10_000 });
  expect(r.value).toBeCloseTo(50, 0);
});
