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

export interface EvolveJobOptions {
  /**
   * The caller owns `state` (a projection's map entry that nobody else keeps): its
   * `pendingTriggers` record is updated in place instead of copied. Copying it on every trigger
   * and fire made a burst of n triggers on one job cost O(n²).
   */
  owned?: boolean;
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
  if (seq <= state.lastSeq) return state; // already folded (applied optimistically by its writer)
  const base = { ...state, lastSeq: seq };
  switch (event.type) {
    case 'JobUpdated': {
      const scheduleChanged =
        JSON.stringify(event.data.spec.schedule) !== JSON.stringify(state.spec.schedule);
      return {
        ...base,
        spec: compactSpec(event.data.spec, state.jobId),
        updatedAtMs: event.atMs,
        ...(scheduleChanged && { anchorMs: event.atMs, notBeforeMs: event.atMs }),
      };
    }
    case 'JobPaused':
      return { ...base, status: 'paused', updatedAtMs: event.atMs };
    case 'JobResumed':
      return { ...base, status: 'active', updatedAtMs: event.atMs, notBeforeMs: event.atMs };
    case 'JobDeleted':
      return { ...base, status: 'deleted', pendingTriggers: NO_TRIGGERS, updatedAtMs: event.atMs };
    case 'JobFired': {
      const d = event.data;
      const triggerId = triggerIdOfInstance(d.instanceId);
      let pendingTriggers = state.pendingTriggers;
      if (triggerId !== undefined && triggerId in pendingTriggers) {
        if (!opts.owned) pendingTriggers = { ...pendingTriggers };
        delete pendingTriggers[triggerId];
      }
      const isTick = d.reason === 'schedule' || d.reason === 'catch-up';
      return {
        ...base,
        runs: Math.max(state.runs, d.runNumber),
        lastFiredAtMs: event.atMs,
        pendingTriggers,
        ...(isTick && { lastTickMs: Math.max(state.lastTickMs ?? -Infinity, d.fireTimeMs) }),
      };
    }
    case 'JobFiresSkipped': {
      const d = event.data;
      return {
        ...base,
        skippedTicks: state.skippedTicks + d.count,
        lastSkippedMs: Math.max(state.lastSkippedMs ?? -Infinity, d.lastFireTimeMs),
      };
    }
    case 'JobTriggerRequested': {
      const d = event.data;
      const trigger: PendingTrigger = {
        triggerId: d.triggerId,
        dueAtMs: d.dueAtMs,
        reason: d.reason,
      };
      if (d.params !== undefined) trigger.params = d.params;
      if (d.rerunOf !== undefined) trigger.rerunOf = d.rerunOf;
      if (d.fireTimeMs !== undefined) trigger.fireTimeMs = d.fireTimeMs;
      const inPlace = opts.owned && state.pendingTriggers !== NO_TRIGGERS;
      const pendingTriggers = inPlace ? state.pendingTriggers : { ...state.pendingTriggers };
      pendingTriggers[d.triggerId] = trigger;
      return { ...base, pendingTriggers };
    }
    default: {
      const never: never = event;
      return never;
    }
  }
}

/** Instances fired by a trigger carry the trigger id after "t-" in their suffix. */
export function instanceSuffixForTrigger(triggerId: string): string {
  return `t-${triggerId}`;
}
export function triggerIdOfInstance(instanceId: string): string | undefined {
  const i = instanceId.indexOf('~t-');
  return i >= 0 ? instanceId.slice(i + 3) : undefined;
}
