// What the ingest and pipeline benchmarks send, and how they summarize runs.

/** single: one number per message; multi: a JSON object of 8 sensors per message. */
export type BenchKind = 'single' | 'multi';

// Series per client: more than a client's window, so two messages of one series never
// arrive in one socket read (the same hub millisecond would overwrite in InfluxDB).
const SENSORS = 500;
const DEVICES = 150;

/** The payload of message `i`. */
export function payloadFor(kind: BenchKind, i: number): string {
  if (kind === 'single') return String(20 + (i % 100) / 10);
  const v = i % 100;
  return `{"temperature":${20 + v / 10},"humidity":${40 + v / 5},"pressure":${1000 + v},"illuminance":${v * 10},"voltage":${3 + v / 100},"co2":${400 + v},"power":${v},"energy":${i}}`;
}

/**
 * The topic of client `c`'s message `i`. Every series gets a reading only every
 * SENSORS messages of its client, so the hub-assigned millisecond timestamps never
 * collide within a series (a collision would overwrite in InfluxDB and the counts
 * would not be exact).
 */
export function topicFor(kind: BenchKind, c: number, i: number): string {
  return kind === 'single' ? `sensors/bench${c}/s${i % SENSORS}` : `sensors/bench${c}x${i % DEVICES}`;
}

/** The median of the runs (the lower middle one of an even number); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.floor((s.length - 1) / 2)]!;
}
