import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW_MS, PeerVerifier } from '../../src/cluster/auth.js';
import { ClusterView, SILENT_AFTER_UNANSWERED } from '../../src/cluster/cluster-view.js';
import type { PeerMessage, PeerOverride } from '../../src/cluster/messages.js';
import { PeerSender } from '../../src/cluster/peer-client.js';
import type { PostOutcome } from '../../src/cluster/peer-client.js';
import { peerIntake } from '../../src/cluster/peer-intake.js';
import { peerRoute } from '../../src/cluster/peer-route.js';
import { writeMode } from '../../src/cluster/write-mode.js';
import type { PeerConfig } from '../../src/config/types.js';
import { AdminApi } from '../../src/control/api/server.js';
import { FileOverrideStore } from '../../src/control/overrides/file-store.js';
import { slotOf } from '../../src/domain/override.js';
import type { OverrideEntry } from '../../src/domain/override.js';
import { ManualClock, systemClock } from '../../src/lib/clock.js';
import type { Clock } from '../../src/lib/clock.js';
import { HLC_MAX_FORWARD_MS, HybridLogicalClock, compareStamps } from '../../src/lib/hlc.js';
import { silentLogger } from '../../src/lib/logger.js';
import { HealthBoard } from '../../src/quorum/health-board.js';
import type { StartupHold } from '../../src/quorum/startup.js';
import type { WriteMode } from '../../src/sync/reconciler.js';
import { memoryLogger } from '../helpers/memory-logger.js';

/**
 * Issue 16, defect 2: a replica whose clock is more than the replay window off is refused as
 * `stale` by peers that are plainly alive. It must hold (not enter break-glass and fight the
 * writer), and report the skew; a peer's override stamp may pull the hybrid logical clock ahead
 * by at most HLC_MAX_FORWARD_MS. Decisions run on ManualClocks; the sender and the peer route
 * cross a real loopback socket.
 */

const NOW = 1_700_000_000_000;
const TEN_MINUTES = 10 * 60_000;
const SECRET = 'clock-skew-cluster-secret';
const STALE_AFTER_MS = 5000;
const NO_STARTUP_HOLD: StartupHold = { hold: false, reason: '', waitingFor: [] };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function peersOf(region: string): PeerConfig[] {
  return ['a', 'b', 'c'].filter((r) => r !== region).map((r) => ({ region: r, url: `http://127.0.0.1:9/${r}` }));
}

function view(region: string, clock: Clock): ClusterView {
  return new ClusterView({ region, peers: peersOf(region), quorum: 2, staleAfterMs: STALE_AFTER_MS, writerCapable: true, clock });
}

/** What main.ts asks: this replica's write mode from its cluster view, with an override active. */
function modeOf(cluster: ClusterView, overridesActive = true): WriteMode {
  return writeMode({
    notWriter: cluster.holdReason(),
    writerCapable: true,
    writerInView: cluster.writer() !== null,
    alivePeers: cluster.alivePeers(),
    overridesActive,
    startup: NO_STARTUP_HOLD,
  });
}

