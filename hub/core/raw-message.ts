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
  /** MQTT 5 properties of the publish, when it had any (the fast path takes only those without). */
  mqtt?: Mqtt5Properties;
}

/** The MQTT 5 PUBLISH properties decoders may use [MQTT-3.3.2.3]. */
export interface Mqtt5Properties {
  userProperties?: Readonly<Record<string, string | string[]>>;
  contentType?: string;
  /** True: the payload is declared UTF-8 text. */
  payloadFormatIndicator?: boolean;
  /** Seconds the message is valid for, as sent. */
  messageExpiryInterval?: number;
}
