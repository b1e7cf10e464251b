import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HubHandle } from '../../hub/hub.js';
import { simulateFleet } from '../../simulators/fleet.js';
import { DeviceSignals } from '../../simulators/signals.js';
import { eventually, startTestHub } from '../support/hub.js';
import { startTestInfluxd, type TestInfluxd } from '../support/influxd.js';

let influx: TestInfluxd;
let hub: HubHandle & { database: string };
beforeAll(async () => {
  influx = await startTestInfluxd();
  hub = await startTestHub(influx.url);
});
afterAll(async () => {
  await hub?.stop();
  await influx?.stop();
});

describe('simulated fleet', () => {
  it('is the same signal for the same seed, and plausible', () => {
    const a = new DeviceSignals(42, 3);
    const b = new DeviceSignals(42, 3);
    const t0 = Date.UTC(2026, 0, 1);
    const seq = (s: DeviceSignals) =>
      Array.from({ length: 50 }, (_, i) => s.sample('temperature', t0 + i * 60_000));
    const sa = seq(a);
    expect(sa).toEqual(seq(b));
    expect(seq(new DeviceSignals(43, 3))).not.toEqual(sa);
    for (const v of sa) expect(v).toBeGreaterThan(5);
    for (const v of sa) expect(v).toBeLessThan(35);
    // Diurnal: over a day the temperature swings by several degrees.
    const day = Array.from({ length: 24 }, (_, h) => a.sample('temperature', t0 + h * 3_600_000));
    expect(Math.max(...day) - Math.min(...day)).toBeGreaterThan(5);
  });

  for (const format of ['plain', 'json', 'multi'] as const) {
    it(`${format}: every published reading reaches InfluxDB and every device the registry`, async () => {
      const prefix = `sim${format}`;
      const fleet = await simulateFleet({
        url: hub.mqttUrl,
        devices: 5,
        rate: 20,
        format,
        prefix,
        dropouts: false,
        qos: 1,
        seed: 7,
      });
      await new Promise((r) => setTimeout(r, 600));
      await fleet.stop();
      const s = fleet.stats();
      expect(s.errors).toBe(0);
      expect(s.acked).toBe(s.published);
      const readings = format === 'multi' ? s.published * 3 : s.published;
      expect(readings).toBeGreaterThan(30);
      await hub.flush();
      const stored = await eventually(async () => {
        const n = (
          await influx.query(hub.database, `SELECT count(value) FROM /.*/ WHERE device =~ /^${prefix}-/`)
        ).reduce((sum, series) => sum + Number(series.values[0]![1]), 0);
        return n === readings ? n : undefined;
      });
      expect(stored).toBe(readings);
      for (const id of fleet.deviceIds) {
        expect(Object.keys(hub.registry.get(id)!.sensors).sort()).toEqual([
          'humidity',
          'pressure',
          'temperature',
        ]);
      }
    });
  }

  it('sensor-hub simulate: finds the hub on HUB_MQTT_PORT, and reports progress as JSON lines without acked at QoS 0', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HUB_')));
    const port = new URL(hub.mqttUrl).port;
    const run = (qos: string) =>
      promisify(execFile)(
        'node',
        [
          'dist/hub/cli.js',
          'simulate',
          '--devices',
          '2',
          '--rate',
          '10',
          '--qos',
          qos,
          '--prefix',
          `clisim${qos}`,
        ],
        { env: { ...env, HUB_MQTT_PORT: port, HUB_SIM_DURATION: '1s' }, timeout: 30_000 },
      );
    const q0 = await run('0');
    const lines = q0.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`simulating 2 devices at 10 Hz (plain, QoS 0) into mqtt://127.0.0.1:${port}`);
    const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(Object.keys(last).sort()).toEqual([
      'achievedRate',
      'askedRate',
      'done',
      'errors',
      'inDropout',
      'published',
      'reached',
      'skipped',
    ]);
    expect(last).toMatchObject({ askedRate: 60, reached: true, skipped: 0 });
    expect(last.published).toBeGreaterThan(0);
    await eventually(() => hub.registry.get('clisim0-0002'));

    const q1 = JSON.parse((await run('1')).stderr.trimEnd().split('\n').at(-1)!) as Record<string, number>;
    expect(q1.acked).toBe(q1.published);
  });

  it('sensor-hub simulate on a terminal: progress as a sentence, not JSON', async () => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HUB_')));
    // script(1) gives the command a pseudo-terminal, as a person's shell would.
    const { stdout } = await promisify(execFile)(
      'script',
      [
        '-qec',
        'node dist/hub/cli.js simulate --devices 2 --rate 10 --prefix ttysim --duration 1s',
        '/dev/null',
      ],
      { env: { ...env, HUB_MQTT_PORT: new URL(hub.mqttUrl).port }, timeout: 30_000 },
    );
    const lines = stdout.replace(/\r/g, '').trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(
      /^done: published \d+ · [\d.]+\/s of 60\/s asked · errors 0 · silent devices \d+$/,
    );
    expect(lines.filter((l) => l.startsWith('{'))).toEqual([]);
  });
});
