import type { OverrideEntry } from '../domain/override.js';
import type { PeerOverride } from './messages.js';

/** An entry as sent at `now` (this replica's clock): times become ages and time left. */
export function toPeerOverride(entry: OverrideEntry, now: number): PeerOverride {
  const { createdAt, expiresAt, ...rest } = entry.override;
  return {
    slot: entry.slot,
    stamp: entry.stamp,
    override: { ...rest, createdAgoMs: now - createdAt, expiresInMs: expiresAt - now },
    released: entry.released === null ? null : { agoMs: now - entry.released.at, actor: entry.released.actor, token: entry.released.token, reason: entry.released.reason },
  };
}

/** An entry as received at `receivedAt` (this replica's clock): ages and time left become this replica's times. */
export function fromPeerOverride(peer: PeerOverride, receivedAt: number): OverrideEntry {
  const { createdAgoMs, expiresInMs, ...rest } = peer.override;
  return {
    slot: peer.slot,
    stamp: peer.stamp,
    override: { ...rest, createdAt: receivedAt - createdAgoMs, expiresAt: receivedAt + expiresInMs },
    released: peer.released === null ? null : { at: receivedAt - peer.released.agoMs, actor: peer.released.actor, token: peer.released.token, reason: peer.released.reason },
  };
}
