import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import type { ReloadOutcome } from '../../src/config/reload.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { reloader } from '../../src/reload.js';

/**
 * Issue 16, also: a burst of reloads is not a queue of reconciler switches. Reloads asked while one
 * is applied become one reload, run next with the file as it is then; each caller gets its outcome.
 */

function config(value: string): ResolvedConfig {
  return parseConfigText(
    `region: us-east
stateDir: /var/lib/dq
providers:
  lab: { type: local, listen: 127.0.0.1:5301, nameserver: ns1.example.com. }
zones:
  example.com:
    providers: [lab]
    records:
      www: { type: A, value: ${value} }
`,
    '/etc/dq/dnsquorum.yaml',
    {},
  );
}

/** A reloader whose apply waits until the test lets it go, as a switch waits for the old reconciler. */
function harness(): {
  reload: (trigger: string) => Promise<ReloadOutcome>;
  file: { value: string };
  applied: { value: string; trigger: string }[];
  release: () => void;
} {
  const file = { value: '192.0.2.1' };
  let running = config(file.value);
  const applied: { value: string; trigger: string }[] = [];
  let releases: (() => void)[] = [];
  const reload = reloader({
    load: () => Promise.resolve(config(file.value)),
    running: () => running,
    apply: async (next, trigger) => {
      applied.push({ value: file.value, trigger });
      await new Promise<void>((resolve) => releases.push(resolve));
      running = next;
      return 'ok';
    },
    record: (outcome) => outcome,
  });
  const release = (): void => {
    const waiting = releases;
    releases = [];
    for (const go of waiting) go();
  };
  return { reload, file, applied, release };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('reloader', () => {
  it('turns ten reloads asked during one into one more reload of the latest file, and answers all eleven', async () => {
    const h = harness();
    h.file.value = '192.0.2.2';
    const first = h.reload('SIGHUP');
    await settle();
    const burst: Promise<ReloadOutcome>[] = [];
    for (let i = 3; i <= 12; i++) {
      h.file.value = `192.0.2.${i}`;
      burst.push(h.reload(`POST /v1/reload #${i}`));
    }
    await settle();
    expect(h.applied).toHaveLength(1);
    h.release();
    expect((await first).result).toBe('applied');
    await settle();
    expect(h.applied).toHaveLength(2);
    expect(h.applied[1]?.value).toBe('192.0.2.12');
    expect(h.applied[1]?.trigger).toContain('POST /v1/reload #3');
    expect(h.applied[1]?.trigger).toContain('POST /v1/reload #12');
    h.release();
    const outcomes = await Promise.all(burst);
    expect(new Set(outcomes)).toEqual(new Set([outcomes[0]]));
    expect(outcomes[0]?.result).toBe('applied');
    expect(h.applied).toHaveLength(2);
  });

  it('runs a reload asked after the last one ended on its own', async () => {
    const h = harness();
    h.file.value = '192.0.2.2';
    const first = h.reload('SIGHUP');
    await settle();
    h.release();
    await first;
    h.file.value = '192.0.2.3';
    const second = h.reload('SIGHUP');
    await settle();
    h.release();
    expect((await second).result).toBe('applied');
    expect(h.applied.map((a) => a.value)).toEqual(['192.0.2.2', '192.0.2.3']);
    expect((await h.reload('SIGHUP')).result).toBe('unchanged');
  });
});
