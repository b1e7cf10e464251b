/**
 * Pin names of an Arduino Uno/Nano as StandardFirmata numbers them: D0-D13, and
 * A0-A5 which are also digital pins 14-19. D0/D1 carry the serial link Firmata
 * talks over, so no sensor may use them.
 */
export interface PinRef {
  /** Firmata pin number 0-19. */
  pin: number;
  /** Analog channel, for A0-A5. */
  channel?: number;
  /** Canonical name: A0 or D7. */
  name: string;
}

export const ANALOG_CHANNELS = 6;
export const DIGITAL_PINS = 20;
export const SERIAL_PINS = [0, 1];

/** Parses "A0", "D7", "7" or 7. Returns undefined for anything else. */
export function parsePin(p: string | number): PinRef | undefined {
  const s = String(p).trim().toUpperCase();
  let m = /^A(\d+)$/.exec(s);
  if (m) {
    const ch = Number(m[1]);
    return ch < ANALOG_CHANNELS ? { pin: 14 + ch, channel: ch, name: `A${ch}` } : undefined;
  }
  m = /^D?(\d+)$/.exec(s);
  if (!m) return undefined;
  const pin = Number(m[1]);
  if (pin >= DIGITAL_PINS) return undefined;
  return pin >= 14 ? { pin, channel: pin - 14, name: `A${pin - 14}` } : { pin, name: `D${pin}` };
}
