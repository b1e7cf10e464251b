/**
 * Firmata protocol constants and helpers, as in firmata/protocol (protocol.md,
 * i2c.md, onewire.md). Only what the virtual board answers is listed.
 */
export const REPORT_VERSION = 0xf9;
export const ANALOG_MESSAGE = 0xe0;
export const DIGITAL_MESSAGE = 0x90;
export const REPORT_ANALOG = 0xc0;
export const REPORT_DIGITAL = 0xd0;
export const SET_PIN_MODE = 0xf4;
export const SET_DIGITAL_PIN_VALUE = 0xf5;
export const START_SYSEX = 0xf0;
export const END_SYSEX = 0xf7;
export const SYSTEM_RESET = 0xff;

export const SYSEX = {
  ANALOG_MAPPING_QUERY: 0x69,
  ANALOG_MAPPING_RESPONSE: 0x6a,
  CAPABILITY_QUERY: 0x6b,
  CAPABILITY_RESPONSE: 0x6c,
  PIN_STATE_QUERY: 0x6d,
  PIN_STATE_RESPONSE: 0x6e,
  ONEWIRE_DATA: 0x73,
  I2C_REQUEST: 0x76,
  I2C_REPLY: 0x77,
  I2C_CONFIG: 0x78,
  REPORT_FIRMWARE: 0x79,
  SAMPLING_INTERVAL: 0x7a,
} as const;

export const PIN_MODE = {
  INPUT: 0x00,
  OUTPUT: 0x01,
  ANALOG: 0x02,
  PWM: 0x03,
  I2C: 0x06,
  ONEWIRE: 0x07,
  PULLUP: 0x0b,
} as const;

export const I2C_MODE = { WRITE: 0, READ: 1, CONTINUOUS: 2, STOP: 3 } as const;

export const ONEWIRE = {
  SEARCH_REQUEST: 0x40,
  CONFIG_REQUEST: 0x41,
  SEARCH_REPLY: 0x42,
  READ_REPLY: 0x43,
  RESET_BIT: 0x01,
  SKIP_BIT: 0x02,
  SELECT_BIT: 0x04,
  READ_BIT: 0x08,
  DELAY_BIT: 0x10,
  WRITE_BIT: 0x20,
} as const;

/** A 14-bit value as two 7-bit bytes, LSB first (every multi-byte Firmata value). */
export function split14(v: number): [number, number] {
  return [v & 0x7f, (v >> 7) & 0x7f];
}

/** Bytes as pairs of 7-bit bytes (I2C replies, firmware name). */
export function to7BitPairs(bytes: readonly number[]): number[] {
  return bytes.flatMap((b) => [b & 0x7f, (b >> 7) & 0x01]);
}

export function from7BitPairs(data: readonly number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < data.length; i += 2) out.push((data[i]! & 0x7f) | ((data[i + 1]! & 0x7f) << 7));
  return out;
}

/** The packed 7-bit encoding of OneWire payloads (Encoder7Bit in the Firmata sources). */
export function pack7(data: readonly number[]): number[] {
  const out: number[] = [];
  let shift = 0;
  let previous = 0;
  for (const byte of data) {
    if (shift === 0) {
      out.push(byte & 0x7f);
      shift = 1;
      previous = byte >> 7;
    } else {
      out.push(((byte << shift) & 0x7f) | previous);
      if (shift === 6) {
        out.push(byte >> 1);
        shift = 0;
      } else {
        shift++;
        previous = byte >> (8 - shift);
      }
    }
  }
  if (shift > 0) out.push(previous);
  return out;
}

export function unpack7(encoded: readonly number[]): number[] {
  const n = (encoded.length * 7) >> 3;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const j = i << 3;
    const pos = Math.floor(j / 7);
    const shift = j % 7;
    out.push(((encoded[pos]! >> shift) | ((encoded[pos + 1] ?? 0) << (7 - shift))) & 0xff);
  }
  return out;
}

/** Dallas/Maxim CRC-8, which 1-Wire ROM codes and scratchpads end with. */
export function crc8(data: readonly number[]): number {
  let crc = 0;
  for (let b of data) {
    for (let n = 8; n > 0; n--) {
      const mix = (crc ^ b) & 1;
      crc >>= 1;
      if (mix) crc ^= 0x8c;
      b >>= 1;
    }
  }
  return crc;
}
