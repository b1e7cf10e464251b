/** The canonical reading: every source ends up in this shape (see README, "Canonical reading"). */
export type ReadingSource = 'mqtt' | 'firmata' | 'simulator';
export type ReadingQuality = 'good' | 'uncertain' | 'stale';

export interface Reading {
  device: string;
  sensor: string;
  metric: string;
  /** Always finite; booleans become 0/1. */
  value: number;
  /** UCUM/SenML code of the metric's canonical unit. */
  unit: string;
  /** Epoch milliseconds of the measurement. */
  ts: number;
  source: ReadingSource;
  quality: ReadingQuality;
  /** Extra tags a device declares in config (e.g. location). */
  tags?: Readonly<Record<string, string>>;
}

/** Device and sensor ids share one alphabet so they are safe as topic levels and InfluxDB tags. */
export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}
