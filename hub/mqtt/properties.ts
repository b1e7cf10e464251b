/**
 * MQTT 5 properties as bytes [MQTT-2.2.2]: the framer walks a packet's properties block
 * to check it and to find a topic alias, without decoding it into objects (Aedes's
 * parser does that for the packets it handles).
 */
import { isUtf8 } from 'node:buffer';

/** Property identifier of Topic Alias (a two-byte integer) [MQTT-3.3.2.3.4]. */
export const TOPIC_ALIAS = 0x23;

// Value shapes by property identifier: 1, 2, 4 bytes, variable byte integer, UTF-8
// string, binary data, string pair; 0: not a property.
const BYTE = 1;
const TWO = 2;
const FOUR = 4;
const VBI = 5;
const UTF8 = 6;
const BINARY = 7;
const PAIR = 8;
const SHAPE = new Uint8Array(0x2b);
for (const id of [0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2a]) SHAPE[id] = BYTE;
for (const id of [0x13, 0x21, 0x22, 0x23]) SHAPE[id] = TWO;
for (const id of [0x02, 0x11, 0x18, 0x27]) SHAPE[id] = FOUR;
SHAPE[0x0b] = VBI;
for (const id of [0x03, 0x08, 0x12, 0x15, 0x1a, 0x1c, 0x1f]) SHAPE[id] = UTF8;
for (const id of [0x09, 0x16]) SHAPE[id] = BINARY;
SHAPE[0x26] = PAIR;

/**
 * Result of the last readVarInt or scanProperties, in one reused object: these run per
 * packet and must not allocate.
 */
export const scanned = {
  /** Offset after what was read. */
  end: 0,
  /** readVarInt: the value. */
  value: 0,
  /** scanProperties: the Topic Alias, 0 if none. */
  topicAlias: 0,
  /** scanProperties: how many properties the block has. */
  count: 0,
  /** scanProperties: why the block is malformed ('' if it is not). */
  problem: '',
};

/** A Variable Byte Integer at buf[at], before `end`; false if it is cut off or longer than 4 bytes. */
export function readVarInt(buf: Buffer, at: number, end: number): boolean {
  let value = 0;
  let mul = 1;
  for (let n = 0; n < 4; n++) {
    if (at >= end) return false;
    const b = buf[at++]!;
    value += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) {
      scanned.value = value;
      scanned.end = at;
      return true;
    }
    mul *= 128;
  }
  return false;
}

function utf8(buf: Buffer, from: number, to: number): boolean {
  const bytes = buf.subarray(from, to);
  return bytes.indexOf(0) === -1 && isUtf8(bytes);
}

/**
 * Walks the properties block at buf[at] (its length first), which must end by `end`.
 * True if well formed (scanned.end is the offset after it, scanned.topicAlias the topic
 * alias); false with scanned.problem otherwise.
 */
export function scanProperties(buf: Buffer, at: number, end: number): boolean {
  scanned.topicAlias = 0;
  scanned.count = 0;
  scanned.problem = '';
  if (!readVarInt(buf, at, end)) {
    scanned.problem = 'properties length cut off or over 4 bytes [MQTT-2.2.2-1]';
    return false;
  }
  const stop = scanned.end + scanned.value;
  if (stop > end) {
    scanned.problem = 'properties longer than the packet';
    return false;
  }
  let p = scanned.end;
  let alias = 0;
  let count = 0;
  while (p < stop) {
    const id = buf[p++]!;
    const shape = id < SHAPE.length ? SHAPE[id]! : 0;
    count++;
    switch (shape) {
      case BYTE:
        p += 1;
        break;
      case TWO:
        if (id === TOPIC_ALIAS && p + 2 <= stop) alias = buf.readUInt16BE(p);
        p += 2;
        break;
      case FOUR:
        p += 4;
        break;
      case VBI:
        if (!readVarInt(buf, p, stop)) {
          scanned.problem = `property ${id} cut off`;
          return false;
        }
        p = scanned.end;
        break;
      case UTF8:
      case BINARY: {
        const to = p + 2 <= stop ? p + 2 + buf.readUInt16BE(p) : stop + 1;
        if (to > stop) break;
        if (shape === UTF8 && !utf8(buf, p + 2, to)) {
          scanned.problem = `property ${id} is not well-formed UTF-8 without U+0000 [MQTT-1.5.4-1]`;
          return false;
        }
        p = to;
        break;
      }
      case PAIR: {
        for (let k = 0; k < 2; k++) {
          const to = p + 2 <= stop ? p + 2 + buf.readUInt16BE(p) : stop + 1;
          if (to > stop) {
            p = to;
            break;
          }
          if (!utf8(buf, p + 2, to)) {
            scanned.problem = 'user property is not well-formed UTF-8 without U+0000 [MQTT-1.5.4-1]';
            return false;
          }
          p = to;
        }
        break;
      }
      default:
        scanned.problem = `unknown property identifier ${id} [MQTT-2.2.2-2]`;
        return false;
    }
    if (p > stop) {
      scanned.problem = `property ${id} longer than the properties`;
      return false;
    }
  }
  scanned.topicAlias = alias;
  scanned.count = count;
  scanned.end = stop;
  return true;
}
