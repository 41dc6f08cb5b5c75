import { createLogger } from '../../src/lib/logger.js';
import type { Logger } from '../../src/lib/logger.js';

/** One pino JSON line, parsed. */
export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** A real pino logger (debug and up) writing into memory: parsed lines, and the raw text for redaction checks. */
export function memoryLogger(): { logger: Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: {
      write(text: string) {
        raw.push(text);
        lines.push(JSON.parse(text) as LogLine);
      },
    },
  });
  return { logger, lines, raw };
}
