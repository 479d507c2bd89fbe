import type { Runtime } from './runtime.js';
import { scheduleProjection } from '../projections/projection.js';
import { rebuild } from '../projections/runner.js';
import type { ScheduleState } from '../projections/state.js';
import type { InstanceView } from '../projections/instance-view.js';

/** The query side's view: every job and instance, folded from the stream. */
export async function loadQueryState(rt: Pick<Runtime, 'store'>): Promise<ScheduleState> {
  return (await rebuild(rt.store, scheduleProjection)).state;
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
