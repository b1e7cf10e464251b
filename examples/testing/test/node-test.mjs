// The same kit from node:test, with no test runner of its own.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { playScenario, Scenario } from 'sensor-hub/simulators';
import { startTestHub } from 'sensor-hub/testing';

let hub;
before(async () => {
  hub = await startTestHub();
});
after(() => hub.stop());

test('a device that goes silent, then speaks again', async () => {
  const run = await playScenario(new Scenario({ start: 5, every: 50 }).hold(100).silence(300).step(7, 50), {
    url: hub.mqttUrl,
    device: 'door',
    qos: 1,
  });
  await run.done;
  await run.stop();
  const rs = await hub.waitForReadings({ device: 'door' }, 3);
  assert.deepEqual(
    rs.map((r) => r.value),
    [5, 5, 7],
  );
});
