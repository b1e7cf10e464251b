import type { Availability } from '../hub/core/bus.js';
import type { RejectError } from '../hub/core/errors.js';
import type { RawMessage } from '../hub/core/raw-message.js';
import type { ReadingQuality } from '../hub/core/reading.js';
import type { MetaCache } from './meta-cache.js';

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

/** A device's own word on whether it is up (LWT, ESPHome status, Homie $state, ...). */
export interface AvailabilityNote {
  device: string;
  state: Availability;
}

/** The full answer of a decoder: readings and availability, either may be empty. */
export interface DecodeResult {
  candidates: Candidate[];
  availability?: AvailabilityNote[];
}

/** What decoders share: a bounded cache of metadata learned from retained topics. */
export interface DecodeContext {
  meta: MetaCache;
}

/**
 * A payload format as data: which topics it reads and how it maps them to
 * candidates. decode() throws RejectError for what it cannot read. It returns
 * plain candidates, or a DecodeResult when the topic also (or only) tells about
 * availability; a metadata topic returns no candidates and is not quarantined.
 */
export interface DecoderDefinition {
  name: string;
  /** MQTT topic filters it reads, for documentation and routing. */
  topics: readonly string[];
  /** Whether this decoder handles the topic (split into levels). */
  match(levels: readonly string[]): boolean;
  /** The device a topic names, for quarantine entries; undefined when none. */
  deviceOf(levels: readonly string[]): string | undefined;
  decode(msg: RawMessage, levels: readonly string[], ctx: DecodeContext): Candidate[] | DecodeResult;
}

export function asResult(out: Candidate[] | DecodeResult): DecodeResult {
  return Array.isArray(out) ? { candidates: out } : out;
}
