/**
 * Durations as people write them: "500ms", "5s", "2m", "1h", "1d", or compounds such as "1m30s"
 * and "1.5s". Units are mandatory, so "5" is refused instead of being guessed as seconds or ms.
 */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** The reason for a bare number such as "5": the unit is never guessed. */
export function durationNeedsUnit(written: string): string {
  return `duration needs a unit, e.g. ${written}s`;
}

export type DurationResult = { readonly ok: true; readonly ms: number } | { readonly ok: false; readonly reason: string };

/** Parses a duration to whole milliseconds (fractions of a millisecond round to the nearest). */
export function parseDuration(text: string): DurationResult {
  const input = text.trim();
  if (/^\d+(\.\d+)?$/.test(input)) return { ok: false, reason: durationNeedsUnit(input) };
  if (input === '') return { ok: false, reason: 'duration is empty; write e.g. 5s' };
  let total = 0;
  let at = 0;
  while (at < input.length) {
    PART.lastIndex = at;
    const m = PART.exec(input);
    const amount = m?.[1];
    const unit = m?.[2];
    if (m === null || amount === undefined || unit === undefined) {
      return { ok: false, reason: `"${input}" is not a duration; use ms, s, m, h or d, e.g. 500ms, 5s, 1m30s` };
    }
    total += Number(amount) * (UNIT_MS[unit] ?? 0);
    at = PART.lastIndex;
  }
  if (!Number.isSafeInteger(Math.round(total))) return { ok: false, reason: `"${input}" is too long a duration` };
  return { ok: true, ms: Math.round(total) };
}

/** "90000" ms -> "1m30s": for messages that compare two durations. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}
