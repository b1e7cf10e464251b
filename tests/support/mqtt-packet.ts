// mqtt-packet for tests that build or read packets as bytes: the one place tests import
// it (hub/mqtt/aedes-internals.ts is the one place the hub does).
import mqttPacket, { type Packet } from 'mqtt-packet';

export type { Packet };

/** A packet's bytes, in MQTT 3.1.1 unless told 5. */
export function generate(packet: Packet, protocolVersion: 4 | 5 = 4): Buffer {
  return mqttPacket.generate(packet, { protocolVersion });
}

/** A streaming parser: feed it with parse(bytes), read packets from its 'packet' event. */
export function parser(protocolVersion: 4 | 5 = 4): ReturnType<typeof mqttPacket.parser> {
  return mqttPacket.parser({ protocolVersion });
}
