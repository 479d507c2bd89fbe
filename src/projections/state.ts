import type { EventOf, JobEvent, StoredEvent } from '../events/event.js';
import { firesOf } from '../events/batches.js';
import { isTriggerSubjectOf } from '../events/subjects.js';
import { compactJobView, evolveJob, type JobView } from './job-view.js';
import {
  evolveInstance,
  instanceFromFire,
  isTerminal,
  type InstanceView,
} from './instance-view.js';
import { fromRows, toRows, type Rows } from './rows.js';

/** Jobs and instances folded from a set of partitions (or from everything). */
export interface ScheduleState {
  jobs: Map<string, JobView>;
  instances: Map<string, InstanceView>;
  /** Non-terminal instance ids per job (for overlap and concurrency rules). */
  active: Map<string, Set<string>>;
  /** Fires recorded on a job whose instance has not been dispatched yet (half-done, or buffered). */
  undispatched: Map<string, UndispatchedFire>;
  /** The same fires' instance ids per job (derived from `undispatched`; not in snapshots). */
  undispatchedByJob: Map<string, Set<string>>;
  /** When the latest instance of each job finished (for fixed-delay schedules). */
  lastFinishMs: Map<string, number>;
}

export interface UndispatchedFire {
  jobId: string;
  instanceId: string;
  fireTimeMs: number;
  firedAtMs: number;
  params?: unknown;
}

export function emptyState(): ScheduleState {
  return {
    jobs: new Map(),
    instances: new Map(),
    active: new Map(),
    undispatched: new Map(),
    undispatchedByJob: new Map(),
    lastFinishMs: new Map(),
  };
}

/**
 * States folded from disjoint parts of the stream (partitions: each job and instance lives in
 * exactly one) as one.
 */
export function mergeStates(states: ScheduleState[]): ScheduleState {
  const all = emptyState();
  for (const s of states) {
    for (const [k, v] of s.jobs) all.jobs.set(k, v);
    for (const [k, v] of s.instances) all.instances.set(k, v);
    for (const [k, v] of s.active) all.active.set(k, v);
    for (const [k, v] of s.undispatched) all.undispatched.set(k, v);
    for (const [k, v] of s.undispatchedByJob) all.undispatchedByJob.set(k, v);
    for (const [k, v] of s.lastFinishMs) all.lastFinishMs.set(k, v);
  }
  return all;
}

const JOB_TYPES = new Set([
  'JobDefined',
  'JobUpdated',
  'JobPaused',
  'JobResumed',
  'JobDeleted',
  'JobFired',
  'JobFiredBatch',
  'JobFiresSkipped',
  'JobTriggerRequested',
  'JobTriggerRequestedBatch',
]);

const TRIGGER_TYPES = new Set(['JobTriggerRequested', 'JobTriggerRequestedBatch']);

/**
 * Folds one stored event into the state. The per-aggregate folds are pure; this function
 * updates the maps in place (they are the projection's own, and copying 100k entries per
 * event would be absurd), and returns the same state object.
 */
export function evolve(state: ScheduleState, stored: StoredEvent): ScheduleState {
  const { event, seq } = stored;
  if (JOB_TYPES.has(event.type)) {
    const next = evolveJobOf(state, stored);
    if (!next) return state;
    const jobId = next.jobId;
    if (event.type === 'JobFired') {
      addFire(state, jobId, event);
    } else if (event.type === 'JobFiredBatch') {
      for (const fired of firesOf(event)) addFire(state, jobId, fired);
    } else if (event.type === 'JobDeleted') {
      for (const id of state.undispatchedByJob.get(jobId) ?? []) state.undispatched.delete(id);
      state.undispatchedByJob.delete(jobId);
    }
    return state;
  }
  const instanceId = (event.data as { instanceId: string }).instanceId;
  const prev = state.instances.get(instanceId);
  const next = evolveInstance(prev, event as Parameters<typeof evolveInstance>[1], seq);
  if (!next || next === prev) return state;
  state.instances.set(instanceId, next);
  removeUndispatched(state, instanceId);
  if (isTerminal(next.status)) {
    const set = state.active.get(next.jobId);
    set?.delete(instanceId);
    if (set && set.size === 0) state.active.delete(next.jobId);
    const finished = next.finishedAtMs ?? stored.storedAtMs;
    if (finished > (state.lastFinishMs.get(next.jobId) ?? -Infinity))
      state.lastFinishMs.set(next.jobId, finished);
  } else {
    activeOf(state, next.jobId).add(instanceId);
  }
  return state;
}

