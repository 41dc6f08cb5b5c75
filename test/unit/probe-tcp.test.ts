import { afterEach, describe, expect, it } from 'vitest';
import type { HostPort } from '../../src/config/types.js';
import { systemClock } from '../../src/lib/clock.js';
import { createProber } from '../../src/probe/prober.js';
import { refusedPort, startSilentServer } from '../helpers/probe-servers.js';
import type { SilentServer } from '../helpers/probe-servers.js';
import { tcpTarget } from '../helpers/probe-targets.js';

const prober = createProber({ clock: systemClock, resolve: new Map<string, HostPort>() });

describe('tcp probe', () => {
  let server: SilentServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('connects, reports success and closes the connection', async () => {
    server = await startSilentServer();
    const result = await prober.probe(tcpTarget('127.0.0.1', server.port), new AbortController().signal);
    expect(result).toMatchObject({ endpointId: 'tcp.example.com. A 127.0.0.1', ok: true, detail: `connected to 127.0.0.1:${server.port}` });
    expect(server.accepted()).toBe(1);
    await expect.poll(() => server?.closed()).toBe(1);
  });

  it('reports a refused connection', async () => {
    const port = await refusedPort();
    const result = await prober.probe(tcpTarget('127.0.0.1', port), new AbortController().signal);
    expect(result).toMatchObject({ ok: false, detail: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  it('an aborted caller ends the probe as "aborted"', async () => {
    server = await startSilentServer();
    const caller = new AbortController();
    caller.abort();
    const result = await prober.probe(tcpTarget('127.0.0.1', server.port), caller.signal);
    expect(result).toMatchObject({ ok: false, detail: 'aborted' });
  });
});
