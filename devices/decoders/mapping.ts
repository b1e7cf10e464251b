import { RejectError } from '../../hub/core/errors.js';
import { topicMatches } from '../../hub/core/topic.js';
import type { Candidate, DecoderDefinition } from '../decoder.js';
import { atPath, sanitizeId } from './common.js';
import { isPlainObject, parseJson, payloadText } from './payload.js';

/** One value a mapping takes out of a payload (see MappingConfig). */
export interface MappedValue {
  /** Dotted path into the JSON ("main.temp", "readings[0].v"); "" or "$" is the payload itself. */
  path: string;
  /** Template: "{1}" is topic level 1 (from 0), "{json:meta.id}" a value from the payload. */
  sensor: string;
  metric?: string | undefined;
  /** The unit the device sends in; omitted: the metric's canonical unit. */
  unit?: string | undefined;
  /** Path to a unit in the payload; wins over `unit` when present. */
  unitPath?: string | undefined;
}

/**
 * A user-written decoder as config loading hands it over (`formats.mappings`, validated
 * by the hub's config schema, which must produce this shape).
 */
export interface MappingConfig {
  name: string;
  /** MQTT topic filter, with + and # wildcards. */
  topic: string;
  /** Template for the device id, e.g. "{1}" or "{json:device}". */
  device: string;
  /** Path of the measurement time in the payload. */
  time?: string | undefined;
  values: MappedValue[];
}

/**
 * Fills "{1}" with topic level 1 (from 0) and "{json:a.b}" with a value from the
 * payload; the result is sanitized to the id alphabet. A missing part is an error,
 * not an empty id.
 */
export function fillTemplate(template: string, levels: readonly string[], json: unknown): string {
  const out = template.replace(/\{(json:)?([^}]*)\}/g, (_all, isJson: string | undefined, ref: string) => {
    if (isJson) {
      const v = atPath(json, ref);
      if (typeof v !== 'string' && typeof v !== 'number')
        throw new RejectError('invalid_shape', `no string at ${ref} for ${template}`);
      return String(v);
    }
    const level = levels[Number(ref)];
    if (!/^\d+$/.test(ref) || level === undefined)
      throw new RejectError('invalid_shape', `the topic has no level ${ref} for ${template}`);
    return level;
  });
  return sanitizeId(out);
}

/**
 * A decoder users declare in config (`formats.mappings`) for devices no built-in
 * format reads: a topic filter, templates for device and sensor over topic levels
 * and JSON values, a path per value, the unit it is sent in, and an optional time path.
 * A bare number is accepted for a mapping whose only path is "" ("$").
 */
export function mappingDecoder(m: MappingConfig): DecoderDefinition {
  return {
    name: `mapping:${m.name}`,
    topics: [m.topic],
    match: (levels) => topicMatches(m.topic, levels.join('/')),
    deviceOf: (levels) => {
      try {
        return fillTemplate(m.device, levels, undefined);
      } catch {
        return undefined;
      }
    },
    decode(msg, levels) {
      const text = payloadText(msg.payload).trim();
      const json: unknown = /^[[{"]/.test(text) ? parseJson(text) : text;
      if (typeof json === 'string' && m.values.some((v) => !/^\$?$/.test(v.path)))
        throw new RejectError('invalid_shape', `mapping ${m.name} expects a JSON object`);
      const device = fillTemplate(m.device, levels, json);
      const ts = m.time === undefined ? undefined : atPath(json, m.time);
      const out: Candidate[] = [];
      for (const v of m.values) {
        const sensor = fillTemplate(v.sensor, levels, json);
        const value = atPath(json, v.path);
        const c: Candidate = { device, sensor, value };
        if (value === undefined) {
          c.reject = new RejectError('invalid_shape', `mapping ${m.name}: nothing at ${v.path || '$'}`);
        }
        if (v.metric) c.metric = v.metric;
        const unitAt = v.unitPath === undefined ? undefined : atPath(json, v.unitPath);
        const unit = typeof unitAt === 'string' ? unitAt : v.unit;
        if (unit !== undefined) c.unit = unit;
        if (ts !== undefined) c.ts = ts;
        if (isPlainObject(value) || Array.isArray(value))
          c.reject = new RejectError('not_a_number', `mapping ${m.name}: ${v.path} is not a value`);
        out.push(c);
      }
      return out;
    },
  };
}
