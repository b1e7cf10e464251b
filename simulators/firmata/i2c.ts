import { crc8 } from './protocol.js';

/** A device on the virtual board's I2C bus. */
export interface I2cDevice {
  readonly address: number;
  write(bytes: readonly number[]): void;
  /** register undefined: a plain read from wherever the device's pointer is. */
  read(register: number | undefined, length: number): number[];
}

/** Sensirion CRC-8 (polynomial 0x31, init 0xFF) of SHT3x words. */
function sensirionCrc(a: number, b: number): number {
  let crc = 0xff;
  for (const byte of [a, b]) {
    crc ^= byte;
    for (let i = 0; i < 8; i++) crc = crc & 0x80 ? ((crc << 1) ^ 0x31) & 0xff : (crc << 1) & 0xff;
  }
  return crc;
}

/** SHT31-D: a measure command, then 6 bytes (T msb, lsb, crc, RH msb, lsb, crc); datasheet 4.4, 4.13. */
export class Sht31d implements I2cDevice {
  temperature = 22;
  humidity = 50;
  constructor(readonly address = 0x44) {}
  write(): void {}
  read(_register: number | undefined, length: number): number[] {
    const t = Math.round(((this.temperature + 45) / 175) * 65535);
    const h = Math.round((this.humidity / 100) * 65535);
    const out = [t >> 8, t & 0xff, sensirionCrc(t >> 8, t & 0xff), h >> 8, h & 0xff, 0];
    out[5] = sensirionCrc(out[3]!, out[4]!);
    return out.slice(0, length);
  }
}

/** HTU21D: register 0xE3 temperature, 0xE5 humidity, 2 bytes each (datasheet "conversion of signal outputs"). */
export class Htu21d implements I2cDevice {
  temperature = 23;
  humidity = 40;
  constructor(readonly address = 0x40) {}
  write(): void {}
  read(register: number | undefined, length: number): number[] {
    const raw =
      register === 0xe5
        ? Math.round(((this.humidity + 6) / 125) * 65536)
        : Math.round(((this.temperature + 46.85) / 175.72) * 65536);
    return [(raw >> 8) & 0xff, raw & 0xfc, 0].slice(0, length);
  }
}

/** DS18B20 on a 1-Wire pin: ROM code and a scratchpad with the temperature in 1/16 °C. */
export class Ds18b20 {
  temperature = 20;
  readonly rom: number[];
  constructor(serial = 1) {
    const rom = [0x28, serial & 0xff, (serial >> 8) & 0xff, 0, 0, 0, 0];
    this.rom = [...rom, crc8(rom)];
  }
  scratchpad(): number[] {
    const raw = Math.round(this.temperature * 16) & 0xffff;
    const pad = [raw & 0xff, raw >> 8, 0x4b, 0x46, 0x7f, 0xff, 0x0c, 0x10];
    return [...pad, crc8(pad)];
  }
}

/** BH1750 in continuous H-resolution mode: 2 bytes, big-endian, 1.2 counts per lux (datasheet p. 2). */
export class Bh1750 implements I2cDevice {
  lux = 300;
  constructor(readonly address = 0x23) {}
  write(): void {}
  read(_register: number | undefined, length: number): number[] {
    const raw = Math.min(0xffff, Math.round(this.lux * 1.2));
    return [raw >> 8, raw & 0xff].slice(0, length);
  }
}
