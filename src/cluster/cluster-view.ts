import type { PeerConfig } from '../config/types.js';
import type { Clock } from '../lib/clock.js';
import type { PeerMessage } from './messages.js';
import type { ClusterStatus, PeerStatus } from './status.js';
import { electWriter } from './writer.js';

export interface ClusterViewOptions {
  readonly region: string;
  readonly peers: readonly PeerConfig[];
  readonly quorum: number;
  readonly staleAfterMs: number;
  readonly writerCapable: boolean;
  readonly clock: Clock;
}

interface Heard {
  readonly at: number;
  readonly writer: boolean;
  readonly seesQuorum: boolean;
}

/**
 * What this replica knows of the cluster: which peers it heard from recently (by its own clock,
 * at receipt, so skew does not matter), whether it sees a quorum of regions, and who writes.
 */
export class ClusterView {
  private readonly heard = new Map<string, Heard>();

  constructor(private readonly options: ClusterViewOptions) {}

  /** A valid message arrived from a peer. */
  received(message: PeerMessage, receivedAt: number): void {
    const held = this.heard.get(message.region);
    if (held !== undefined && held.at > receivedAt) return;
    this.heard.set(message.region, { at: receivedAt, writer: message.writer, seesQuorum: message.seesQuorum });
  }

  /** This region and every peer heard from within staleAfter. */
  freshRegions(): string[] {
    const now = this.options.clock.now();
    const fresh = this.options.peers.filter((p) => this.isFresh(p.region, now)).map((p) => p.region);
    return [this.options.region, ...fresh].sort();
  }

  seesQuorum(): boolean {
    return this.freshRegions().length >= this.options.quorum;
  }

  writer(): string | null {
    const now = this.options.clock.now();
    const self = { region: this.options.region, writerCapable: this.options.writerCapable, fresh: true, seesQuorum: this.seesQuorum() };
    const peers = this.options.peers.map((p) => {
      const heard = this.heard.get(p.region);
      return { region: p.region, writerCapable: heard?.writer ?? false, fresh: this.isFresh(p.region, now), seesQuorum: heard?.seesQuorum ?? false };
    });
    return electWriter([self, ...peers]);
  }

  /** Why this replica must not write now, or undefined when it is the writer. */
  holdReason(): string | undefined {
    if (!this.options.writerCapable) return 'this replica is a prober only (cluster.writer: false)';
    if (!this.seesQuorum()) {
      const fresh = this.freshRegions();
      return `no quorum of regions in view: hears ${fresh.join(', ')} (${fresh.length}), needs ${this.options.quorum}`;
    }
    const writer = this.writer();
    if (writer !== this.options.region) return `not the writer: region ${writer ?? '(none)'} writes`;
    return undefined;
  }

  status(sent: readonly { region: string; lastSentAt: number | null; lastSendError: string | null }[], rejected: Readonly<Record<string, number>>): ClusterStatus {
    const now = this.options.clock.now();
    const peers = this.options.peers.map((p): PeerStatus => {
      const heard = this.heard.get(p.region);
      const out = sent.find((s) => s.region === p.region);
      return {
        region: p.region,
        url: p.url,
        lastHeardAt: heard?.at ?? null,
        fresh: this.isFresh(p.region, now),
        writer: heard?.writer ?? false,
        seesQuorum: heard?.seesQuorum ?? false,
        lastSentAt: out?.lastSentAt ?? null,
        lastSendError: out?.lastSendError ?? null,
      };
    });
    return {
      region: this.options.region,
      writerCapable: this.options.writerCapable,
      freshRegions: this.freshRegions(),
      quorum: this.options.quorum,
      seesQuorum: this.seesQuorum(),
      writer: this.writer(),
      peers,
      rejected,
    };
  }

  private isFresh(region: string, now: number): boolean {
    const heard = this.heard.get(region);
    return heard !== undefined && now - heard.at <= this.options.staleAfterMs;
  }
}
