import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../hub/config/load.js';

const BAD = `
boards:
  - id: greenhouse
    port: /dev/ttyACM0
    sensors:
      - { id: soil, type: analog, pin: A9 }
      - { id: air, type: thermometer, controller: TMP37, pin: A1 }
      - { id: pir, type: motion, pin: D2 }
      - { id: bell, type: button, pin: 2 }
      - { id: rx, type: button, pin: D0 }
      - { id: lamp, type: light, pin: D5 }
      - { id: x, type: sonar, pin: D6 }
      - { id: bme, type: multi, controller: bme280 }
      - { id: baro, type: barometer, controller: BME280 }
      - { id: dup, type: multi, controller: SHT31D, metric: temperature }
`;

function problemsOf(yaml: string) {
  const file = join(mkdtempSync(join(tmpdir(), 'hub-cfg-')), 'hub.yaml');
  writeFileSync(file, yaml);
  try {
    loadConfig({ file, env: {} });
  } catch (err) {
    if (err instanceof ConfigError) return { file, problems: err.problems };
    throw err;
  }
  return { file, problems: [] };
}

describe('board config checks', () => {
  it('refuses unknown pins, pins used twice and unknown controllers, each with its path', () => {
    const { problems } = problemsOf(BAD);
    const byPath = Object.fromEntries(problems.map((p) => [p.path, p.message]));
    expect(byPath['boards[0].sensors[0].pin']).toMatch(/unknown pin "A9"; expected A0..A5 or D2..D13/);
    expect(byPath['boards[0].sensors[1].controller']).toMatch(
      /unknown controller "TMP37" for type thermometer; expected one of TMP36, LM35, DS18B20/,
    );
    expect(byPath['boards[0].sensors[3].pin']).toMatch(/pin D2 is already used by sensor pir/);
    expect(byPath['boards[0].sensors[4].pin']).toMatch(/D0 carries the serial link/);
    expect(byPath['boards[0].sensors[5].pin']).toMatch(/needs an analog pin \(A0..A5\), got D5/);
    expect(byPath['boards[0].sensors[6].type']).toMatch(
      /unknown sensor type "sonar"; expected one of analog, /,
    );
    // Controller names are case-insensitive; a second part at 0x77 is not.
    expect(byPath['boards[0].sensors[7].controller']).toBeUndefined();
    expect(byPath['boards[0].sensors[8].address']).toMatch(/I2C address 0x77 is already used by sensor bme/);
    expect(byPath['boards[0].sensors[9].metric']).toMatch(/gives 2 readings/);
    // Each problem points at the line of the YAML file it comes from.
    expect(problems.every((p) => /hub\.yaml:\d+:\d+$/.test(p.origin ?? ''))).toBe(true);
  });

  it('accepts the board of DESIGN.md with its defaults', () => {
    const c = loadConfig({
      overrides: {
        boards: [
          {
            id: 'greenhouse',
            port: '/dev/ttyACM0',
            sensors: [
              {
                id: 'soil',
                type: 'analog',
                pin: 'A0',
                metric: 'moisture',
                unit: '%',
                scale: [0, 100],
                every: '1s',
              },
              { id: 'air', type: 'thermometer', controller: 'TMP36', pin: 'A1' },
            ],
          },
        ],
      },
      env: {},
    });
    expect(c.boards[0]!.sensors[1]).toMatchObject({ every: 1000, invert: false });
    // No deadband unless set: a deadband of 0 drops exact repeats, as for devices[].sensors.
    expect(c.boards[0]!.sensors[1]!.deadband).toBeUndefined();
    expect(c.boards[0]!.baudRate).toBe(57_600);
    expect(loadConfig({ overrides: { boards: [{ id: 'b' }] }, env: {} }).boards[0]!.port).toBe('auto');
  });

  it('sensor-hub check-config prints every board problem with its path and exits 2', async () => {
    const { file } = problemsOf(BAD);
    const res = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      'hub/cli.ts',
      'check-config',
      file,
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('boards[0].sensors[0].pin: unknown pin "A9"');
    expect(res.stderr).toContain('boards[0].sensors[3].pin: pin D2 is already used by sensor pir');
    expect(res.stderr).toContain('boards[0].sensors[1].controller: unknown controller "TMP37"');
  }, 30_000);
});
