/**
 * Who writes: pure, so every replica that sees the same peers reaches the same answer.
 *
 * A replica may write when it is writer-capable (cluster.writer), fresh (heard from within
 * cluster.staleAfter; a replica is always fresh to itself) and sees a quorum of regions. Among
 * those, the smallest region name writes. When the writer falls silent it stops being fresh and
 * the next in order takes over; a replica cut off from the quorum never qualifies. Two replicas
 * writing at once (while their views differ) is harmless: both write the same desired state.
 */
export interface WriterCandidate {
  readonly region: string;
  readonly writerCapable: boolean;
  readonly fresh: boolean;
  readonly seesQuorum: boolean;
}

export function electWriter(candidates: readonly WriterCandidate[]): string | null {
  const eligible = candidates.filter((c) => c.writerCapable && c.fresh && c.seesQuorum).map((c) => c.region);
  eligible.sort();
  return eligible[0] ?? null;
}
