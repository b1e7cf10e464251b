import type { DecoderDefinition } from '../decoder.js';
import { jsonObject } from './common.js';

/** What a discovery config says about a state topic. */
export interface HaMeta {
  unit?: string;
  deviceClass?: string;
}

export const haMetaKey = (stateTopic: string) => `ha:${stateTopic}`;

function str(o: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const k of keys) if (typeof o[k] === 'string') return o[k] as string;
  return undefined;
}

/**
 * Home Assistant MQTT discovery configs that devices publish
 * (`homeassistant/<component>/[<node_id>/]<object_id>/config`, retained). They carry
 * no readings; the hub learns the unit and device class of the state topic, which
 * ESPHome's state topics lack. Abbreviated keys (`stat_t`, `unit_of_meas`, `dev_cla`)
 * and the `~` base topic are part of the format.
 */
export const haDiscoveryDecoder: DecoderDefinition = {
  name: 'ha-discovery',
  topics: ['homeassistant/+/+/config', 'homeassistant/+/+/+/config'],
  match: (levels) =>
    levels[0] === 'homeassistant' &&
    (levels.length === 4 || levels.length === 5) &&
    levels.at(-1) === 'config',
  deviceOf: () => undefined,
  decode(msg, _levels, ctx) {
    if (msg.payload.length === 0) return []; // an entity being removed
    const cfg = jsonObject(msg, 'a discovery config');
    const base = str(cfg, '~');
    let state = str(cfg, 'state_topic', 'stat_t');
    if (!state) return [];
    if (base !== undefined)
      state = state.startsWith('~')
        ? base + state.slice(1)
        : state.endsWith('~')
          ? state.slice(0, -1) + base
          : state;
    const meta: HaMeta = {};
    const unit = str(cfg, 'unit_of_measurement', 'unit_of_meas');
    const cls = str(cfg, 'device_class', 'dev_cla');
    if (unit) meta.unit = unit;
    if (cls) meta.deviceClass = cls;
    ctx.meta.set(haMetaKey(state), meta);
    return [];
  },
};
