import type { RawMessage, ReadingQuality } from '../hub/core/reading.js';
import type { RejectError } from '../hub/errors.js';

/** What a decoder makes of a message: one candidate per sensor value, not yet validated. */
export interface Candidate {
  device: string;
  sensor: string;
  /** Omitted: inferred from the sensor name, else the sensor name itself. */
  metric?: string;
  value: unknown;
  /** As the device wrote it ("°F", "hPa"); omitted: the metric's canonical unit. */
  unit?: string;
  /** Device time: epoch ms or s, or an ISO 8601 string; omitted: receive time. */
  ts?: unknown;
  quality?: ReadingQuality;
  /** Set when the decoder could not read this one sensor; its siblings still go through. */
  reject?: RejectError;
}

/**
 * A payload format as data: which topics it reads and how it maps them to
 * candidates. decode() throws RejectError for what it cannot read.
 */
export interface DecoderDefinition {
  name: string;
  /** MQTT topic filters it reads, for documentation and routing. */
  topics: readonly string[];
  /** Whether this decoder handles the topic (split into levels). */
  match(levels: readonly string[]): boolean;
  /** The device a topic names, for quarantine entries; undefined when none. */
  deviceOf(levels: readonly string[]): string | undefined;
  decode(msg: RawMessage, levels: readonly string[]): Candidate[];
}
