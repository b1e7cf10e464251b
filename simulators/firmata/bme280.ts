/**
 * A BME280 as a register map: the calibration words of the Bosch datasheet's
 * example part, and raw ADC values found by inverting its integer compensation
 * formulas (BME280 datasheet 4.2.3), so a driver that reads it computes the
 * temperature, pressure and humidity set here.
 */
import type { I2cDevice } from './i2c.js';

const CAL = {
  T1: 27504,
  T2: 26435,
  T3: -1000,
  P1: 36477,
  P2: -10685,
  P3: 3024,
  P4: 2855,
  P5: 140,
  P6: -7,
  P7: 15500,
  P8: -14600,
  P9: 6000,
  H1: 75,
  H2: 362,
  H3: 0,
  H4: 313,
  H5: 50,
  H6: 30,
};

function tFine(adcT: number): number {
  const v1 = (((adcT >> 3) - (CAL.T1 << 1)) * CAL.T2) >> 11;
  const v2 = (((((adcT >> 4) - CAL.T1) * ((adcT >> 4) - CAL.T1)) >> 12) * CAL.T3) >> 14;
  return v1 + v2;
}

/** bme280_compensate_T_int32: °C. */
function compensateT(adcT: number): number {
  return ((tFine(adcT) * 5 + 128) >> 8) / 100;
}

/** bmp280_compensate_P_int32: Pa. */
function compensateP(adcP: number, fine: number): number {
  let v1 = (fine >> 1) - 64000;
  let v2 = (((v1 >> 2) * (v1 >> 2)) >> 11) * CAL.P6;
  v2 += (v1 * CAL.P5) << 1;
  v2 = (v2 >> 2) + (CAL.P4 << 16);
  v1 = (((CAL.P3 * (((v1 >> 2) * (v1 >> 2)) >> 13)) >> 3) + ((CAL.P2 * v1) >> 1)) >> 18;
  v1 = ((32768 + v1) * CAL.P1) >> 15;
  if (v1 === 0) return 0;
  let p = ((1048576 - adcP - (v2 >> 12)) >>> 0) * 3125;
  p = p < 2 ** 31 ? ((p << 1) >>> 0) / (v1 >>> 0) : ((p / (v1 >>> 0)) >>> 0) * 2;
  p >>>= 0;
  v1 = (CAL.P9 * (((p >> 3) * (p >> 3)) >> 13)) >> 12;
  v2 = ((p >> 2) * CAL.P8) >> 13;
  return (p + ((v1 + v2 + CAL.P7) >> 4)) >>> 0;
}

/** bme280_compensate_H_int32: %RH. */
function compensateH(adcH: number, fine: number): number {
  let vx = fine - 76800;
  vx =
    ((((adcH << 14) - (CAL.H4 << 20) - CAL.H5 * vx + 16384) >> 15) *
      (((((((vx * CAL.H6) >> 10) * (((vx * CAL.H3) >> 11) + 32768)) >> 10) + 2097152) * CAL.H2 + 8192) >>
        14)) |
    0;
  vx -= ((((vx >> 15) * (vx >> 15)) >> 7) * CAL.H1) >> 4;
  vx = Math.min(Math.max(vx, 0), 419430400);
  return (vx >> 12) / 1024;
}

/** Smallest raw value in [lo, hi] whose compensated value reaches target (f monotonic). */
function invert(f: (raw: number) => number, target: number, lo: number, hi: number, rising: boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const v = f(mid);
    if (rising ? v < target : v > target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Bme280 implements I2cDevice {
  readonly address: number;
  temperature = 21.5;
  pressure = 101_325;
  humidity = 45;
  #pointer = 0;

  constructor(address = 0x77) {
    this.address = address;
  }

  write(bytes: readonly number[]): void {
    // The first byte of a write selects a register; the rest (control settings) are accepted.
    if (bytes.length > 0) this.#pointer = bytes[0]!;
  }

  read(register: number | undefined, length: number): number[] {
    const start = register ?? this.#pointer;
    const regs = this.#registers();
    return Array.from({ length }, (_, i) => regs.get(start + i) ?? 0);
  }

  #registers(): Map<number, number> {
    const m = new Map<number, number>();
    m.set(0xd0, 0x60); // chip id
    const le16 = (at: number, v: number) => {
      m.set(at, v & 0xff);
      m.set(at + 1, (v >> 8) & 0xff);
    };
    const tp = [
      CAL.T1,
      CAL.T2,
      CAL.T3,
      CAL.P1,
      CAL.P2,
      CAL.P3,
      CAL.P4,
      CAL.P5,
      CAL.P6,
      CAL.P7,
      CAL.P8,
      CAL.P9,
    ];
    tp.forEach((v, i) => {
      le16(0x88 + 2 * i, v);
    });
    m.set(0xa1, CAL.H1);
    le16(0xe1, CAL.H2);
    m.set(0xe3, CAL.H3);
    m.set(0xe4, (CAL.H4 >> 4) & 0xff);
    m.set(0xe5, (CAL.H4 & 0x0f) | ((CAL.H5 & 0x0f) << 4));
    m.set(0xe6, (CAL.H5 >> 4) & 0xff);
    m.set(0xe7, CAL.H6 & 0xff);
    const adcT = invert(compensateT, this.temperature, 0, 0xfffff, true);
    const fine = tFine(adcT);
    const adcP = invert((r) => compensateP(r, fine), this.pressure, 0, 0xfffff, false);
    const adcH = invert((r) => compensateH(r, fine), this.humidity, 0, 0xffff, true);
    const be20 = (at: number, v: number) => {
      m.set(at, (v >> 12) & 0xff);
      m.set(at + 1, (v >> 4) & 0xff);
      m.set(at + 2, (v << 4) & 0xf0);
    };
    be20(0xf7, adcP);
    be20(0xfa, adcT);
    m.set(0xfd, (adcH >> 8) & 0xff);
    m.set(0xfe, adcH & 0xff);
    return m;
  }
}
