import type { Runtime } from './runtime.js';
import { scheduleProjection, schedulerProjection } from '../projections/projection.js';
import { rebuild } from '../projections/runner.js';
import { createSnapshotStore, restoreSnapshot } from '../projections/snapshot-store.js';
import { mergeStates, type ScheduleState } from '../projections/state.js';
import type { InstanceView } from '../projections/instance-view.js';
import { parseEventSubject, partitionOf, subjects } from '../events/subjects.js';
import type { RawStoredEvent } from '../events/event-store.js';
import { schedulerSnapshotKey } from './scheduler/snapshot-key.js';

/** What a query needs folded: everything, or only what one job's partition holds. */
export interface QueryScope {
  /**
   * A job and its instances live in the job's partition: folding that partition alone gives the
   * same view of them as folding everything, for a fraction of the stream.
   */
  jobId?: string;
}

/** The query side's view, folded from the stream: every job and instance, or a job's partition. */
export async function loadQueryState(
  rt: Pick<Runtime, 'store' | 'names' | 'partitions'>,
  scope: QueryScope = {},
): Promise<ScheduleState> {
  const filter =
    scope.jobId === undefined
      ? undefined
      : subjects.partition(rt.names, partitionOf(scope.jobId, rt.partitions));
  return (await rebuild(rt.store, scheduleProjection, filter ? { filterSubjects: [filter] } : {}))
    .state;
}

/** One partition's part of the live state, and the last sequence already folded into it. */
interface LivePart {
  partition: number;
  seq: number;
  state: ScheduleState;
  restored: boolean;
  /** Nothing was stored in the partition when it was looked at: nothing before now to read. */
  empty: boolean;
}

/** How {@link loadLiveState} came by its state. */
export interface LiveStateSource {
  /** Partitions restored from a scheduler's snapshot, then read on from the oldest of them. */
  fromSnapshots: number[];
  /** The first sequence read for those partitions (undefined when there were none). */
  readFromSeq: number | undefined;
  /** Partitions holding events but no snapshot that could be read: folded from the start. */
  fromStart: number[];
  /** Partitions whose snapshot was passed over (unreadable, or not of this event stream), with why. */
  passedOver: { partition: number; error: string }[];
}

/**
 * Every job, with its instances still under way (finished ones are not kept): what a scheduler
 * holds, and what a list of jobs shows. Each partition starts from the snapshot its scheduler
 * saved last, and the stream is read on from the oldest of them, each event folded into its
 * partition with the scheduler's own fold when that partition's snapshot does not hold it yet.
 * A list of jobs then costs the jobs and the events since the snapshots, not the whole stream. A
 * partition without a snapshot (none saved yet, or one that cannot be read) is read on its own
 * from the start of the stream, unless it holds no event yet.
 */
export async function loadLiveState(
  rt: Pick<Runtime, 'store' | 'names' | 'partitions' | 'buckets'>,
): Promise<{ state: ScheduleState; source: LiveStateSource }> {
  const snapshots = createSnapshotStore(rt.buckets.snapshots);
  const passedOver: LiveStateSource['passedOver'] = [];
  const stream = await rt.store.streamState();
  const restore = async (partition: number): Promise<LivePart> => {
    try {
      const start = await restoreSnapshot(
        snapshots,
        schedulerSnapshotKey(partition),
        (data) => schedulerProjection.fromSnapshot(data),
        () => Promise.resolve(stream),
      );
      if (start.kind === 'restored')
        return { partition, seq: start.seq, state: start.state, restored: true, empty: false };
      if (start.kind === 'passed-over') passedOver.push({ partition, error: start.why });
    } catch (err) {
      // A list is read-only: a snapshot that could not be fetched is passed over too.
      passedOver.push({ partition, error: (err as Error).message });
    }
    const empty = (await rt.store.lastSeq(subjects.partition(rt.names, partition))) === 0;
    return { partition, seq: 0, state: schedulerProjection.init(), restored: false, empty };
  };
  const parts = await Promise.all(Array.from({ length: rt.partitions }, (_, p) => restore(p)));
  const fold = (raw: RawStoredEvent) => {
    if (!raw.decoded.ok) return;
    const at = parseEventSubject(rt.names, raw.subject);
    const part = at && parts[at.partition];
    if (!part || raw.seq <= part.seq) return;
    schedulerProjection.evolve(part.state, {
      seq: raw.seq,
      subject: raw.subject,
      storedAtMs: raw.storedAtMs,
      event: raw.decoded.event,
    });
  };
  const filters = (ps: LivePart[]) => ps.map((p) => subjects.partition(rt.names, p.partition));
  const restored = parts.filter((p) => p.restored);
  const readFromSeq = restored.length > 0 ? Math.min(...restored.map((p) => p.seq)) + 1 : undefined;
  if (readFromSeq !== undefined)
    await rt.store.scan(
      { filterSubjects: filters(restored), fromSeq: readFromSeq, inThread: true },
      fold,
    );
  const fromStart = parts.filter((p) => !p.restored && !p.empty);
  if (fromStart.length > 0)
    await rt.store.scan({ filterSubjects: filters(fromStart), fromSeq: 1, inThread: true }, fold);
  return {
    state: mergeStates(parts.map((p) => p.state)),
    source: {
      fromSnapshots: restored.map((p) => p.partition),
      readFromSeq,
      fromStart: fromStart.map((p) => p.partition),
      passedOver: passedOver.sort((a, b) => a.partition - b.partition),
    },
  };
}

export interface InstanceFilter {
  jobId?: string;
  status?: string;
  limit?: number;
}

/** Instances newest fire first, filtered. */
export function listInstances(state: ScheduleState, f: InstanceFilter = {}): InstanceView[] {
  const out: InstanceView[] = [];
  for (const inst of state.instances.values()) {
    if (f.jobId && inst.jobId !== f.jobId) continue;
    if (f.status && inst.status !== f.status) continue;
    out.push(inst);
  }
  out.sort((a, b) => b.fireTimeMs - a.fireTimeMs || a.instanceId.localeCompare(b.instanceId));
  return f.limit ? out.slice(0, f.limit) : out;
}
