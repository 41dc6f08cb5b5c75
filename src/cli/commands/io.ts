import type { Logger } from '../../lib/logger.js';
import type { CommandSpec } from '../args.js';

/** What a command may touch of the outside world; the entry point supplies the real ones. */
export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly help: (spec: CommandSpec) => string;
  /** Logs for commands that run long; absent means quiet. */
  readonly logger?: Logger;
}
