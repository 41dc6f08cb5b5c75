/** Text helpers shared by the commands that print reports for people. */

/** "0s", "850ms", "12.3s", "4m 10s", "2h 3m", "3d 4h" */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toString()}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`;
}

/** "1m 35s ago" or "in 20s": `at` seen from `now` (both from the same clock, the daemon's). */
export function ago(at: number, now: number): string {
  const d = now - at;
  return d >= 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
}

/** "2025-01-15T12:00:00Z": UTC, to the second. */
export function isoSeconds(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Columns padded to the widest cell; the last column is not padded, so no line ends in spaces. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], indent = ''): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    indent + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** One line per table cell: newlines and tabs an operator typed in a reason would break the columns. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
