import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line. Provider configs, API settings and cluster settings
 * carry secrets; they are redacted wherever they appear in a logged object.
 */
export const REDACT_PATHS = [
  'token',
  'secret',
  'apiKey',
  'password',
  'authorization',
  '*.token',
  '*.secret',
  '*.apiKey',
  '*.password',
  '*.authorization',
  'headers.authorization',
  'headers["x-nsone-key"]',
  '*.headers.authorization',
  '*.headers["x-nsone-key"]',
];

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass an in-memory stream. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.DNSQUORUM_LOG_LEVEL ?? 'info',
      base: { app: 'dnsquorum' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination(1),
  );
}

/** A logger that writes nothing, for commands whose output is for people, not logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
