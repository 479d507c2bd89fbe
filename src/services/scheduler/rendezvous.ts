import { fnv1a } from '../../events/subjects.js';

/**
 * Rendezvous (highest-random-weight) hashing: the owner of a partition is the member with the
 * highest score for it. Every member computes the same answer from the same member list, and
 * adding or removing a member moves only the partitions it wins or held (about 1/n of them).
 */
export function rendezvousOwner(members: Iterable<string>, partition: number): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const m of members) {
    const score = mix32(fnv1a(`${m}#${partition}`));
    if (score > bestScore || (score === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}

/** murmur3's finaliser: FNV-1a alone is poorly spread over near-identical keys like "s-1#3". */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The partitions `self` should own among `members`. */
export function desiredPartitions(
  members: Iterable<string>,
  self: string,
  partitions: number,
): Set<number> {
  const list = [...members];
  const out = new Set<number>();
  for (let p = 0; p < partitions; p++) if (rendezvousOwner(list, p) === self) out.add(p);
  return out;
}
