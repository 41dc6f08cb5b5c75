import { describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW_MS } from '../../src/cluster/auth.js';
import { ClockSkewWatch } from '../../src/cluster/clock-skew.js';
import { ClusterView } from '../../src/cluster/cluster-view.js';
import type { PostOutcome } from '../../src/cluster/peer-client.js';
import { Metrics } from '../../src/control/metrics/metrics.js';
import { ManualClock } from '../../src/lib/clock.js';

/** The clock-skew notification condition, read from the cluster status (issue 16). */

const NOW = 1_700_000_000_000;
const TEN_MINUTES = 10 * 60_000;

function view(region: string, clock: ManualClock): ClusterView {
  const peers = ['a', 'b', 'c'].filter((r) => r !== region).map((r) => ({ region: r, url: `http://127.0.0.1:9/${r}` }));
  return new ClusterView({ region, peers, quorum: 2, staleAfterMs: 5000, writerCapable: true, clock });
}

const staleRefusal = (at: number, offsetMs: number | null): PostOutcome => ({ kind: 'refused', at, stale: true, offsetMs, error: 'HTTP 401 DQ_PEER_REJECTED: peer message rejected: stale' });

describe('ClockSkewWatch', () => {
  it('opens one clock-skew condition per replica, repeats it when the set changes, and clears it once no peer refuses', () => {
    const clock = new ManualClock(NOW);
    const a = view('a', clock);
    const watch = new ClockSkewWatch('a', DEFAULT_WINDOW_MS);
    expect(watch.observe(a.status([], {}), clock.now())).toEqual([]);
    a.answered('c', staleRefusal(clock.now(), TEN_MINUTES));
    const opened = watch.observe(a.status([], {}), clock.now());
    expect(opened).toMatchObject([
      {
        kind: 'clock-skew',
        severity: 'warning',
        region: 'a',
        dedupKey: 'clock-skew/a',
        opens: true,
        resolves: false,
        details: { peers: 'c', offsetsMs: `c=${TEN_MINUTES}`, windowMs: DEFAULT_WINDOW_MS },
      },
    ]);
    expect(opened[0]?.summary).toBe("clock skew: c (its clock 600.0 s ahead) refuses a's messages as stale (clocks more than 300 s apart); nothing is exchanged with it until the clocks agree (check NTP)");
    expect(watch.observe(a.status([], {}), clock.now())).toEqual([]);
    a.answered('b', staleRefusal(clock.now(), null));
    expect(watch.observe(a.status([], {}), clock.now())).toMatchObject([{ kind: 'clock-skew', details: { peers: 'b, c' } }]);
    a.answered('b', { kind: 'accepted', at: clock.now() });
    a.answered('c', { kind: 'accepted', at: clock.now() });
    expect(watch.observe(a.status([], {}), clock.now())).toMatchObject([{ kind: 'clock-skew-cleared', dedupKey: 'clock-skew/a', resolves: true }]);
    expect(watch.observe(a.status([], {}), clock.now())).toEqual([]);
  });
});

describe('clock-skew metrics, read from the status', () => {
  it('the offset per peer, the peers refusing as stale, and the refused override stamps', async () => {
    const clock = new ManualClock(NOW);
    const a = view('a', clock);
    a.received({ v: 1, region: 'b', writer: true, seesQuorum: true, verdicts: [], overrides: [] }, clock.now(), clock.now() - 1500);
    a.answered('c', staleRefusal(clock.now(), TEN_MINUTES));
    a.stampRefused('c');
    const metrics = new Metrics(() => ({ region: 'a', now: clock.now(), hold: null, records: [], providers: [], cluster: a.status([], {}), endpoints: [], overrides: [] }));
    const answer = await metrics.route().handle({ method: 'GET', path: '/metrics', params: {}, query: new URLSearchParams(), body: null, actor: null, tokenName: null });
    const text = 'text' in answer ? answer.text : '';
    expect(text).toContain('dnsquorum_cluster_peer_clock_offset_seconds{peer="b"} -1.5\n');
    expect(text).toContain('dnsquorum_cluster_peer_clock_offset_seconds{peer="c"} 600\n');
    expect(text).toContain('dnsquorum_cluster_peers_refusing_stale 1\n');
    expect(text).toContain('dnsquorum_peer_override_stamps_refused_total{peer="c"} 1\n');
    expect(text).toContain('dnsquorum_peer_override_stamps_refused_total{peer="b"} 0\n');
  });
});
