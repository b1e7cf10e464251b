import type { Ds18b20, I2cDevice } from './i2c.js';
import {
  END_SYSEX,
  from7BitPairs,
  I2C_MODE,
  ONEWIRE,
  pack7,
  START_SYSEX,
  SYSEX,
  split14,
  to7BitPairs,
  unpack7,
} from './protocol.js';

interface ContinuousRead {
  address: number;
  register: number | undefined;
  length: number;
}

/**
 * The virtual board's I2C and 1-Wire buses (Firmata i2c.md and onewire.md): requests
 * in, replies out through `reply`, continuous I2C reads repeated on every sample.
 */
export class Buses {
  readonly #continuous: ContinuousRead[] = [];
  readonly #i2c = new Map<number, I2cDevice>();
  readonly #pending = new Set<NodeJS.Timeout>();
  /** I2C_CONFIG's read delay: the firmware waits this long between selecting a register and reading it. */
  #i2cDelayMs = 0;

  constructor(
    private readonly reply: (bytes: number[]) => void,
    i2c: readonly I2cDevice[],
    private readonly oneWire: Record<number, Ds18b20[]>,
  ) {
    for (const d of i2c) this.#i2c.set(d.address, d);
  }

  i2cDevice(address: number): I2cDevice | undefined {
    return this.#i2c.get(address);
  }

  /** Firmata sends the delay as two bytes, LSB first; firmata-io sends them 8-bit wide. */
  i2cConfig(data: number[]): void {
    this.#i2cDelayMs = ((data[0] ?? 0) | ((data[1] ?? 0) << 7)) / 1000;
  }

  /** Every sample: answer the continuous reads. */
  tick(): void {
    for (const r of this.#continuous) this.i2cReply(r);
  }

  reset(): void {
    this.#continuous.length = 0;
    for (const t of this.#pending) clearTimeout(t);
    this.#pending.clear();
  }

  i2cRequest(data: number[]): void {
    const address = data[0]! | ((data[1]! & 0x07) << 7);
    const mode = (data[1]! >> 3) & 0x03;
    const bytes = from7BitPairs(data.slice(2));
    if (mode === I2C_MODE.WRITE) {
      this.#i2c.get(address)?.write(bytes);
      return;
    }
    if (mode === I2C_MODE.STOP) {
      for (let i = this.#continuous.length - 1; i >= 0; i--)
        if (this.#continuous[i]!.address === address) this.#continuous.splice(i, 1);
      return;
    }
    const read: ContinuousRead =
      bytes.length >= 2
        ? { address, register: bytes[0]!, length: bytes[1]! }
        : { address, register: undefined, length: bytes[0] ?? 0 };
    if (mode === I2C_MODE.CONTINUOUS) {
      this.#continuous.push(read);
      return;
    }
    // A read takes time on a real bus (and its delay); answering at once would let a
    // driver that reads again in its callback spin without ever yielding.
    const t = setTimeout(
      () => {
        this.#pending.delete(t);
        this.i2cReply(read);
      },
      Math.max(1, this.#i2cDelayMs),
    );
    this.#pending.add(t);
  }

  i2cReply(r: ContinuousRead): void {
    const device = this.#i2c.get(r.address);
    // No device answers at that address: real Firmata sends nothing back either.
    if (!device) return;
    const values = device.read(r.register, r.length);
    this.reply([
      START_SYSEX,
      SYSEX.I2C_REPLY,
      ...split14(r.address),
      ...split14(r.register ?? 0),
      ...to7BitPairs(values),
      END_SYSEX,
    ]);
  }

  oneWireRequest(data: number[]): void {
    const sub = data[0]!;
    const pin = data[1]!;
    const devices = this.oneWire[pin] ?? [];
    if (sub === ONEWIRE.CONFIG_REQUEST) return;
    if (sub === ONEWIRE.SEARCH_REQUEST) {
      const roms = devices.flatMap((d) => d.rom);
      this.reply([START_SYSEX, SYSEX.ONEWIRE_DATA, ONEWIRE.SEARCH_REPLY, pin, ...pack7(roms), END_SYSEX]);
      return;
    }
    if (!(sub & ONEWIRE.READ_BIT)) return; // reset, select, write, delay: nothing to answer
    const bytes = unpack7(data.slice(2));
    const rom = bytes.slice(0, 8);
    const count = bytes[8]! | (bytes[9]! << 8);
    const device = devices.find((d) => d.rom.every((b, i) => b === rom[i])) ?? devices[0];
    if (!device) return;
    this.reply([
      START_SYSEX,
      SYSEX.ONEWIRE_DATA,
      ONEWIRE.READ_REPLY,
      pin,
      ...pack7([bytes[10]!, bytes[11]!, ...device.scratchpad().slice(0, count)]),
      END_SYSEX,
    ]);
  }
}
