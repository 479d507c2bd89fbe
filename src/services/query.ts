import type { Runtime } from './runtime.js';
import { scheduleProjection } from '../projections/projection.js';
import { rebuild } from '../projections/runner.js';
import type { ScheduleState } from '../projections/state.js';
import type { InstanceView } from '../projections/instance-view.js';
import { partitionOf, subjects } from '../events/subjects.js';

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
