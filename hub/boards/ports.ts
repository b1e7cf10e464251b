import { loadSerialPort } from './optional-deps.js';

export interface PortInfo {
  path: string;
  manufacturer?: string | undefined;
  vendorId?: string | undefined;
  productId?: string | undefined;
  serialNumber?: string | undefined;
  /** Why it looks like an Arduino, or undefined when it does not. */
  arduinoLike?: string | undefined;
}

/**
 * USB vendor ids of Arduino boards and of the USB-serial chips that clones use
 * (the same list Johnny-Five's and avrgirl's port detection start from).
 */
const VENDORS: Record<string, string> = {
  '2341': 'Arduino',
  '2a03': 'Arduino (arduino.org)',
  '1a86': 'CH340 USB-serial (clones)',
  '0403': 'FTDI USB-serial',
  '10c4': 'CP210x USB-serial',
  '239a': 'Adafruit',
  '1b4f': 'SparkFun',
};
const PATHS = /^\/dev\/(ttyACM\d+|ttyUSB\d+|cu\.usbmodem\S+|cu\.usbserial\S+|cu\.wchusbserial\S+)$|^COM\d+$/;

export function whyArduinoLike(p: PortInfo): string | undefined {
  const vendor = p.vendorId ? VENDORS[p.vendorId.toLowerCase()] : undefined;
  if (vendor) return `USB vendor ${p.vendorId} (${vendor})`;
  if (/arduino|wch|ftdi|silicon lab/i.test(p.manufacturer ?? '')) return `manufacturer ${p.manufacturer}`;
  if (PATHS.test(p.path)) return 'USB serial device name';
  return undefined;
}

/** Serial ports on this machine, Arduino-like ones first. */
export async function listPorts(): Promise<PortInfo[]> {
  const { SerialPort } = await loadSerialPort();
  const ports = await SerialPort.list();
  return ports
    .map((p) => {
      const info: PortInfo = {
        path: p.path,
        manufacturer: p.manufacturer,
        vendorId: p.vendorId,
        productId: p.productId,
        serialNumber: p.serialNumber,
      };
      info.arduinoLike = whyArduinoLike(info);
      return info;
    })
    .sort((a, b) => Number(!!b.arduinoLike) - Number(!!a.arduinoLike) || a.path.localeCompare(b.path));
}

/** The first Arduino-like port not taken by another board; undefined when none. */
export async function findArduinoPort(taken: ReadonlySet<string>): Promise<string | undefined> {
  return (await listPorts()).find((p) => p.arduinoLike && !taken.has(p.path))?.path;
}
