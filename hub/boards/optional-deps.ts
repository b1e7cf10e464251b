import { createRequire } from 'node:module';
import { HubError } from '../core/errors.js';

const require = createRequire(import.meta.url);

/**
 * Johnny-Five, firmata-io and serialport are optional peer dependencies: a hub without
 * boards (a test suite with simulated MQTT devices) installs no native serial binding
 * and compiles nothing. Configuring a board needs them installed next to the hub.
 */
export function assertBoardDeps(needSerial: boolean): void {
  const names = ['johnny-five', 'firmata-io', ...(needSerial ? ['serialport'] : [])];
  const missing = names.filter((name) => {
    try {
      require.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) throw boardDepsMissing(missing);
}

export function boardDepsMissing(missing: readonly string[], cause?: unknown): HubError {
  return new HubError(
    'HUB_BOARD_DEPS_MISSING',
    `boards need ${missing.join(', ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed: npm install ${missing.join(' ')} (see docs/testing.md, "Boards")`,
    cause === undefined ? undefined : { cause },
  );
}

/** serialport, loaded with the first real board (it carries a native binding). */
export async function loadSerialPort(): Promise<typeof import('serialport')> {
  try {
    return await import('serialport');
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND')
      throw boardDepsMissing(['serialport'], err);
    throw err;
  }
}
