/**
 * When a scheduler saves a partition's snapshot. A takeover restores the snapshot and folds the
 * events after it, so the tail since the last save is what a survivor must fold before it fires
 * the partition again. Under load a fixed interval lets that tail grow with the load; counting the
 * events folded since the save bounds it.
 */
export interface SnapshotPolicy {
  /** The longest a partition that has moved goes without a snapshot (ms). */
  everyMs: number;
  /**
   * A partition that has folded this many events since its snapshot is saved at the next check,
   * or once it has folded as many as the snapshot would hold items, if that is more: a large
   * state is not written over and over for a few events each time.
   */
  afterEvents: number;
  /** How often the partitions are looked at (ms). */
  checkEveryMs: number;
}

export const DEFAULT_SNAPSHOT_EVERY_MS = 30_000;
export const DEFAULT_SNAPSHOT_AFTER_EVENTS = 1000;

export function snapshotPolicy(opts: {
  snapshotEveryMs?: number;
  snapshotAfterEvents?: number;
  snapshotCheckEveryMs?: number;
}): SnapshotPolicy {
  const everyMs = opts.snapshotEveryMs ?? DEFAULT_SNAPSHOT_EVERY_MS;
  const policy = {
    everyMs,
    afterEvents: opts.snapshotAfterEvents ?? DEFAULT_SNAPSHOT_AFTER_EVENTS,
    checkEveryMs: opts.snapshotCheckEveryMs ?? Math.min(5000, everyMs),
  };
  for (const [name, value] of [
    ['snapshotEveryMs', policy.everyMs],
    ['snapshotAfterEvents', policy.afterEvents],
    ['snapshotCheckEveryMs', policy.checkEveryMs],
  ] as const)
    if (!(Number.isInteger(value) && value >= 1))
      throw new RangeError(`${name} must be an integer ≥ 1, got ${value}`);
  return policy;
}

/** What a check knows of one partition since its last snapshot. */
export interface SinceSnapshot {
  /** Events folded since the snapshot (0: nothing to save). */
  events: number;
  /** When the snapshot was saved, or the partition taken (ms). */
  savedAtMs: number;
  /** Jobs and instances the state holds: what the next snapshot writes. */
  items: number;
}

export function snapshotDue(since: SinceSnapshot, nowMs: number, policy: SnapshotPolicy): boolean {
  if (since.events === 0) return false;
  if (nowMs - since.savedAtMs >= policy.everyMs) return true;
  return since.events >= Math.max(policy.afterEvents, since.items);
}
