import {
  analogIn,
  binary,
  controller,
  digitalIn,
  edges,
  humidity,
  i2c,
  illuminance,
  j5,
  kind,
  lightLevel,
  oneWire,
  pressure,
  rawValue,
  temperature,
} from './capabilities.js';
import type { ControllerDef, SensorKind } from './definition.js';

/** Every sensor kind a board may declare (config `type:`). tests/unit/board-kinds.test.ts walks them all. */
export const SENSOR_KINDS: readonly SensorKind[] = [
  kind('analog', 'Any analog input: raw 0..1023, mapped by scale and calibration', [
    controller('ANALOG', analogIn(), j5('Sensor'), rawValue()),
  ]),
  kind('thermometer', 'Temperature probe', [
    // TMP36: 10 mV/°C with 500 mV at 0 °C; LM35: 10 mV/°C from 0 V (datasheets, "transfer function").
    controller('TMP36', analogIn(), j5('Thermometer', 'TMP36'), temperature()),
    controller('LM35', analogIn(), j5('Thermometer', 'LM35'), temperature()),
    // DS18B20 speaks 1-Wire: it needs firmware with OneWire support (ConfigurableFirmata).
    controller('DS18B20', oneWire(), j5('Thermometer', 'DS18B20'), temperature()),
  ]),
  kind('hygrometer', 'Relative humidity (I2C)', [
    controller('SHT31D', i2c(0x44), j5('Hygrometer', 'SHT31D'), humidity()),
    controller('HTU21D', i2c(0x40), j5('Hygrometer', 'HTU21D'), humidity()),
    controller('BME280', i2c(0x77), j5('Hygrometer', 'BME280'), humidity()),
  ]),
  kind('barometer', 'Air pressure (I2C)', [
    controller('BME280', i2c(0x77), j5('Barometer', 'BME280'), pressure()),
  ]),
  kind('multi', 'One I2C part with several readings', [
    controller(
      'BME280',
      i2c(0x77),
      j5('Multi', 'BME280'),
      temperature('thermometer.celsius'),
      humidity('hygrometer.relativeHumidity'),
      pressure('barometer.pressure'),
    ),
    controller(
      'SHT31D',
      i2c(0x44),
      j5('Multi', 'SHT31D'),
      temperature('thermometer.celsius'),
      humidity('hygrometer.relativeHumidity'),
    ),
    controller(
      'HTU21D',
      i2c(0x40),
      j5('Multi', 'HTU21D'),
      temperature('thermometer.celsius'),
      humidity('hygrometer.relativeHumidity'),
    ),
  ]),
  kind('light', 'Light: a photoresistor (relative level) or a BH1750 (lux)', [
    controller('ANALOG', analogIn(), j5('Light'), lightLevel()),
    controller('BH1750', i2c(0x23), j5('Light', 'BH1750'), illuminance()),
  ]),
  kind('motion', 'PIR motion detector: 1 on motion start, 0 on its end', [
    controller(
      'PIR',
      digitalIn(),
      j5('Motion'),
      binary('motion'),
      edges({ on: 'motionstart', off: 'motionend' }),
    ),
  ]),
  kind('button', 'Push button: 1 pressed, 0 released', [
    controller('BUTTON', digitalIn(), j5('Button'), binary('button'), edges({ on: 'press', off: 'release' })),
  ]),
  kind('switch', 'Switch or reed contact: 1 closed, 0 open', [
    controller(
      'SWITCH',
      digitalIn(),
      j5('Button'),
      binary('contact'),
      edges({ on: 'press', off: 'release' }),
    ),
  ]),
];

export const KINDS_BY_TYPE: ReadonlyMap<string, SensorKind> = new Map(SENSOR_KINDS.map((k) => [k.type, k]));

/** The controller a sensor of `type` uses: the one named (any case), else the kind's default. */
export function controllerFor(type: string, controller: string | undefined): ControllerDef | undefined {
  const kind = KINDS_BY_TYPE.get(type);
  return kind?.controllers[controller?.toUpperCase() ?? kind.defaultController];
}
