import { mkdir, open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { hasErrorCode } from '../../lib/atomic-file.js';
import { StateCorruptError, errorMessage } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { AuditAction, AuditEvent, AuditLog, AuditQuery } from './log.js';

/**
 * The audit log: one JSON object per line, only ever appended to. Each line goes out in one
 * write(2) on a file opened O_APPEND, so lines from one process never interleave and a crash
 * tears at most the last line. Readers skip what does not parse.
 */

/** read() looks at most this far back from the end of the file: the log grows for months. */
export const AUDIT_READ_MAX_BYTES = 4 * 1024 * 1024;
export const AUDIT_READ_DEFAULT_LIMIT = 100;
export const AUDIT_READ_MAX_LIMIT = 1000;

const NEWLINE = 0x0a;

const AUDIT_ACTIONS = {
  override: 'override',
  release: 'release',
  refused: 'refused',
  expired: 'expired',
  write: 'write',
} as const satisfies { [A in AuditAction]: A };

const nullableText = z.string().nullable();

const auditEventSchema = z.object({
  at: z.number(),
  region: z.string(),
  action: z.enum(AUDIT_ACTIONS),
  actor: z.string(),
  token: nullableText,
  zone: z.string(),
  record: nullableText,
  type: nullableText,
  what: z.string(),
  why: z.string(),
  result: z.string(),
  overrideId: nullableText,
  provider: nullableText,
});

/** The line for an event: its fields only, in a fixed order, so every line looks alike. */
function auditLine(event: AuditEvent): string {
  const fields: AuditEvent = {
    at: event.at,
    region: event.region,
    action: event.action,
    actor: event.actor,
    token: event.token,
    zone: event.zone,
    record: event.record,
    type: event.type,
    what: event.what,
    why: event.why,
    result: event.result,
    overrideId: event.overrideId,
    provider: event.provider,
  };
  return `${JSON.stringify(fields)}\n`;
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return AUDIT_READ_DEFAULT_LIMIT;
  return Math.min(AUDIT_READ_MAX_LIMIT, Math.max(1, Math.floor(limit)));
}

/** Reads `length` bytes at `position`, however many read calls that takes. */
async function readFully(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** True when the file exists, is not empty and does not end with a newline (a torn last line). */
async function endsMidLine(path: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (hasErrorCode(err, 'ENOENT')) return false;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size === 0) return false;
    const last = await readFully(handle, size - 1, 1);
    return last[0] !== NEWLINE;
  } finally {
    await handle.close();
  }
}

export interface FileAuditLogOptions {
  /** The log file (`<stateDir>/audit.jsonl`). Its directory is created on the first append. */
  readonly path: string;
  readonly logger: Logger;
}

export class FileAuditLog implements AuditLog {
  readonly path: string;
  private readonly logger: Logger;
  /** Appends run one after another; read() waits for those asked for before it. */
  private queue: Promise<void> = Promise.resolve();
  /** The file is known to end with a whole line; false until checked, and after a failed append. */
  private atLineStart = false;

  constructor(options: FileAuditLogOptions) {
    this.path = options.path;
    this.logger = options.logger;
  }

  append(event: AuditEvent): Promise<void> {
    const run = this.queue.then(() => this.appendLine(event));
    this.queue = run;
    return run;
  }

  async read(query: AuditQuery): Promise<AuditEvent[]> {
    await this.queue;
    const limit = clampLimit(query.limit);
    const since = query.since !== undefined && Number.isFinite(query.since) ? query.since : Number.NEGATIVE_INFINITY;
    const tail = await this.readTail();
    let skipped = 0;
    const matching: AuditEvent[] = [];
    for (const line of tail.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const event = parseLine(line);
      if (event === undefined) {
        skipped++;
        continue;
      }
      if (event.at >= since) matching.push(event);
    }
    if (skipped > 0) this.logger.warn({ auditPath: this.path, skipped }, 'audit log lines that do not parse were skipped');
    return matching.slice(-limit);
  }

  /** Never rejects: the action being audited has happened, whatever becomes of its line. */
  private async appendLine(event: AuditEvent): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true });
      // After a crash or failed append mid-line, start on a fresh line so this one stays readable.
      const line = (this.atLineStart || !(await endsMidLine(this.path)) ? '' : '\n') + auditLine(event);
      const bytes = Buffer.from(line, 'utf8');
      const handle = await open(this.path, 'a', 0o644);
      try {
        this.atLineStart = false;
        const { bytesWritten } = await handle.write(bytes);
        if (bytesWritten !== bytes.length) throw new Error(`only ${bytesWritten} of ${bytes.length} bytes were written`);
        this.atLineStart = true;
      } finally {
        await handle.close();
      }
    } catch (err) {
      this.logger.error({ err, auditPath: this.path, event }, 'cannot append to the audit log; the event is only in this log line');
    }
  }

  /** The last AUDIT_READ_MAX_BYTES of the file, starting at a line boundary. */
  private async readTail(): Promise<Buffer> {
    let handle: FileHandle;
    try {
      handle = await open(this.path, 'r');
    } catch (err) {
      if (hasErrorCode(err, 'ENOENT')) return Buffer.alloc(0);
      throw new StateCorruptError(this.path, `cannot read the audit log (${errorMessage(err)})`, { cause: err });
    }
    try {
      const { size } = await handle.stat();
      if (size <= AUDIT_READ_MAX_BYTES) return await readFully(handle, 0, size);
      // One byte more than the window, so a window starting exactly at a line start is recognised.
      const start = size - AUDIT_READ_MAX_BYTES - 1;
      const window = await readFully(handle, start, AUDIT_READ_MAX_BYTES + 1);
      const firstNewline = window.indexOf(NEWLINE);
      return firstNewline === -1 ? Buffer.alloc(0) : window.subarray(firstNewline + 1);
    } catch (err) {
      throw new StateCorruptError(this.path, `cannot read the audit log (${errorMessage(err)})`, { cause: err });
    } finally {
      await handle.close();
    }
  }
}

function parseLine(line: string): AuditEvent | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = auditEventSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
