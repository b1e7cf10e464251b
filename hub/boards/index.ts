export { BoardManager, type BoardManagerOptions, type BoardStatus } from './manager.js';
export { findArduinoPort, listPorts, type PortInfo } from './ports.js';
