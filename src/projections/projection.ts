import type { StoredEvent } from '../events/event.js';
import { isTerminal } from './instance-view.js';
import {
  emptyState,
  evolve,
  evolveJobsOnly,
  fromSnapshot,
  toSnapshot,
  type ScheduleState,
  type StateSnapshot,
  type StateSnapshotV1,
} from './state.js';

/** A pure fold plus how to (de)serialise its state for snapshots. */
export interface Projection<S> {
  name: string;
  init(): S;
  evolve(state: S, stored: StoredEvent): S;
  toSnapshot(state: S): unknown;
  fromSnapshot(data: unknown): S;
}

/** Jobs and instances: the projection schedulers and the query side both fold. */
export const scheduleProjection: Projection<ScheduleState> = {
  name: 'schedule',
  init: emptyState,
  evolve,
  toSnapshot,
  fromSnapshot: (data) => fromSnapshot(data as StateSnapshot | StateSnapshotV1),
};

/**
 * The scheduler's own fold: like {@link scheduleProjection}, but a finished instance is dropped
 * once folded. A scheduler acts only on live instances (and keeps each job's last finish time),
 * so its memory and its snapshots stay proportional to jobs and running work, not to history.
 */
export const schedulerProjection: Projection<ScheduleState> = {
  ...scheduleProjection,
  name: 'scheduler',
  evolve(state, stored) {
    evolve(state, stored);
    const id = (stored.event.data as { instanceId?: string }).instanceId;
    if (id !== undefined && stored.event.type.startsWith('Instance')) {
      const inst = state.instances.get(id);
      if (inst && isTerminal(inst.status)) state.instances.delete(id);
    }
    return state;
  },
};

/**
 * Job views only, for a fold of the job subjects alone (the command endpoint's). A fire folded by
 * {@link scheduleProjection} waits for its instance's events to settle it; this fold never sees
 * them, so it keeps jobs and nothing else, and its memory stays proportional to jobs, not fires.
 */
export const jobsProjection: Projection<ScheduleState> = {
  ...scheduleProjection,
  name: 'jobs',
  evolve: evolveJobsOnly,
};
