// mqtt-packet for tests that build or read packets as bytes: the one place tests import
// it (hub/mqtt/aedes-internals.ts is the one place the hub does).
import mqttPacket, { type Packet } from 'mqtt-packet';

export type { Packet };

/** A packet's bytes. */
export function generate(packet: Packet): Buffer {
  return mqttPacket.generate(packet);
}

/** A streaming parser: feed it with parse(bytes), read packets from its 'packet' event. */
export function parser(): ReturnType<typeof mqttPacket.parser> {
  return mqttPacket.parser();
}
