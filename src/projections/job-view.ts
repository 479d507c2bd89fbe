import type { JobSpec } from '../domain/job-spec.js';
import type { JobEvent } from '../events/event.js';
import { createInterner } from './interner.js';

export const JobStatus = { Active: 'active', Paused: 'paused', Deleted: 'deleted' } as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export interface PendingTrigger {
  triggerId: string;
  dueAtMs: number;
  reason: 'manual' | 'backfill' | 'rerun';
  params?: unknown;
  rerunOf?: string;
  fireTimeMs?: number;
}

/** Current state of one job, folded from its subject. */
export interface JobView {
  jobId: string;
  spec: JobSpec;
  status: JobStatus;
  createdAtMs: number;
  updatedAtMs: number;
  /** Stream sequence of the job's last event: the expectation for its next append. */
  lastSeq: number;
  /**
   * Stream sequence of the last trigger request folded from the job's trigger subject (those do
   * not move `lastSeq`; see `EventSubjectKind`). Absent until the first one.
   */
  triggerSeq?: number;
  /** Fires so far (all reasons). */
  runs: number;
  /** Intended time of the latest scheduled (or caught-up) tick, if any. */
  lastTickMs?: number;
  /** Intended time of the newest tick recorded as skipped (misfire or overlap policy). */
  lastSkippedMs?: number;
  /** Ticks are counted from here: creation, or the last change of schedule. */
  anchorMs: number;
  /** No tick at or before this instant fires (set on resume: paused ticks are skipped). */
  notBeforeMs?: number;
  lastFiredAtMs?: number;
  /** Triggers requested but not fired yet, by id. */
  pendingTriggers: Record<string, PendingTrigger>;
  skippedTicks: number;
}

/** No pending trigger: shared by every job without one, so never written to (copied first). */
const NO_TRIGGERS: Readonly<Record<string, PendingTrigger>> = Object.freeze({});

/** Equal schedules, retry policies and params are held once across all folds of the process. */
const shared = createInterner();

/** The spec as a view keeps it: its commonly equal parts shared, its name the job id's string. */
function compactSpec(spec: JobSpec, jobId: string): JobSpec {
  return {
    ...spec,
    name: spec.name === jobId ? jobId : spec.name,
    schedule: shared(spec.schedule),
    retry: shared(spec.retry),
    params: shared(spec.params),
  };
}

/** A view read back from a snapshot, holding what it shares with other views once. */
export function compactJobView(view: JobView): JobView {
  const empty = Object.keys(view.pendingTriggers).length === 0;
  return {
    ...view,
    spec: compactSpec(view.spec, view.jobId),
    ...(empty && { pendingTriggers: NO_TRIGGERS }),
  };
}

/**
 * A copy of the view at a new sequence, for the event being folded to change: written out field by
 * field, which V8 makes several times faster than a spread with overrides (see the instance
 * view's). A unit spec holds it to every field.
 */
function copied(v: JobView, lastSeq: number): JobView {
  const c: JobView = {
    jobId: v.jobId,
    spec: v.spec,
    status: v.status,
    createdAtMs: v.createdAtMs,
    updatedAtMs: v.updatedAtMs,
    lastSeq,
    runs: v.runs,
    anchorMs: v.anchorMs,
    pendingTriggers: v.pendingTriggers,
    skippedTicks: v.skippedTicks,
  };
  if (v.lastTickMs !== undefined) c.lastTickMs = v.lastTickMs;
  if (v.lastSkippedMs !== undefined) c.lastSkippedMs = v.lastSkippedMs;
  if (v.notBeforeMs !== undefined) c.notBeforeMs = v.notBeforeMs;
  if (v.lastFiredAtMs !== undefined) c.lastFiredAtMs = v.lastFiredAtMs;
  if (v.triggerSeq !== undefined) c.triggerSeq = v.triggerSeq;
  return c;
}

export interface EvolveJobOptions {
  /**
   * The caller owns `state` (a projection's map entry that nobody else keeps): its
   * `pendingTriggers` record is updated in place instead of copied. Copying it on every trigger
   * and fire made a burst of n triggers on one job cost O(n²).
   */
  owned?: boolean;
  /**
   * The event was read from the job's trigger subject: a trigger request folded in by its own
   * sequence (`triggerSeq`), leaving `lastSeq`, the job subject's, as it is. Trigger requests
   * stored on the job's subject (before they had their own) move `lastSeq` as any job event.
   */
  triggerSubject?: boolean;
}

/**
 * Fold of one job's events. Returns a new view; never mutates its input unless the caller
 * declares it owns it ({@link EvolveJobOptions.owned}).
 */
