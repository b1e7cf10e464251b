import type { DecoderDefinition } from '../decoder.js';
import { sensorsDecoder } from './sensors.js';

/** Every payload format the hub reads, in the order they are tried. */
export const DECODERS: readonly DecoderDefinition[] = [sensorsDecoder];
