import type { RecordSet } from '../domain/record.js';
import { ProviderError } from '../lib/errors.js';
import type { DnsProvider } from './provider.js';

/** What reading one provider's copy of a zone gave. */
export type Listing = { ok: true; records: RecordSet[]; zoneMissing: boolean } | { ok: false; error: unknown };

/** Reads a zone's record sets; a zone the provider does not hold is an empty listing marked missing, not a failure. */
export async function readZone(provider: DnsProvider, zone: string, signal: AbortSignal): Promise<Listing> {
  try {
    return { ok: true, records: await provider.listRecords(zone, signal), zoneMissing: false };
  } catch (err) {
    if (err instanceof ProviderError && err.code === 'DQ_ZONE_NOT_FOUND') return { ok: true, records: [], zoneMissing: true };
    return { ok: false, error: err };
  }
}

/**
 * Creates the zone at a provider that does not hold it, and re-reads it: a new zone comes with the
 * provider's own SOA and NS, and the plan must be made against what it really holds. The listing
 * keeps zoneMissing, so reports can say the zone was created.
 */
export async function createIfMissing(provider: DnsProvider, zone: string, listing: Listing, signal: AbortSignal): Promise<Listing> {
  if (!listing.ok || !listing.zoneMissing) return listing;
  try {
    await provider.ensureZone(zone, signal);
    return { ok: true, records: await provider.listRecords(zone, signal), zoneMissing: true };
  } catch (err) {
    return { ok: false, error: err };
  }
}

/** A provider's own name servers for the zone, or the error that kept them from being read. */
export async function readNameservers(provider: DnsProvider, zone: string, signal: AbortSignal): Promise<{ ok: true; hosts: string[] } | { ok: false; error: unknown }> {
  try {
    return { ok: true, hosts: await provider.nameservers(zone, signal) };
  } catch (err) {
    return { ok: false, error: err };
  }
}
