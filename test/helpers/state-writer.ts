/**
 * A child process for the state-store crash tests. It runs the COMPILED store from dist (the code
 * that ships), not the TypeScript source, so a test can SIGKILL a real writer at any moment.
 * The test transpiles this file to plain JavaScript before spawning `node` on it.
 *
 *   node state-writer.mjs alternate <dist state.js URL> <state file> <a.json> <b.json> [holdAt]
 *     Writes the states in a.json and b.json in turn, forever, printing "wrote N" after write N.
 *     With holdAt, before write number holdAt it takes the lock, prints "holding N" and keeps
 *     the lock until the process is killed.
 *   node state-writer.mjs increment <dist state.js URL> <state file> <count>
 *     Raises the serial of zone "counter.test." by one, `count` times, each in its own locked
 *     read-modify-write, then exits.
 */
import { readFile } from 'node:fs/promises';
import type * as StateModule from '../../src/providers/local/state.js';

type Store = InstanceType<typeof StateModule.LocalStateStore>;
type State = StateModule.LocalState;

const never = new AbortController().signal;

/** Never settles, and keeps the event loop alive until the process is killed. */
function holdForever(): Promise<never> {
  return new Promise(() => {
    setInterval(() => undefined, 60_000);
  });
}

async function alternate(
  store: Store,
  writeState: (path: string, state: State) => Promise<void>,
  states: [State, State],
  holdAt: number | undefined,
): Promise<void> {
  for (let n = 1; ; n++) {
    const next = states[n % 2];
    if (next === undefined) throw new Error('missing state');
    if (n === holdAt) {
      await store.withLock(never, async () => {
        process.stdout.write(`holding ${n}\n`);
        await holdForever();
      });
    }
    // Straight to the atomic write, without reading first, so that the loop spends its time writing.
    await store.withLock(never, () => writeState(store.path, next));
    process.stdout.write(`wrote ${n}\n`);
  }
}

async function increment(store: Store, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await store.update(never, (current) => {
      const zone = current.zones['counter.test.'];
      const serial = (zone?.serial ?? 0) + 1;
      return { zones: { ...current.zones, 'counter.test.': { serial, records: zone?.records ?? [] } } };
    });
  }
}

async function main(): Promise<void> {
  const [mode, moduleUrl, statePath, ...rest] = process.argv.slice(2);
  if (mode === undefined || moduleUrl === undefined || statePath === undefined) throw new Error('usage: state-writer <mode> <module URL> <state file> ...');
  const state = (await import(moduleUrl)) as typeof StateModule;
  const store = new state.LocalStateStore({ path: statePath, providerName: 'crash-test', lockTimeoutMs: 20_000 });
  if (mode === 'alternate') {
    const [a, b, holdAt] = rest;
    if (a === undefined || b === undefined) throw new Error('alternate needs two state files');
    const states: [State, State] = [state.parseState(a, await readFile(a, 'utf8')), state.parseState(b, await readFile(b, 'utf8'))];
    await alternate(store, state.writeStateFileAtomic, states, holdAt === undefined ? undefined : Number(holdAt));
  } else if (mode === 'increment') {
    await increment(store, Number(rest[0] ?? '1'));
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
