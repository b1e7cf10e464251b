import type { ReadingSource } from './reading.js';

/** A message as it entered the hub, before any decoding. */
export interface RawMessage {
  topic: string;
  payload: Buffer;
  /** Hub receive time, epoch ms. */
  receivedAt: number;
  source: ReadingSource;
  /** MQTT client id of the publisher, when there is one. */
  clientId?: string;
}
