/**
 * Which partitions this scheduler acts on. The single-replica form owns them all; the
 * lease-based form (partition leases in KV) plugs in behind the same seam.
 */
export interface Ownership {
  /** Partitions owned right now. */
  owned(): ReadonlySet<number>;
  /**
   * True only while the claim on `partition` is known to be valid now. Checked right before every
   * append, so a replica that wakes from a long pause stops at once instead of acting on stale leases.
   */
  holds(partition: number): boolean;
  /** Subscribes to changes of the owned set; returns an unsubscribe function. */
  onChange(listener: (owned: ReadonlySet<number>) => void): () => void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function ownAllPartitions(partitions: number): Ownership {
  const all = new Set(Array.from({ length: partitions }, (_, i) => i));
  return {
    owned: () => all,
    holds: (p) => all.has(p),
    onChange: () => () => undefined,
    start: async () => undefined,
    stop: async () => undefined,
  };
}