/** The promise's value, or a failure naming what did not happen within `ms` (the posts cross a real socket). */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what}: nothing within ${ms} ms`)); }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const message = (region: string, seesQuorum = true): PeerMessage => ({ v: 1, region, writer: true, seesQuorum, verdicts: [], overrides: [] });
const staleRefusal = (at: number, offsetMs: number | null): PostOutcome => ({ kind: 'refused', at, stale: true, offsetMs, error: 'HTTP 401 DQ_PEER_REJECTED: peer message rejected: stale' });
const unanswered = (at: number): PostOutcome => ({ kind: 'unanswered', at, error: 'fetch failed: ECONNREFUSED' });

describe('writeMode: break-glass only for a replica that hears nobody', () => {
  const notWriter = 'no quorum of regions in view: hears c (1), needs 2';

  it('a replica whose peers answer (refusing its messages as stale) holds its override instead of writing it', () => {
    const mode = writeMode({ notWriter, writerCapable: true, writerInView: false, alivePeers: ['a', 'b'], overridesActive: true, startup: NO_STARTUP_HOLD });
    expect(mode.kind).toBe('hold');
    expect(mode.kind === 'hold' ? mode.reason : '').toBe(`${notWriter}; no break-glass: a, b are alive (answering) and may be writing`);
  });

  it('a replica that hears nobody still writes its override (break-glass)', () => {
    const mode = writeMode({ notWriter, writerCapable: true, writerInView: false, alivePeers: [], overridesActive: true, startup: NO_STARTUP_HOLD });
    expect(mode).toEqual({ kind: 'overrides-only', reason: `break-glass: ${notWriter}; no peer answers, so overrides are written from here` });
  });
});

describe('ClusterView: who is alive, and the clock skew it reports', () => {
  it('a replica 10 min ahead, refused as stale by both peers: holds, names the skew, is no second writer', () => {
    const clock = new ManualClock(NOW + TEN_MINUTES);
    const c = view('c', clock);
    for (let round = 0; round < 10; round++) {
      c.answered('a', staleRefusal(clock.now(), -TEN_MINUTES));
      c.answered('b', staleRefusal(clock.now(), -TEN_MINUTES - 3));
      clock.advance(1000);
    }
    expect(c.seesQuorum()).toBe(false);
    expect(c.writer()).toBeNull();
    expect(c.alivePeers()).toEqual(['a', 'b']);
    expect(c.clockSkewed()).toEqual([{ region: 'a', offsetMs: -TEN_MINUTES }, { region: 'b', offsetMs: -TEN_MINUTES - 3 }]);
    expect(c.holdReason()).toBe(
      "no quorum of regions in view: hears c (1), needs 2; clock skew: a (its clock 600.0 s behind this one's), b (its clock 600.0 s behind this one's) refuse this replica's messages as stale",
    );
    expect(modeOf(c).kind).toBe('hold');
    const status = c.status([], {});
    expect(status.clockSkewed).toEqual(['a', 'b']);
    expect(status.peers.map((p) => ({ region: p.region, alive: p.alive, refusesStale: p.refusesStale, clockOffsetMs: p.clockOffsetMs }))).toEqual([
      { region: 'a', alive: true, refusesStale: true, clockOffsetMs: -TEN_MINUTES },
      { region: 'b', alive: true, refusesStale: true, clockOffsetMs: -TEN_MINUTES - 3 },
    ]);
  });

  it('peers that stop answering are gone only after posts in a row end without an answer and staleAfter has passed', () => {
    const clock = new ManualClock(NOW);
    const c = view('c', clock);
    c.received(message('a'), clock.now());
    c.answered('a', { kind: 'accepted', at: clock.now() });
    c.answered('b', { kind: 'accepted', at: clock.now() });
    // Both die: posts to them are refused at once, every round.
    for (let i = 0; i < SILENT_AFTER_UNANSWERED + 2; i++) {
      clock.advance(200);
      c.answered('a', unanswered(clock.now()));
      c.answered('b', unanswered(clock.now()));
    }
    expect(c.alivePeers()).toEqual(['a', 'b']);
    clock.advance(STALE_AFTER_MS);
    expect(c.alivePeers()).toEqual([]);
    expect(modeOf(c).kind).toBe('overrides-only');
    // One answer, even a refusal, and the peer is alive again.
    c.answered('b', { kind: 'refused', at: clock.now(), stale: false, offsetMs: null, error: 'HTTP 401 DQ_PEER_REJECTED: peer message rejected: bad-signature' });
    expect(c.alivePeers()).toEqual(['b']);
    expect(modeOf(c).kind).toBe('hold');
  });

  it('after this process stalls longer than staleAfter, the one post whose timer fired during the stall does not start break-glass', () => {
    const clock = new ManualClock(NOW);
    const b = view('b', clock);
    b.received(message('a'), clock.now());
    b.received(message('c'), clock.now());
    b.answered('a', { kind: 'accepted', at: clock.now() });
    b.answered('c', { kind: 'accepted', at: clock.now() });
    expect(modeOf(b).kind).toBe('hold');
    // Six seconds without running: every peer looks stale, and the posts in flight time out
    // before their answers, waiting in the sockets, are read.
    clock.advance(6000);
    b.answered('a', { kind: 'unanswered', at: clock.now(), error: 'no answer within 2000 ms' });
    b.answered('c', { kind: 'unanswered', at: clock.now(), error: 'no answer within 2000 ms' });
    expect(b.writer()).toBeNull();
    expect(b.alivePeers()).toEqual(['a', 'c']);
    const mode = modeOf(b);
    expect(mode.kind).toBe('hold');
    // The next posts, begun after the stall, are answered.
    b.answered('a', { kind: 'accepted', at: clock.now() });
    expect(b.alivePeers()).toEqual(['a', 'c']);
  });

  it('measures a peer\'s clock from the signed send time of its accepted messages', () => {
    const clock = new ManualClock(NOW);
    const a = view('a', clock);
    a.received(message('b'), clock.now(), clock.now() + 30_000);
    expect(a.status([], {}).peers.find((p) => p.region === 'b')?.clockOffsetMs).toBe(30_000);
    expect(a.clockSkewed()).toEqual([]);
  });
});

describe('the sender measures the skew from a signed stale answer (real loopback HTTP)', () => {
  async function startReceiver(clock: Clock): Promise<string> {
    const route = peerRoute({ verifier: new PeerVerifier({ secret: SECRET, clock }), peers: ['c'], clock, logger: silentLogger(), onMessage: () => undefined });
    const api = new AdminApi({ listen: { host: '127.0.0.1', port: 0 }, tokens: new Map([['api', 'admin-token']]), routes: [route.route], logger: silentLogger() });
    await api.start();
    cleanups.push(() => api.close());
    return `http://127.0.0.1:${api.address().port}/`;
  }

  function startSender(url: string, clock: Clock, secret = SECRET): { outcomes: PostOutcome[]; lines: ReturnType<typeof memoryLogger>['lines']; sender: PeerSender; first: Promise<PostOutcome> } {
    const outcomes: PostOutcome[] = [];
    const { logger, lines } = memoryLogger();
    let resolveFirst: (o: PostOutcome) => void = () => undefined;
    const first = new Promise<PostOutcome>((resolve) => {
      resolveFirst = resolve;
    });
    const sender = new PeerSender({
      self: 'c',
      peers: [{ region: 'a', url }],
      secret,
      // The time is the test's; the rounds and timeouts run on real time, since the posts cross real sockets.
      clock: { now: () => clock.now(), sleep: (ms, signal) => systemClock.sleep(ms, signal) },
      logger,
      intervalMs: 20,
      requestTimeoutMs: 10_000,
      message: () => message('c', false),
      answered: (_region, outcome) => {
        outcomes.push(outcome);
        resolveFirst(outcome);
      },
    });
    const stop = new AbortController();
    const running = sender.run(stop.signal);
    cleanups.push(async () => {
      stop.abort();
      await running;
    });
    return { outcomes, lines, sender, first };
  }

  it('a sender 10 min ahead learns its peer refuses it as stale and by how much, and logs one warning', async () => {
    const peerClock = new ManualClock(NOW);
    const ownClock = new ManualClock(NOW + TEN_MINUTES);
    const { outcomes, lines, sender, first } = startSender(await startReceiver(peerClock), ownClock);
    expect(await within(first, 5000, 'the first post\'s outcome')).toMatchObject({ kind: 'refused', stale: true, offsetMs: -TEN_MINUTES });
    // A few more rounds: still one warning.
    const deadline = Date.now() + 5000;
    while (outcomes.length < 4 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(outcomes.length).toBeGreaterThanOrEqual(4);
    const warnings = lines.filter((l) => l.level === 40);
    expect(warnings.map((l) => l.msg)).toEqual([
      "clock skew: peer a refuses this replica's messages as stale: its clock is 600.0 s behind this replica's; nothing is exchanged with it until the clocks agree to within the replay window (check NTP on both)",
    ]);
    expect(sender.status()[0]?.lastSendError).toBe("HTTP 401 DQ_PEER_REJECTED: peer message rejected: stale (its clock is 600.0 s behind this replica's)");
  });

  it('a stale answer not signed with the cluster secret gives no offset, but the peer still answered', async () => {
    const server = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json', 'x-dnsquorum-time': String(NOW), 'x-dnsquorum-signature': `v1=${'0'.repeat(64)}` });
      res.end(JSON.stringify({ error: { code: 'DQ_PEER_REJECTED', message: 'peer message rejected: stale' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => { resolve(); })));
    const { first } = startSender(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, new ManualClock(NOW + TEN_MINUTES));
    expect(await within(first, 5000, 'the first post\'s outcome')).toMatchObject({ kind: 'refused', stale: true, offsetMs: null });
  });
});

