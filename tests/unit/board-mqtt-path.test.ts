import { describe, expect, it } from 'vitest';
import { SensorSampler } from '../../hub/boards/sensor.js';
import { ConfigError, parseConfig } from '../../hub/config/load.js';
import type { HubConfigInput } from '../../hub/config/schema.js';
import type { Reading } from '../../hub/core/reading.js';
import { pipelineOf } from '../support/pipeline.js';

const T0 = 1_790_000_000_000;

function pipelineFor(input: HubConfigInput) {
  const config = parseConfig(input);
  const { pipeline } = pipelineOf(config);
  return { config, pipeline };
}

const stored = (rs: readonly Reading[]) => rs.map((r) => [r.sensor, r.value, r.unit, r.ts - T0]);

/** Samples every second through a virtual board's sampler and the pipeline. */
function throughBoard(sensor: Record<string, unknown> & { type: string }, samples: number[][]) {
  const { config, pipeline } = pipelineFor({
    boards: [{ id: 'bench', port: 'virtual', sensors: [{ id: 'probe', ...sensor }] }],
  });
  const sampler = new SensorSampler('bench', config.boards[0]!.sensors[0]!);
  return samples.flatMap((values, i) =>
    stored(
      pipeline.ingestCandidates(sampler.sample(values, T0 + i * 1000), 'firmata', T0 + i * 1000).readings,
    ),
  );
}

/** The same values published as sensors/bench/<sensor> {"value", "unit"}, one a second. */
function throughMqtt(
  sensors: NonNullable<HubConfigInput['devices']>[number]['sensors'],
  messages: Array<Array<[sensor: string, value: number, unit: string]>>,
) {
  const { pipeline } = pipelineFor({ devices: [{ id: 'bench', sensors }] });
  return messages.flatMap((msg, i) =>
    msg.flatMap(([sensor, value, unit]) =>
      stored(
        pipeline.ingest({
          topic: `sensors/bench/${sensor}`,
          payload: Buffer.from(JSON.stringify({ value, unit })),
          receivedAt: T0 + i * 1000,
          source: 'mqtt',
        }).readings,
      ),
    ),
  );
}

describe('a board and MQTT share calibration, deadband and heartbeat', () => {
  it('stores the same values for the same thermometer samples', () => {
    // Quarter degrees are exact in binary: 19.75 is exactly one deadband from 19.5.
    const celsius = [20, 20.25, 20.5, 20.5, 20.5, 20.5, 20.5, 20.5, 21];
    const board = throughBoard(
      {
        type: 'thermometer',
        controller: 'TMP36',
        pin: 'A1',
        calibration: { gain: 1, offset: -0.5 },
        deadband: 0.25,
        heartbeat: '5s',
      },
      celsius.map((v) => [v]),
    );
    const mqtt = throughMqtt(
      { probe: { offset: -0.5, deadband: 0.25, maxSilence: '5s' } },
      celsius.map((v) => [['probe', v, 'Cel']]),
    );
    expect(board).toEqual(mqtt);
    // Calibrated, then compared with the last stored value: within ± 0.25 (inclusive) dropped,
    // stored again once 5 s passed without a stored value.
    expect(board.map(([, v, u, t]) => [v, u, t])).toEqual([
      [19.5, 'Cel', 0],
      [20, 'Cel', 2000],
      [20, 'Cel', 7000],
      [20.5, 'Cel', 8000],
    ]);
  });

  it('dead-bands a BME280 pressure in Pa, the unit it is stored in', () => {
    // The part reports kPa; stored and compared in Pa. 101.3 -> 101.34 kPa is 40 Pa.
    const kpa = [101.3, 101.34, 101.36, 101.4];
    const board = throughBoard(
      { type: 'barometer', controller: 'BME280', deadband: 50 },
      kpa.map((v) => [v]),
    );
    const mqtt = throughMqtt(
      { probe: { deadband: 50 } },
      kpa.map((v) => [['probe', v, 'kPa']]),
    );
    expect(board).toEqual(mqtt);
    expect(board.map(([, v, u]) => [Math.round(v as number), u])).toEqual([
      [101_300, 'Pa'],
      [101_360, 'Pa'],
    ]);
  });

  it('applies a multi-reading part shorthand to each of its readings, in its own stored unit', () => {
    const board = throughBoard({ type: 'multi', controller: 'SHT31D', deadband: 1 }, [
      [20, 50],
      [20.5, 52],
      [21.2, 52.5],
    ]);
    expect(board.map(([s, v]) => [s, v])).toEqual([
      ['probe.temperature', 20],
      ['probe.humidity', 50],
      ['probe.humidity', 52],
      ['probe.temperature', 21.2],
    ]);
  });
});

describe('settings made in one place', () => {
  const problems = (input: HubConfigInput) => {
    try {
      parseConfig(input);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.map((p) => `${p.path}: ${p.message}`);
      throw err;
    }
    return [];
  };
  const board = (sensor: Record<string, unknown>) => ({
    id: 'bench',
    port: 'virtual',
    sensors: [{ id: 'air', type: 'multi', controller: 'BME280', ...sensor }],
  });

  it('refuses a deadband set on the board and in devices[] for the same series, with its path', () => {
    const out = problems({
      boards: [board({ deadband: 0.2 })],
      devices: [{ id: 'bench', sensors: { 'air.pressure': { deadband: 50 } } }],
    });
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/devices.*0.*sensors.*air\.pressure/);
    expect(out[0]).toMatch(/deadband of bench\/air\.pressure already set by boards\[0\]\.sensors\[0\]/);
  });

  it('refuses calibration in both places, but takes what each sets alone', () => {
    expect(
      problems({
        boards: [board({ calibration: { offset: 1 } })],
        devices: [{ id: 'bench', sensors: { 'air.temperature': { factor: 1.01 } } }],
      })[0],
    ).toMatch(/calibration/);
    const { config } = pipelineFor({
      boards: [board({ deadband: 0.2 })],
      devices: [{ id: 'bench', sensors: { 'air.pressure': { offset: -30, expectedInterval: '10s' } } }],
    });
    expect(config.devices[0]!.sensors['air.pressure']).toMatchObject({ offset: -30 });
  });

  it('refuses a deadband or heartbeat on a part that reports edges', () => {
    const out = problems({
      boards: [
        { id: 'b', port: 'virtual', sensors: [{ id: 'bell', type: 'button', pin: 'D3', deadband: 1 }] },
      ],
    });
    expect(out).toEqual([expect.stringMatching(/deadband.*button reports each change as it happens/)]);
  });
});
