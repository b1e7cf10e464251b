import { Buses } from './buses.js';
import type { Ds18b20, I2cDevice } from './i2c.js';
import {
  ANALOG_MESSAGE,
  DIGITAL_MESSAGE,
  END_SYSEX,
  PIN_MODE,
  REPORT_ANALOG,
  REPORT_DIGITAL,
  REPORT_VERSION,
  SET_DIGITAL_PIN_VALUE,
  SET_PIN_MODE,
  START_SYSEX,
  SYSEX,
  SYSTEM_RESET,
  split14,
  to7BitPairs,
} from './protocol.js';

/** A signal over time: millivolts for analog inputs, 0/1 for digital inputs. */
export type Signal = (tMs: number) => number;

export interface VirtualBoardOptions {
  /** Firmware name it reports (StandardFirmata reports "StandardFirmata.ino"). */
  firmware?: string;
  i2c?: I2cDevice[];
  /** 1-Wire devices by digital pin. */
  oneWire?: Record<number, Ds18b20[]>;
  /** Modelled inputs by pin name ("A0".."A5": millivolts; "D2".."D13": level), read every sample. */
  signals?: Record<string, Signal>;
  /** Called every sample with the board's time, to move modelled I2C/1-Wire devices. */
  models?: Array<(tMs: number) => void>;
}

/** An Arduino Uno's pin layout: D0-D13, A0-A5 on pins 14-19; PWM on 3, 5, 6, 9, 10, 11; I2C on A4/A5. */
const PIN_COUNT = 20;
const PWM_PINS = new Set([3, 5, 6, 9, 10, 11]);
const VREF_MV = 5000;

interface PinState {
  mode: number;
  /** Level driven from outside (inputs). */
  input: number;
  /** Level or duty the host wrote (outputs). */
  output: number;
}

/**
 * A virtual Arduino Uno running Firmata 2.5: version, firmware name, capabilities, analog
 * mapping, analog and digital reporting, I2C and 1-Wire (buses.ts) with modelled devices.
 * It talks through attach(): in process (VirtualSerialPort) or on a pty (exposeOnPty).
 */
