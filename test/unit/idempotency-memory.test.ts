import { describe, expect, it } from 'vitest';
import type { ApiResponse } from '../../src/control/api/server.js';
import { IdempotencyMemory, idempotencyKeyOf, overrideIdForKey } from '../../src/control/overrides/idempotency.js';
import { ManualClock } from '../../src/lib/clock.js';

/** The replica's memory of answers given per Idempotency-Key (src/control/overrides/idempotency.ts), on a manual clock. */

describe('IdempotencyMemory', () => {
  it('remembers answers bounded in count and in age', async () => {
    const clock = new ManualClock(1_000_000);
    const memory = new IdempotencyMemory({ clock, maxKeys: 2, maxAgeMs: 60_000 });
    let acts = 0;
    const act = (): Promise<ApiResponse> => {
      acts += 1;
      return Promise.resolve({ status: 201, body: { n: acts } });
    };
    expect(await memory.run('a', 'x', act)).toEqual({ status: 201, body: { n: 1 } });
    expect(await memory.run('a', 'x', act)).toEqual({ status: 201, body: { n: 1 } });
    await memory.run('b', 'x', act);
    await memory.run('c', 'x', act);
    expect(memory.size).toBe(2);
    // "a" was the oldest: forgotten, so it acts again.
    expect(await memory.run('a', 'x', act)).toEqual({ status: 201, body: { n: 4 } });
    clock.advance(60_001);
    expect(memory.size).toBe(0);
    // A failure is not remembered: nothing was done, the next try acts.
    await expect(memory.run('d', 'x', () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(await memory.run('d', 'x', act)).toEqual({ status: 201, body: { n: 5 } });
  });

  it('a retry that comes while the first is still being answered waits for it and gets its answer', async () => {
    const memory = new IdempotencyMemory({ clock: new ManualClock(0) });
    let finish = (): void => undefined;
    let started = (): void => undefined;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    let acts = 0;
    const slow = (): Promise<ApiResponse> => {
      acts += 1;
      started();
      return new Promise((resolve) => {
        finish = () => {
          resolve({ status: 201, body: { first: true } });
        };
      });
    };
    const first = memory.run('k', 'x', slow);
    const retry = memory.run('k', 'x', slow);
    await firstStarted;
    finish();
    expect(await Promise.all([first, retry])).toEqual([
      { status: 201, body: { first: true } },
      { status: 201, body: { first: true } },
    ]);
    expect(acts).toBe(1);
  });
  it('refuses the key with another fingerprint, and keeps the first answer', async () => {
    const memory = new IdempotencyMemory({ clock: new ManualClock(0) });
    await memory.run('k', 'x', () => Promise.resolve({ status: 201, body: 'first' }));
    await expect(memory.run('k', 'y', () => Promise.resolve({ status: 201, body: 'second' }))).rejects.toMatchObject({ status: 422, code: 'DQ_API_KEY_REUSED' });
    expect(await memory.run('k', 'x', () => Promise.resolve({ status: 201, body: 'third' }))).toEqual({ status: 201, body: 'first' });
  });
});

describe('Idempotency-Key header', () => {
  it.each([
    [undefined, undefined],
    ['abc-123', 'abc-123'],
    ['"8e03978e-40d5-43e8-bc93-6894a57f9324"', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
  ])('%s is the key %s', (raw, key) => {
    expect(idempotencyKeyOf(raw === undefined ? {} : { 'idempotency-key': raw })).toBe(key);
  });

  it.each([[''], ['two words'], ['x'.repeat(201)], ['"'], ['caf\u00e9']])('%j is a 400', (raw) => {
    expect(() => idempotencyKeyOf({ 'idempotency-key': raw })).toThrow(expect.objectContaining({ status: 400, code: 'DQ_API_BAD_REQUEST' }) as Error);
  });

  it('a key sent twice is a 400', () => {
    expect(() => idempotencyKeyOf({ 'idempotency-key': ['a', 'b'] })).toThrow(/sent once/);
  });

  it('derives the same override id from the same key, on any replica', () => {
    expect(overrideIdForKey('k-1')).toMatch(/^o-[0-9a-f]{12}$/);
    expect(overrideIdForKey('k-1')).toBe(overrideIdForKey('k-1'));
    expect(overrideIdForKey('k-2')).not.toBe(overrideIdForKey('k-1'));
  });
});
