import type { QuarantineReason } from './errors.js';

/** What the hub could not read, kept with the raw bytes and the reason. */
export interface QuarantineEntry {
  /** Device id when the topic names one, else "_unknown". */
  device: string;
  topic: string;
  reason: QuarantineReason;
  /** Human-readable detail: which field, which value, what was expected. */
  detail: string;
  /** Raw payload, base64; cut to the quarantine's byte limit (see `truncated`). */
  payload: string;
  /** Full payload size in bytes. */
  size: number;
  truncated: boolean;
  receivedAt: number;
  clientId?: string;
}
