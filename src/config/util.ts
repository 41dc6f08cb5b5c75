/** Helpers for assembling results from parts that may each have failed to read. */

export type Defined<T> = { [K in keyof T]: Exclude<T[K], undefined> };

/**
 * The same object when every part was read, else undefined. Readers return undefined only after
 * reporting a problem, so an undefined result never goes unexplained.
 */
export function allDefined<T extends Record<string, unknown>>(parts: T): Defined<T> | undefined {
  return Object.values(parts).every((value) => value !== undefined) ? (parts as Defined<T>) : undefined;
}
