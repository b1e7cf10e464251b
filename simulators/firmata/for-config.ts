import { controllerFor } from '../../devices/boards/kinds.js';
import { parsePin } from '../../devices/boards/pins.js';
import { Bme280 } from './bme280.js';
import { Bh1750, Ds18b20, Htu21d, type I2cDevice, Sht31d } from './i2c.js';
import { VirtualSerialPort } from './transport.js';
import { type Signal, VirtualFirmataBoard } from './virtual-board.js';

/** The subset of a board's config the model needs (hub/config/boards.ts). */
export interface ModelledSensor {
  type: string;
  controller?: string | undefined;
  pin?: string | number | undefined;
  address?: number | undefined;
  pullup?: boolean | undefined;
}

const MIN = 60_000;
const wave = (t: number, periodMs: number, phase = 0) => Math.sin((2 * Math.PI * t) / periodMs + phase);
/** A pulse of `onMs` every `periodMs`. */
const pulse =
  (periodMs: number, onMs: number, offset = 0): Signal =>
  (t) =>
    (t + offset) % periodMs < onMs ? 1 : 0;

/**
 * A virtual board wired like a configured one, with modelled signals: a slow
 * temperature wave, humidity that falls as it warms, pressure drifting around
 * 1013 hPa, a light level, and motion, button and switch events now and then.
 * This is what `port: virtual` and `sensor-hub demo` run. With `modelled: false` the
 * parts are wired as configured but nothing moves them: the values are the test's.
 */
export function virtualBoardFor(
  sensors: readonly ModelledSensor[],
  opts: { modelled?: boolean } = {},
): VirtualFirmataBoard {
  const signals: Record<string, Signal> = {};
  const i2c: I2cDevice[] = [];
  const oneWire: Record<number, Ds18b20[]> = {};
  const models: Array<(t: number) => void> = [];
  const temp = (t: number) => 21 + 3 * wave(t, 10 * MIN);
  const hum = (t: number) => 50 - 10 * wave(t, 10 * MIN);
  const press = (t: number) => 101_325 + 300 * wave(t, 30 * MIN);
  sensors.forEach((s, i) => {
    const pin = s.pin === undefined ? undefined : parsePin(s.pin);
    const ctrl = s.controller?.toUpperCase();
    const analog = pin?.channel !== undefined ? `A${pin.channel}` : undefined;
    const digital = pin ? `D${pin.pin}` : undefined;
    switch (s.type) {
      case 'analog':
        if (analog) signals[analog] = (t) => 2500 + 1500 * wave(t, 2 * MIN, i);
        break;
      case 'light':
        if (ctrl === 'BH1750') {
          const dev = new Bh1750(s.address);
          i2c.push(dev);
          models.push((t) => {
            dev.lux = 400 + 300 * wave(t, 5 * MIN, i);
          });
        } else if (analog) signals[analog] = (t) => 2500 + 2000 * wave(t, 5 * MIN, i);
        break;
      case 'thermometer':
        if (ctrl === 'DS18B20' && pin) {
          const d = new Ds18b20(i + 1);
          oneWire[pin.pin] = [...(oneWire[pin.pin] ?? []), d];
          models.push((t) => {
            d.temperature = temp(t);
          });
        } else if (analog) {
          // TMP36: 500 mV at 0 °C; LM35: 0 mV at 0 °C; both 10 mV/°C.
          const zero = ctrl === 'LM35' ? 0 : 500;
          signals[analog] = (t) => zero + 10 * temp(t);
        }
        break;
      case 'hygrometer':
      case 'barometer':
      case 'multi': {
        const part = controllerFor(s.type, ctrl)?.name;
        const dev =
          part === 'BME280'
            ? new Bme280(s.address)
            : part === 'HTU21D'
              ? new Htu21d(s.address)
              : new Sht31d(s.address);
        if (i2c.some((d) => d.address === dev.address)) break;
        i2c.push(dev);
        models.push((t) => {
          dev.temperature = temp(t);
          dev.humidity = hum(t);
          if (dev instanceof Bme280) dev.pressure = press(t);
        });
        break;
      }
      case 'motion':
        if (digital) signals[digital] = pulse(30_000, 5000, i * 7000);
        break;
      case 'button':
      case 'switch': {
        if (!digital) break;
        const pressed = s.type === 'button' ? pulse(20_000, 500, i * 3000) : pulse(90_000, 45_000, i * 5000);
        // Wired to ground with the pull-up, a pressed button reads LOW.
        signals[digital] = s.pullup ? (t) => 1 - pressed(t) : pressed;
        break;
      }
    }
  });
  // Unmodelled, the parts are wired but hold still: a test sets each value itself.
  if (opts.modelled === false) return new VirtualFirmataBoard({ i2c, oneWire });
  return new VirtualFirmataBoard({ signals, i2c, oneWire, models });
}

/**
 * Opens a configured `port: virtual` board in process: the virtual-board opener the CLI
 * and tests pass to startHub (option boards.openVirtual).
 */
export function openVirtualBoard(board: {
  id: string;
  sensors: readonly ModelledSensor[];
}): VirtualSerialPort {
  return new VirtualSerialPort(virtualBoardFor(board.sensors), `virtual:${board.id}`);
}

/**
 * The opener startHub takes as boards.openVirtual, for boards a test drives: the board
 * given for a board id is the one the hub talks to on every (re)connect, so its values,
 * pins and unplug() stay the test's; other `port: virtual` boards get modelled signals.
 */
export function virtualBoardOpener(
  boards: Readonly<Record<string, VirtualFirmataBoard>> | ReadonlyMap<string, VirtualFirmataBoard>,
): (board: { id: string; sensors: readonly ModelledSensor[] }) => VirtualSerialPort {
  const byId = boards instanceof Map ? boards : new Map(Object.entries(boards));
  return (board) => {
    const own = byId.get(board.id);
    return own ? new VirtualSerialPort(own, `virtual:${board.id}`) : openVirtualBoard(board);
  };
}