describe('peer intake: an override stamp too far ahead is refused, not kept', () => {
  it('an entry stamped 1 h ahead is neither merged nor lets the clock jump; one 1 min ahead is merged; each refusal counted and logged once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dq-skew-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const clock = new ManualClock(NOW);
    const hlc = new HybridLogicalClock(clock, 'a');
    const store = await FileOverrideStore.open({ path: join(dir, 'overrides.json'), clock, hlc, logger: silentLogger() });
    const board = new HealthBoard({ region: 'a', policy: { regions: ['a', 'b', 'c'], quorum: 2, staleAfterMs: STALE_AFTER_MS }, clock, rules: () => undefined });
    const cluster = view('a', clock);
    const { logger, lines } = memoryLogger();
    const adoptions: (readonly OverrideEntry[])[] = [];
    let adopted: () => void = () => undefined;
    const intake = peerIntake({
      cluster,
      board,
      store,
      clock,
      hlc,
      logger,
      healthChanged: () => undefined,
      overridesAdopted: (entries) => {
        adoptions.push(entries);
        adopted();
      },
    });
    const entry = (id: string, name: string, wall: number): PeerOverride => ({
      slot: slotOf({ zone: 'example.com.', name, type: 'A', action: { kind: 'force-pool', pool: 'secondary' } }),
      stamp: { wall, logical: 0, replica: 'b' },
      override: {
        id,
        zone: 'example.com.',
        name,
        type: 'A',
        action: { kind: 'force-pool', pool: 'secondary' },
        actor: 'alice',
        token: 'ops',
        reason: 'maintenance',
        forced: false,
        origin: 'b',
        createdAgoMs: 0,
        expiresInMs: 3_600_000,
      },
      released: null,
    });
    const farAhead = entry('o-00000000000f', 'api.example.com.', NOW + 3_600_000);
    const nearAhead = entry('o-00000000000e', 'www.example.com.', NOW + 60_000);
    const fromB: PeerMessage = { ...message('b'), overrides: [farAhead, nearAhead] };
    const merged = new Promise<void>((resolve) => {
      adopted = resolve;
    });
    intake(fromB, clock.now(), clock.now());
    await merged;
    expect(store.entries().map((e) => e.override.id)).toEqual(['o-00000000000e']);
    const local = hlc.now();
    expect(local.wall).toBe(NOW + 60_000);
    expect(compareStamps(local, farAhead.stamp)).toBeLessThan(0);
    const refusals = (): unknown[] => lines.filter((l) => l.level === 40 && l.msg.startsWith('clock skew: refused override o-00000000000f from b'));
    expect(refusals()).toHaveLength(1);
    expect(cluster.status([], {}).peers.find((p) => p.region === 'b')?.stampsRefused).toBe(1);

    // Sent again next round: not merged, not counted or logged again.
    intake(fromB, clock.now(), clock.now());
    await store.sweep();
    expect(store.entries().map((e) => e.override.id)).toEqual(['o-00000000000e']);
    expect(refusals()).toHaveLength(1);
    expect(cluster.status([], {}).peers.find((p) => p.region === 'b')?.stampsRefused).toBe(1);
    expect(adoptions).toHaveLength(1);
  });

  it('the bound is the peer replay window', () => {
    expect(HLC_MAX_FORWARD_MS).toBe(DEFAULT_WINDOW_MS);
  });
});
