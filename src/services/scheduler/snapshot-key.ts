/**
 * Where the scheduler's partition snapshots live in the snapshots bucket: `<this>.p<partition>`.
 * The snapshot form's version is in it: a replica of an older version, still running during a
 * rolling upgrade, never reads a form it does not know (it keeps its own key).
 */
export const SCHEDULER_SNAPSHOTS = 'sched.v2';

/** The key of one partition's snapshot, as the replica owning the partition saves it. */
export const schedulerSnapshotKey = (partition: number): string =>
  `${SCHEDULER_SNAPSHOTS}.p${partition}`;
