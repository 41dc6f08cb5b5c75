/**
 * Deep freezing of the resolved config. Plain objects and arrays are frozen with Object.freeze;
 * maps become FrozenMap, which has no mutating methods at all (a frozen Map would still accept
 * set()), so no part of the config can change after it is loaded.
 */

export class FrozenMap<K, V> implements ReadonlyMap<K, V> {
  readonly #inner: Map<K, V>;

  constructor(entries: Iterable<readonly [K, V]>) {
    this.#inner = new Map(entries);
  }

  get size(): number {
    return this.#inner.size;
  }

  get(key: K): V | undefined {
    return this.#inner.get(key);
  }

  has(key: K): boolean {
    return this.#inner.has(key);
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    this.#inner.forEach((value, key) => {
      callback.call(thisArg, value, key, this);
    });
  }

  entries(): MapIterator<[K, V]> {
    return this.#inner.entries();
  }

  keys(): MapIterator<K> {
    return this.#inner.keys();
  }

  values(): MapIterator<V> {
    return this.#inner.values();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#inner[Symbol.iterator]();
  }

  get [Symbol.toStringTag](): string {
    return 'FrozenMap';
  }
}

/** Freezes value and everything reachable from it; Maps are replaced by FrozenMaps. */
export function deepFreeze<T>(value: T): T {
  return freezeAny(value) as T;
}

function freezeAny(value: unknown): unknown {
  if (value instanceof Map) {
    return Object.freeze(new FrozenMap([...value].map(([k, v]): [unknown, unknown] => [k, freezeAny(v)])));
  }
  if (value instanceof FrozenMap || value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) return Object.freeze(value.map(freezeAny));
  // fromEntries defines properties, so even a "__proto__" key stays a plain key.
  return Object.freeze(Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, freezeAny(inner)])));
}
