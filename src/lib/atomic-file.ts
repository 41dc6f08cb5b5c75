import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';

/**
 * Whole-file replacement that never leaves a torn file behind: a reader (or a process started
 * after a crash) sees either the old content or the new one. Used for every state file that is
 * rewritten whole (local provider state, overrides, the write budget).
 */

/** True when `err` is a Node system error with one of `codes` (ENOENT, EEXIST, ...). */
export function hasErrorCode(err: unknown, ...codes: string[]): boolean {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' && codes.includes(err.code);
}

/**
 * The name prefix of the temporary files writeFileAtomic makes next to `path`. A writer killed
 * between creating and renaming one leaves it behind; owners of the file may sweep these.
 */
export function atomicTempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

/** Makes a rename in `dir` durable. Some file systems cannot fsync a directory; they get no stronger promise. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    if (!hasErrorCode(err, 'EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP')) throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Replaces the file at `path` with `text`: a temporary file in the same directory (rename is only
 * atomic within one file system), fsync, rename over the target, fsync the directory so the
 * rename itself survives a power cut. Creates the directory if needed. Does not serialise
 * writers: callers that may race hold their own lock or queue.
 */
export async function writeFileAtomic(path: string, text: string, mode = 0o644): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `${atomicTempPrefix(path)}${process.pid}-${randomBytes(6).toString('hex')}`);
  const handle = await open(temp, 'wx', mode);
  try {
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  await syncDirectory(dir);
}

/** Makes a rename in `dir` durable, synchronously (see syncDirectory). */
function syncDirectorySync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (err) {
    if (!hasErrorCode(err, 'EINVAL', 'EISDIR', 'EPERM', 'ENOTSUP')) throw err;
  } finally {
    closeSync(fd);
  }
}

/**
 * writeFileAtomic without giving up the event loop, for a small file that must be on disk before
 * anything else runs (the write budget: its spend must be kept before the write it pays for can
 * start). The same steps, in the same order.
 */
export function writeFileAtomicSync(path: string, text: string, mode = 0o644): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const temp = join(dir, `${atomicTempPrefix(path)}${process.pid}-${randomBytes(6).toString('hex')}`);
  const fd = openSync(temp, 'wx', mode);
  try {
    try {
      writeFileSync(fd, text, 'utf8');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    try {
      unlinkSync(temp);
    } catch {
      // Already gone, or the directory went away; the error that matters is the one thrown below.
    }
    throw err;
  }
  syncDirectorySync(dir);
}
