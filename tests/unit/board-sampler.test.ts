import { describe, expect, it } from 'vitest';
import { componentSpec, SensorSampler } from '../../hub/boards/sensor.js';
import { boardSensor } from '../../hub/config/boards.js';
import { parseConfig } from '../../hub/config/load.js';
import { pipelineOf } from '../support/pipeline.js';

const sensor = (input: Record<string, unknown>) => boardSensor.parse({ id: 's', ...input });

/** A board 'b' with one sensor, its sampler and the pipeline its candidates go through. */
function boardPath(input: { type: string } & Record<string, unknown>) {
  const config = parseConfig({ boards: [{ id: 'b', port: 'virtual', sensors: [{ id: 's', ...input }] }] });
  const { pipeline, context } = pipelineOf(config);
  const sampler = new SensorSampler('b', config.boards[0]!.sensors[0]!);
  return {
    stored: (values: ReadonlyArray<number | null>, ts: number) =>
      pipeline.ingestCandidates(sampler.sample(values, ts), 'firmata', ts).readings,
    reconnect: () => context.lastReported?.forgetDevice('b'),
  };
}

describe('board sensor sampling', () => {
  it('scales raw counts, then calibrates', () => {
    const b = boardPath({ type: 'analog', pin: 'A0', scale: [0, 100], calibration: { gain: 2, offset: -1 } });
    const [c] = b.stored([1023], 1);
    expect(c).toMatchObject({ device: 'b', sensor: 's', metric: 'analog', unit: '1', value: 199 });
  });

  it('only samples: scale applies, calibration is left to the pipeline', () => {
    const s = new SensorSampler(
      'b',
      sensor({ type: 'analog', pin: 'A0', scale: [0, 100], calibration: { gain: 2, offset: -1 } }),
    );
    expect(s.sample([1023], 1)[0]).toMatchObject({ value: 100 });
  });

  it('renames the reading of a single-reading part; a metric without unit takes its canonical unit', () => {
    const s = new SensorSampler('b', sensor({ type: 'analog', pin: 'A0', metric: 'temperature' }));
    expect(s.sample([20], 1)[0]).toMatchObject({ metric: 'temperature', unit: undefined, value: 20 });
  });

  it('names each reading of a multi-reading part <id>.<metric>', () => {
    const s = new SensorSampler('b', sensor({ type: 'multi', controller: 'BME280' }));
    const cs = s.sample([21.5, 45, 101.3], 5);
    expect(cs.map((c) => [c.sensor, c.metric, c.unit, c.value])).toEqual([
      ['s.temperature', 'temperature', 'Cel', 21.5],
      ['s.humidity', 'humidity', '%RH', 45],
      ['s.pressure', 'pressure', 'kPa', 101.3],
    ]);
    // A part still warming up has no value yet: nothing is reported for it.
    expect(s.sample([null, null, null], 6)).toEqual([]);
  });

  it('reports on change beyond the deadband, and again after the heartbeat', () => {
    const b = boardPath({
      type: 'thermometer',
      controller: 'TMP36',
      pin: 'A1',
      deadband: 0.5,
      heartbeat: '10s',
    });
    const seen = [20, 20.2, 20.4, 20.6, 20.7, 20.2].map((v, i) =>
      b.stored([v], i * 1000).map((c) => c.value),
    );
    expect(seen).toEqual([[20], [], [], [20.6], [], []]);
    expect(b.stored([20.6], 13_000).map((c) => c.value)).toEqual([20.6]);
    // After a reconnect the first sample is always reported.
    b.reconnect();
    expect(b.stored([20.6], 14_000)).toHaveLength(1);
  });

  it('inverts edge-driven parts on request', () => {
    const s = new SensorSampler('b', sensor({ type: 'motion', pin: 'D2', invert: true }));
    expect(s.sample([1], 1)[0]).toMatchObject({ metric: 'motion', value: 0 });
  });

  it('builds the Johnny-Five options a part needs', () => {
    expect(componentSpec(sensor({ type: 'analog', pin: 'a3', every: '50ms' }))).toMatchObject({
      component: 'Sensor',
      options: { pin: 'A3', freq: 50 },
    });
    expect(componentSpec(sensor({ type: 'thermometer', controller: 'DS18B20', pin: 'D7' })).options).toEqual({
      controller: 'DS18B20',
      pin: 7,
      freq: 1000,
    });
    expect(
      componentSpec(sensor({ type: 'multi', controller: 'SHT31D', address: 0x45 })).options,
    ).toMatchObject({
      controller: 'SHT31D',
      address: 0x45,
    });
    expect(componentSpec(sensor({ type: 'button', pin: 4, pullup: true }))).toMatchObject({
      component: 'Button',
      options: { pin: 4, isPullup: true },
      edges: { on: 'press', off: 'release' },
    });
  });
});
