export * from './definition.js';
export { controllerFor, KINDS_BY_TYPE, SENSOR_KINDS } from './kinds.js';
export { ANALOG_CHANNELS, type PinRef, parsePin } from './pins.js';
