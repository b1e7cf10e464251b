/**
 * One contract suite for the board driver layer, run against the virtual board
 * and against real StandardFirmata in the AVR emulator, for what both support
 * (analog and digital inputs). Same config, same inputs, same expected readings.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BoardTarget, driveBoard, emulatedTarget, virtualTarget } from '../support/boards.js';
import { eventually } from '../support/hub.js';

const targets: Array<[string, () => Promise<BoardTarget>]> = [
  ['virtual board', async () => virtualTarget()],
  ['StandardFirmata in simavr', () => emulatedTarget()],
];

describe.each(targets)('board driver contract: %s', (_name, make) => {
  let target: BoardTarget;
  let drive: ReturnType<typeof driveBoard>;

  beforeAll(async () => {
    target = await make();
    target.setMillivolts(0, 2500);
    target.setDigital(2, 0);
    drive = driveBoard(target, {
      id: 'bench1',
      sensors: [
        {
          id: 'soil',
          type: 'analog',
          pin: 'A0',
          metric: 'moisture',
          unit: '%',
          scale: [0, 100],
          every: '100ms',
        },
        { id: 'door', type: 'switch', pin: 'D2' },
        { id: 'raw', type: 'analog', pin: 'A1', every: '100ms' },
      ],
    });
    // The emulated firmware blinks its LED for about 2 s at boot, at half speed.
    await eventually(() => drive.states.includes('online'), 20_000, 50);
  }, 30_000);

  afterAll(async () => {
    await drive?.stop();
    await target?.stop();
  });

  it('maps 2500 mV on A0 through scale to the configured metric and unit', async () => {
    const c = await eventually(() => drive.candidates.findLast((x) => x.sensor === 'soil'), 5000);
    expect(c).toMatchObject({ device: 'bench1', sensor: 'soil', metric: 'moisture', unit: '%' });
    // 2500/5000 of a 10-bit ADC is 511 or 512, i.e. 49.95 % or 50.05 %.
    expect(c.value as number).toBeCloseTo(50, 0);
  });

  it('follows a changed analog input', async () => {
    target.setMillivolts(0, 1000);
    const c = await eventually(
      () => drive.candidates.findLast((x) => x.sensor === 'soil' && Math.abs((x.value as number) - 20) < 0.5),
      5000,
    );
    expect(c.value as number).toBeCloseTo(20, 0);
  });

  it('reports an unscaled analog input as raw ADC counts', async () => {
    target.setMillivolts(1, 5000);
    const c = await eventually(
      () => drive.candidates.findLast((x) => x.sensor === 'raw' && x.value === 1023),
      5000,
    );
    expect(c).toMatchObject({ metric: 'analog', unit: '1' });
  });

  it('reports a level change on D2 as 1, and back as 0', async () => {
    const before = drive.candidates.length;
    target.setDigital(2, 1);
    await eventually(
      () => drive.candidates.slice(before).find((x) => x.sensor === 'door' && x.value === 1),
      5000,
    );
    target.setDigital(2, 0);
    const off = await eventually(
      () => drive.candidates.slice(before).find((x) => x.sensor === 'door' && x.value === 0),
      5000,
    );
    expect(off).toMatchObject({ metric: 'contact', unit: '1', device: 'bench1' });
  });
});
