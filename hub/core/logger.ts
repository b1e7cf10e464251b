import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger };

/** JSON lines on stdout (or the given stream); modules log through child loggers named after them. */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino({ level, base: { name: 'sensor-hub' }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