export class VirtualFirmataBoard {
  readonly #pins: PinState[] = Array.from({ length: PIN_COUNT }, () => ({
    mode: PIN_MODE.OUTPUT,
    input: 0,
    output: 0,
  }));
  readonly #mv = new Array<number>(6).fill(0);
  readonly #analogReport = new Set<number>();
  readonly #portReport = new Set<number>();
  readonly #lastPort = new Map<number, number>();
  readonly #buses: Buses;
  readonly #signals: Record<string, Signal>;
  readonly #models: Array<(tMs: number) => void>;
  readonly #firmware: string;
  #samplingMs = 19;
  #timer: NodeJS.Timeout | undefined;
  #send: ((bytes: Buffer) => void) | undefined;
  #rx: number[] = [];
  #onUnplug: (() => void) | undefined;
  #unplugged = false;
  readonly #t0 = Date.now();
  /** Messages sent to the host, for benchmarks and tests. */
  sent = 0;

  constructor(opts: VirtualBoardOptions = {}) {
    this.#firmware = opts.firmware ?? 'VirtualFirmata';
    this.#buses = new Buses((bytes) => this.#reply(bytes), opts.i2c ?? [], opts.oneWire ?? {});
    this.#signals = { ...opts.signals };
    this.#models = opts.models ?? [];
  }

  /** Drives an analog input (channel 0-5) in millivolts against a 5 V reference. */
  setMillivolts(channel: number, mv: number): void {
    this.#mv[channel] = Math.min(Math.max(mv, 0), VREF_MV);
  }

  /** Drives a digital input level; a change is reported at once, as the firmware's loop does. */
  setDigital(pin: number, level: 0 | 1): void {
    this.#pins[pin]!.input = level;
    this.#reportPortIfChanged(pin >> 3);
  }

  /** Replaces or adds a modelled signal ("A0" millivolts, "D2" level). */
  drive(pin: string, signal: Signal): void {
    this.#signals[pin] = signal;
  }

  /** The part at an I2C address, to set what it measures (`temperature`, `humidity`, `lux`, ...). */
  i2cDevice<T extends I2cDevice>(address: number): T | undefined {
    return this.#buses.i2cDevice(address) as T | undefined;
  }

  /** True while the board is unplugged. */
  get unplugged(): boolean {
    return this.#unplugged;
  }

  /**
   * Pulls the USB cable: the host's port closes, and opening it fails until replug().
   * The hub reports the board offline, and online again after the replug.
   */
  unplug(): void {
    this.#unplugged = true;
    const lost = this.#onUnplug;
    this.#detach();
    lost?.();
  }

  /** Plugs the cable back in: the host's next attempt to open the port succeeds. */
  replug(): void {
    this.#unplugged = false;
  }

  /**
   * Connects a host link. Like an Uno's auto-reset on open, the board then boots:
   * it announces its version and firmware name. `onUnplug` hears of unplug().
   * Throws while the board is unplugged, as opening a missing port does.
   */
  attach(
    send: (bytes: Buffer) => void,
    onUnplug?: () => void,
  ): { receive(bytes: Uint8Array): void; detach(): void } {
    if (this.#unplugged) throw new Error('the virtual board is unplugged');
    this.#detach();
    this.#send = send;
    this.#onUnplug = onUnplug;
    this.#reset();
    this.#timer = setInterval(() => this.#tick(), this.#samplingMs);
    this.#timer.unref();
    this.#reply([REPORT_VERSION, 2, 5]);
    this.#replyFirmware();
    return { receive: (bytes) => this.#receive(bytes), detach: () => this.#detach() };
  }

  #detach(): void {
    clearInterval(this.#timer);
    this.#buses.reset();
    this.#timer = undefined;
    this.#send = undefined;
    this.#onUnplug = undefined;
  }

  #reset(): void {
    this.#analogReport.clear();
    this.#portReport.clear();
    this.#buses.reset();
    this.#rx = [];
  }

  #reply(bytes: number[]): void {
    this.sent++;
    this.#send?.(Buffer.from(bytes));
  }

  #replyFirmware(): void {
    const name = [...Buffer.from(this.#firmware, 'ascii')];
    this.#reply([START_SYSEX, SYSEX.REPORT_FIRMWARE, 2, 5, ...to7BitPairs(name), END_SYSEX]);
  }

  #receive(bytes: Uint8Array): void {
    for (const b of bytes) {
      // Inside a sysex every byte up to END_SYSEX is data, as in the firmware's parser
      // (firmata-io sends I2C_CONFIG's delay as raw 8-bit bytes).
      if (b & 0x80 && this.#rx[0] !== START_SYSEX) this.#rx = [];
      this.#rx.push(b);
      if (this.#complete()) {
        const msg = this.#rx;
        this.#rx = [];
        this.#handle(msg);
      }
    }
  }

  #complete(): boolean {
    const first = this.#rx[0]!;
    if (first === START_SYSEX) return this.#rx[this.#rx.length - 1] === END_SYSEX && this.#rx.length > 1;
    if (first === REPORT_VERSION || first === SYSTEM_RESET) return true;
    const cmd = first < 0xf0 ? first & 0xf0 : first;
    if (cmd === REPORT_ANALOG || cmd === REPORT_DIGITAL) return this.#rx.length === 2;
    if ((first & 0x80) === 0) {
      this.#rx = []; // data byte without a command: out of sync, drop it
      return false;
    }
    return this.#rx.length === 3;
  }

  #handle(m: number[]): void {
    const first = m[0]!;
    const cmd = first < 0xf0 ? first & 0xf0 : first;
    switch (cmd) {
      case REPORT_VERSION:
        this.#reply([REPORT_VERSION, 2, 5]);
        return;
      case SYSTEM_RESET:
        this.#reset();
        return;
      case SET_PIN_MODE: {
        const pin = this.#pins[m[1]!];
        if (pin) pin.mode = m[2]!;
        if (pin && pin.mode === PIN_MODE.PULLUP && pin.input === 0 && !this.#signals[`D${m[1]}`])
          pin.input = 1;
        return;
      }
      case SET_DIGITAL_PIN_VALUE: {
        const pin = this.#pins[m[1]!];
        if (pin) pin.output = m[2]!;
        return;
      }
      case REPORT_ANALOG:
        if (m[1]) this.#analogReport.add(first & 0x0f);
        else this.#analogReport.delete(first & 0x0f);
        return;
      case REPORT_DIGITAL:
        if (m[1]) {
          this.#portReport.add(first & 0x0f);
          this.#lastPort.delete(first & 0x0f);
          this.#reportPortIfChanged(first & 0x0f);
        } else this.#portReport.delete(first & 0x0f);
        return;
      case DIGITAL_MESSAGE: {
        const port = first & 0x0f;
        const bits = m[1]! | (m[2]! << 7);
        for (let i = 0; i < 8; i++) {
          const pin = this.#pins[port * 8 + i];
          if (pin && pin.mode === PIN_MODE.OUTPUT) pin.output = (bits >> i) & 1;
        }
        return;
      }
      case START_SYSEX:
        this.#sysex(m[1]!, m.slice(2, -1));
        return;
    }
  }

  #sysex(cmd: number, data: number[]): void {
    switch (cmd) {
      case SYSEX.REPORT_FIRMWARE:
        this.#replyFirmware();
        return;
      case SYSEX.CAPABILITY_QUERY:
        this.#reply([START_SYSEX, SYSEX.CAPABILITY_RESPONSE, ...this.#capabilities(), END_SYSEX]);
        return;
      case SYSEX.ANALOG_MAPPING_QUERY: {
        const map = this.#pins.map((_, i) => (i >= 14 ? i - 14 : 0x7f));
        this.#reply([START_SYSEX, SYSEX.ANALOG_MAPPING_RESPONSE, ...map, END_SYSEX]);
        return;
      }
      case SYSEX.PIN_STATE_QUERY: {
        const pin = this.#pins[data[0]!];
        if (!pin) return;
        const state = pin.mode === PIN_MODE.OUTPUT ? pin.output : pin.input;
        this.#reply([START_SYSEX, SYSEX.PIN_STATE_RESPONSE, data[0]!, pin.mode, state & 0x7f, END_SYSEX]);
        return;
      }
      case SYSEX.SAMPLING_INTERVAL: {
        // Firmata clamps the interval to at least 1 ms (MINIMUM_SAMPLING_INTERVAL in StandardFirmata is 1).
        this.#samplingMs = Math.max(1, data[0]! | (data[1]! << 7));
        if (this.#timer) {
          clearInterval(this.#timer);
          this.#timer = setInterval(() => this.#tick(), this.#samplingMs);
          this.#timer.unref();
        }
        return;
      }
      case SYSEX.I2C_CONFIG:
        this.#buses.i2cConfig(data);
        return;
      case SYSEX.I2C_REQUEST:
        this.#buses.i2cRequest(data);
        return;
      case SYSEX.ONEWIRE_DATA:
        this.#buses.oneWireRequest(data);
        return;
    }
  }

  #capabilities(): number[] {
    const out: number[] = [];
    for (let i = 0; i < PIN_COUNT; i++) {
      if (i > 1) out.push(PIN_MODE.INPUT, 1, PIN_MODE.OUTPUT, 1, PIN_MODE.PULLUP, 1, PIN_MODE.ONEWIRE, 1);
      if (PWM_PINS.has(i)) out.push(PIN_MODE.PWM, 8);
      if (i >= 14) out.push(PIN_MODE.ANALOG, 10);
      if (i === 18 || i === 19) out.push(PIN_MODE.I2C, 1);
      out.push(0x7f);
    }
    return out;
  }

  #tick(): void {
    const t = Date.now() - this.#t0;
    for (const model of this.#models) model(t);
    for (const [name, signal] of Object.entries(this.#signals)) {
      const n = Number(name.slice(1));
      if (name[0] === 'A') this.setMillivolts(n, signal(t));
      else if (name[0] === 'D') this.setDigital(n, signal(t) ? 1 : 0);
    }
    for (const ch of this.#analogReport) {
      const raw = Math.round((this.#mv[ch]! / VREF_MV) * 1023);
      this.#reply([ANALOG_MESSAGE | ch, ...split14(raw)]);
    }
    this.#buses.tick();
  }

  #reportPortIfChanged(port: number): void {
    if (!this.#portReport.has(port)) return;
    let bits = 0;
    for (let i = 0; i < 8; i++) {
      const pin = this.#pins[port * 8 + i];
      if (!pin) continue;
      const level = pin.mode === PIN_MODE.OUTPUT ? pin.output : pin.input;
      if (level) bits |= 1 << i;
    }
    if (this.#lastPort.get(port) === bits) return;
    this.#lastPort.set(port, bits);
    this.#reply([DIGITAL_MESSAGE | port, ...split14(bits)]);
  }
}
