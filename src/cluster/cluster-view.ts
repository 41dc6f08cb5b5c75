import type { PeerConfig } from '../config/types.js';
import type { Clock } from '../lib/clock.js';
import type { PeerMessage } from './messages.js';
import { describeOffset } from './peer-client.js';
import type { PostOutcome } from './peer-client.js';
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

/**
 * Posts in a row that must end without any answer before a peer counts as gone. One is not
 * enough: after this process stalls (CPU starvation, a long GC pause) longer than a post's
 * timeout, that post's timer can fire before the answer that has been waiting in the socket is
 * read. A post begun after the stall decides.
 */
export const SILENT_AFTER_UNANSWERED = 2;

interface Heard {
  readonly at: number;
  readonly writer: boolean;
  readonly seesQuorum: boolean;
}

/** What this replica's own posts to a peer found out. */
interface Contact {
  /** The last HTTP answer of any kind (accepted or refused). */
  answeredAt: number | null;
  /** Posts in a row that ended without an answer, since the last answer. */
  unansweredInARow: number;
  /** Its last answer refused our message as stale. */
  refusesStale: boolean;
}

/**
 * What this replica knows of the cluster: which peers it heard from recently (by its own clock,
 * at receipt, so skew does not matter), whether it sees a quorum of regions, who writes, which
 * peers are alive at all (they answer, even to refuse), and how far each peer's clock is from this one's.
 */
export class ClusterView {
  private readonly heard = new Map<string, Heard>();
  private readonly contacts = new Map<string, Contact>();
  /** The peer's clock minus this one's, as last measured (from a message's signed send time or a signed stale answer). */
  private readonly offsets = new Map<string, number>();
  private readonly stampsRefused = new Map<string, number>();

  constructor(private readonly options: ClusterViewOptions) {}

  /** A valid message arrived from a peer; `sentAt` is its signed send time (the sender's clock), when known. */
  received(message: PeerMessage, receivedAt: number, sentAt?: number): void {
    if (sentAt !== undefined) this.offsets.set(message.region, sentAt - receivedAt);
    const held = this.heard.get(message.region);
    if (held !== undefined && held.at > receivedAt) return;
    this.heard.set(message.region, { at: receivedAt, writer: message.writer, seesQuorum: message.seesQuorum });
  }

  /** How one of this replica's posts to a peer ended. */
  answered(region: string, outcome: PostOutcome): void {
    const contact = this.contact(region);
    if (outcome.kind === 'unanswered') {
      contact.unansweredInARow += 1;
      return;
    }
    contact.answeredAt = Math.max(contact.answeredAt ?? outcome.at, outcome.at);
    contact.unansweredInARow = 0;
    contact.refusesStale = outcome.kind === 'refused' && outcome.stale;
    if (outcome.kind === 'refused' && outcome.offsetMs !== null) this.offsets.set(region, outcome.offsetMs);
  }

  /** An override entry from `region` was refused: its stamp was too far ahead of this replica's clock. */
  stampRefused(region: string): void {
    this.stampsRefused.set(region, (this.stampsRefused.get(region) ?? 0) + 1);
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

  /**
   * Peers that are alive as far as this replica can tell: heard from within staleAfter, answering
   * its posts (even to refuse them: a peer that refuses our messages as stale may well be the
   * writer), or not yet proven gone (SILENT_AFTER_UNANSWERED posts in a row without any answer).
   * Break-glass is for a replica that has none.
   */
  alivePeers(): string[] {
    const now = this.options.clock.now();
    return this.options.peers.filter((p) => this.isAlive(p.region, now)).map((p) => p.region);
  }

  /** Peers whose last answer refused this replica's message as stale (their clocks differ by more than the replay window), with the offset when measured. */
  clockSkewed(): { readonly region: string; readonly offsetMs: number | null }[] {
    const now = this.options.clock.now();
    return this.options.peers
      .filter((p) => this.contacts.get(p.region)?.refusesStale === true && this.isAlive(p.region, now))
      .map((p) => ({ region: p.region, offsetMs: this.offsets.get(p.region) ?? null }));
  }

  /** Why this replica must not write now, or undefined when it is the writer. */
  holdReason(): string | undefined {
    if (!this.options.writerCapable) return 'this replica is a prober only (cluster.writer: false)';
    if (!this.seesQuorum()) {
      const fresh = this.freshRegions();
      const skewed = this.clockSkewed();
      const skew = skewed.length === 0
        ? ''
        : `; clock skew: ${skewed.map((s) => `${s.region}${s.offsetMs === null ? '' : ` (its clock ${describeOffset(s.offsetMs)} this one's)`}`).join(', ')} refuse${skewed.length === 1 ? 's' : ''} this replica's messages as stale`;
      return `no quorum of regions in view: hears ${fresh.join(', ')} (${fresh.length}), needs ${this.options.quorum}${skew}`;
    }
    const writer = this.writer();
    if (writer !== this.options.region) return `not the writer: region ${writer ?? '(none)'} writes`;
    return undefined;
  }

  status(sent: readonly { region: string; lastSentAt: number | null; lastSendError: string | null }[], rejected: Readonly<Record<string, number>>): ClusterStatus {
    const now = this.options.clock.now();
    const peers = this.options.peers.map((p): PeerStatus => {
      const heard = this.heard.get(p.region);
      const contact = this.contacts.get(p.region);
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
        lastAnsweredAt: contact?.answeredAt ?? null,
        alive: this.isAlive(p.region, now),
        refusesStale: contact?.refusesStale ?? false,
        clockOffsetMs: this.offsets.get(p.region) ?? null,
        stampsRefused: this.stampsRefused.get(p.region) ?? 0,
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
      clockSkewed: this.clockSkewed().map((s) => s.region),
    };
  }

  private contact(region: string): Contact {
    let contact = this.contacts.get(region);
    if (contact === undefined) {
      contact = { answeredAt: null, unansweredInARow: 0, refusesStale: false };
      this.contacts.set(region, contact);
    }
    return contact;
  }

  private isFresh(region: string, now: number): boolean {
    const heard = this.heard.get(region);
    return heard !== undefined && now - heard.at <= this.options.staleAfterMs;
  }

  private isAlive(region: string, now: number): boolean {
    if (this.isFresh(region, now)) return true;
    const contact = this.contacts.get(region);
    if (contact === undefined) return true;
    if (contact.answeredAt !== null && now - contact.answeredAt <= this.options.staleAfterMs) return true;
    return contact.unansweredInARow < SILENT_AFTER_UNANSWERED;
  }
}
