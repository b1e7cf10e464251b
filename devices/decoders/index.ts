import type { DecoderDefinition } from '../decoder.js';
import { esphomeDecoder } from './esphome.js';
import { haDiscoveryDecoder } from './ha-discovery.js';
import { homieDecoder } from './homie.js';
import { type MappingConfig, mappingDecoder } from './mapping.js';
import { sensorsDecoder } from './sensors.js';
import { shellyDecoder } from './shelly.js';
import { tasmotaDecoder } from './tasmota.js';
import { zigbee2mqttDecoder } from './zigbee2mqtt.js';

export interface DecoderOptions {
  mappings?: readonly MappingConfig[];
  zigbee2mqttBase?: string;
}

/**
 * The decoders of one hub: the user's mappings first (so a mapping can take over a
 * topic a built-in format would read), then the built-ins. The specific prefixes
 * (sensors/, tele/, homie/, zigbee2mqtt/) go before the shape-based ones (Shelly,
 * ESPHome), which match any first level.
 */
export function buildDecoders(opts: DecoderOptions = {}): DecoderDefinition[] {
  return [
    ...(opts.mappings ?? []).map(mappingDecoder),
    sensorsDecoder,
    tasmotaDecoder,
    homieDecoder,
    zigbee2mqttDecoder(opts.zigbee2mqttBase),
    haDiscoveryDecoder,
    shellyDecoder,
    esphomeDecoder,
  ];
}

/** The built-in payload formats with default settings, in the order they are tried. */
export const DECODERS: readonly DecoderDefinition[] = buildDecoders();