export function evolveJob(
  state: JobView | undefined,
  event: JobEvent,
  seq: number,
  opts: EvolveJobOptions = {},
): JobView | undefined {
  if (event.type === 'JobDefined') {
    if (state && seq <= state.lastSeq) return state;
    return {
      jobId: event.data.jobId,
      spec: compactSpec(event.data.spec, event.data.jobId),
      status: event.data.spec.enabled ? 'active' : 'paused',
      createdAtMs: event.data.createdAtMs,
      updatedAtMs: event.atMs,
      anchorMs: event.data.createdAtMs,
      lastSeq: seq,
      runs: 0,
      pendingTriggers: NO_TRIGGERS,
      skippedTicks: 0,
    };
  }
  if (!state) return undefined; // events of a job we never saw defined: nothing to fold into
  if (opts.triggerSubject) return evolveTriggers(state, event, seq, opts.owned === true);
  if (seq <= state.lastSeq) return state; // already folded (applied optimistically by its writer)
  const next = copied(state, seq);
  switch (event.type) {
    case 'JobUpdated': {
      const scheduleChanged =
        JSON.stringify(event.data.spec.schedule) !== JSON.stringify(state.spec.schedule);
      next.spec = compactSpec(event.data.spec, state.jobId);
      next.updatedAtMs = event.atMs;
      if (scheduleChanged) {
        next.anchorMs = event.atMs;
        next.notBeforeMs = event.atMs;
      }
      return next;
    }
    case 'JobPaused':
      next.status = 'paused';
      next.updatedAtMs = event.atMs;
      return next;
    case 'JobResumed':
      next.status = 'active';
      next.updatedAtMs = event.atMs;
      next.notBeforeMs = event.atMs;
      return next;
    case 'JobDeleted':
      next.status = 'deleted';
      next.pendingTriggers = NO_TRIGGERS;
      next.updatedAtMs = event.atMs;
      return next;
    case 'JobFired':
      foldFire(next, state, event.data, opts.owned === true);
      next.lastFiredAtMs = event.atMs;
      return next;
    case 'JobFiredBatch':
      for (const fire of event.data.fires) foldFire(next, state, fire, opts.owned === true);
      next.lastFiredAtMs = event.atMs;
      return next;
    case 'JobFiresSkipped': {
      const d = event.data;
      next.skippedTicks = state.skippedTicks + d.count;
      next.lastSkippedMs = Math.max(state.lastSkippedMs ?? -Infinity, d.lastFireTimeMs);
      return next;
    }
    case 'JobTriggerRequested':
      foldTrigger(next, state, event.data, opts.owned === true);
      return next;
    case 'JobTriggerRequestedBatch':
      for (const trigger of event.data.triggers)
        foldTrigger(next, state, trigger, opts.owned === true);
      return next;
    default: {
      const never: never = event;
      return never;
    }
  }
}

/** A trigger request read from the job's trigger subject (see {@link EvolveJobOptions}). */
function evolveTriggers(state: JobView, event: JobEvent, seq: number, owned: boolean): JobView {
  if (seq <= (state.triggerSeq ?? 0)) return state; // already folded
  if (event.type !== 'JobTriggerRequested' && event.type !== 'JobTriggerRequestedBatch')
    return state; // nothing else is appended there
  const next = copied(state, state.lastSeq);
  next.triggerSeq = seq;
  if (event.type === 'JobTriggerRequested') foldTrigger(next, state, event.data, owned);
  else for (const trigger of event.data.triggers) foldTrigger(next, state, trigger, owned);
  return next;
}

/**
 * One trigger into `next` (a copy of `state` being built): pending from now on. The pending record
 * is copied once, the first time, unless the caller owns the view.
 */
function foldTrigger(next: JobView, state: JobView, d: PendingTrigger, owned: boolean): void {
  const trigger: PendingTrigger = { triggerId: d.triggerId, dueAtMs: d.dueAtMs, reason: d.reason };
  if (d.params !== undefined) trigger.params = d.params;
  if (d.rerunOf !== undefined) trigger.rerunOf = d.rerunOf;
  if (d.fireTimeMs !== undefined) trigger.fireTimeMs = d.fireTimeMs;
  const inPlace = owned && state.pendingTriggers !== NO_TRIGGERS;
  if (!inPlace && next.pendingTriggers === state.pendingTriggers)
    next.pendingTriggers = { ...state.pendingTriggers };
  next.pendingTriggers[d.triggerId] = trigger;
}

/**
 * One fire into `next` (a copy of `state` being built): its trigger is no longer pending, and the
 * run count and latest tick move on. The pending record is copied once, the first time a fire
 * removes a trigger from it, unless the caller owns the view.
 */
function foldFire(
  next: JobView,
  state: JobView,
  fire: { instanceId: string; runNumber: number; reason: string; fireTimeMs: number },
  owned: boolean,
): void {
  const triggerId = triggerIdOfInstance(fire.instanceId);
  if (triggerId !== undefined && triggerId in next.pendingTriggers) {
    if (!owned && next.pendingTriggers === state.pendingTriggers)
      next.pendingTriggers = { ...state.pendingTriggers };
    delete next.pendingTriggers[triggerId];
  }
  next.runs = Math.max(next.runs, fire.runNumber);
  if (fire.reason === 'schedule' || fire.reason === 'catch-up')
    next.lastTickMs = Math.max(next.lastTickMs ?? -Infinity, fire.fireTimeMs);
}

/** Instances fired by a trigger carry the trigger id after "t-" in their suffix. */
export function instanceSuffixForTrigger(triggerId: string): string {
  return `t-${triggerId}`;
}
export function triggerIdOfInstance(instanceId: string): string | undefined {
  const i = instanceId.indexOf('~t-');
  return i >= 0 ? instanceId.slice(i + 3) : undefined;
}
