import { describe, expect, it } from 'vitest';
import { whyArduinoLike } from '../../hub/boards/ports.js';

describe('port: auto', () => {
  it('takes Arduino and clone USB-serial ports, not the machine serial port', () => {
    expect(whyArduinoLike({ path: '/dev/ttyACM0', vendorId: '2341', productId: '0043' })).toMatch(/Arduino/);
    expect(whyArduinoLike({ path: '/dev/ttyUSB0', vendorId: '1A86' })).toMatch(/CH340/);
    expect(whyArduinoLike({ path: '/dev/cu.usbmodem14101' })).toBe('USB serial device name');
    expect(whyArduinoLike({ path: '/dev/ttyS0' })).toBeUndefined();
  });
});
