import type { StoredEvent } from '../events/event.js';
import {
  emptyState,
  evolve,
  fromSnapshot,
  toSnapshot,
  type ScheduleState,
  type StateSnapshot,
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
  fromSnapshot: (data) => fromSnapshot(data as StateSnapshot),
};
