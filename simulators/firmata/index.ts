export { Bme280 } from './bme280.js';
export { type ModelledSensor, virtualBoardFor } from './for-config.js';
export { Bh1750, Ds18b20, Htu21d, type I2cDevice, Sht31d } from './i2c.js';
export { exposeOnPty, type PtyExposure, VirtualSerialPort } from './transport.js';
export { type Signal, type VirtualBoardOptions, VirtualFirmataBoard } from './virtual-board.js';
