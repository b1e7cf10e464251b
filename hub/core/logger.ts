import { type DestinationStream, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/** `log.format` (HUB_LOG_FORMAT): auto is pretty on a terminal, JSON lines anywhere else. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  format?: LogFormat;
  /** Where lines go; default stdout. */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Whether `destination` is a terminal (auto format, colours); default: stdout's isTTY. */
  isTTY?: boolean;
}

/**
 * The hub's logger; modules log through child loggers named after them (`module`).
 * JSON lines for pipes, files and journald; on a terminal one short coloured line per
 * event, through pino-pretty as a stream in this process (a transport would add a
 * worker thread for the few lines a minute the hub logs at info).
 */
export function createLogger(level: string, opts: LoggerOptions = {}): Logger {
  const base = { level, base: { name: 'sensor-hub' }, timestamp: pino.stdTimeFunctions.isoTime };
  const tty = opts.isTTY ?? (opts.destination === undefined && process.stdout.isTTY === true);
  const format = opts.format ?? 'auto';
  if (format === 'pretty' || (format === 'auto' && tty)) {
    return pino(
      base,
      pretty({
        destination: opts.destination ?? 1,
        colorize: tty,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,name,module',
        messageFormat: '{if module}{module}: {end}{msg}',
        singleLine: true,
        sync: true,
      }),
    );
  }
  return pino(base, opts.destination as DestinationStream | undefined);
}