/** The instance a fire creates: dispatched with it, or a fire waiting for its dispatch. */
function addFire(state: ScheduleState, jobId: string, event: EventOf<'JobFired'>): void {
  const d = event.data;
  if (state.instances.has(d.instanceId)) return;
  const dispatched = instanceFromFire(event);
  if (dispatched) {
    state.instances.set(d.instanceId, dispatched);
    activeOf(state, jobId).add(d.instanceId);
    return;
  }
  const fire: UndispatchedFire = {
    jobId,
    instanceId: d.instanceId,
    fireTimeMs: d.fireTimeMs,
    firedAtMs: event.atMs,
  };
  if (d.params !== undefined) fire.params = d.params;
  addUndispatched(state, fire);
}

function activeOf(state: ScheduleState, jobId: string): Set<string> {
  let set = state.active.get(jobId);
  if (!set) state.active.set(jobId, (set = new Set()));
  return set;
}

/** Folds a job event into `state.jobs`. Returns the job's new view, or undefined when nothing changed. */
function evolveJobOf(state: ScheduleState, stored: StoredEvent): JobView | undefined {
  const event = stored.event as JobEvent;
  const jobId = event.data.jobId;
  const prev = state.jobs.get(jobId);
  const triggerSubject = TRIGGER_TYPES.has(event.type) && isTriggerSubjectOf(stored.subject, jobId);
  const next = evolveJob(prev, event, stored.seq, { owned: true, triggerSubject });
  if (!next || next === prev) return undefined;
  state.jobs.set(jobId, next);
  return next;
}

/**
 * The job views alone: for a fold of job subjects only (the command endpoint's), where no instance
 * event ever comes to settle a fire, so recording fires as undispatched would only grow forever.
 */
export function evolveJobsOnly(state: ScheduleState, stored: StoredEvent): ScheduleState {
  if (JOB_TYPES.has(stored.event.type)) evolveJobOf(state, stored);
  return state;
}

function addUndispatched(state: ScheduleState, fire: UndispatchedFire): void {
  state.undispatched.set(fire.instanceId, fire);
  let ids = state.undispatchedByJob.get(fire.jobId);
  if (!ids) state.undispatchedByJob.set(fire.jobId, (ids = new Set()));
  ids.add(fire.instanceId);
}

function removeUndispatched(state: ScheduleState, instanceId: string): void {
  const fire = state.undispatched.get(instanceId);
  if (!fire) return;
  state.undispatched.delete(instanceId);
  const ids = state.undispatchedByJob.get(fire.jobId);
  ids?.delete(instanceId);
  if (ids?.size === 0) state.undispatchedByJob.delete(fire.jobId);
}

/**
 * A plain-JSON form of the state (for snapshots and comparisons). Version 2 holds its arrays as
 * {@link Rows} (each key once): a 100,000-instance partition's snapshot is smaller to store, fetch
 * and parse.
 */
export interface StateSnapshot {
  v: 2;
  jobs: Rows;
  instances: Rows;
  undispatched: Rows;
  lastFinishMs: [string, number][];
}

/** The form snapshots had before version 2 (arrays of objects); still read. */
export interface StateSnapshotV1 {
  jobs: JobView[];
  instances: InstanceView[];
  undispatched: UndispatchedFire[];
  lastFinishMs: [string, number][];
}

export function toSnapshot(state: ScheduleState): StateSnapshot {
  return {
    v: 2,
    jobs: toRows([...state.jobs.values()]),
    instances: toRows([...state.instances.values()]),
    undispatched: toRows([...state.undispatched.values()]),
    lastFinishMs: [...state.lastFinishMs],
  };
}

function unpack(snap: StateSnapshot | StateSnapshotV1): StateSnapshotV1 {
  if (!('v' in snap)) return snap;
  const v: unknown = snap.v;
  if (v !== 2) throw new Error(`snapshot form v${String(v)} is not one this version reads`);
  return {
    jobs: fromRows<JobView>(snap.jobs),
    instances: fromRows<InstanceView>(snap.instances),
    undispatched: fromRows<UndispatchedFire>(snap.undispatched),
    lastFinishMs: snap.lastFinishMs,
  };
}

export function fromSnapshot(stored: StateSnapshot | StateSnapshotV1): ScheduleState {
  const snap = unpack(stored);
  const state = emptyState();
  for (const j of snap.jobs) state.jobs.set(j.jobId, compactJobView(j));
  for (const f of snap.undispatched) addUndispatched(state, f);
  for (const [jobId, ms] of snap.lastFinishMs) state.lastFinishMs.set(jobId, ms);
  for (const i of snap.instances) {
    state.instances.set(i.instanceId, i);
    if (!isTerminal(i.status)) activeOf(state, i.jobId).add(i.instanceId);
  }
  return state;
}
