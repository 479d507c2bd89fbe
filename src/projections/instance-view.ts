import type { DispatchSpec, ErrorInfo } from '../events/instance-events.js';
import type { EventOf, InstanceEvent } from '../events/event.js';

export const InstanceStatus = {
  Dispatched: 'dispatched',
  Running: 'running',
  /** The last attempt ended (failed, timed out, worker lost) and the supervisor has not decided yet. */
  AttemptEnded: 'attempt-ended',
  RetryWaiting: 'retry-waiting',
  Succeeded: 'succeeded',
  Failed: 'failed',
  TimedOut: 'timed-out',
  Cancelled: 'cancelled',
} as const;
export type InstanceStatus = (typeof InstanceStatus)[keyof typeof InstanceStatus];

const TERMINAL: ReadonlySet<InstanceStatus> = new Set([
  'succeeded',
  'failed',
  'timed-out',
  'cancelled',
]);
export const isTerminal = (s: InstanceStatus): boolean => TERMINAL.has(s);

/** Current state of one instance (one fire of a job), folded from its subject. */
export interface InstanceView {
  instanceId: string;
  jobId: string;
  group: string;
  processor: string;
  params?: unknown;
  priority: number;
  timeoutMs?: number;
  fireTimeMs: number;
  status: InstanceStatus;
  attempt: number;
  /** Stream sequence of the instance's last event: the expectation for its next append. */
  lastSeq: number;
  dispatchedAtMs: number;
  startedAtMs?: number;
  /** When the current attempt was started (for timeouts). */
  attemptStartedAtMs?: number;
  finishedAtMs?: number;
  workerId?: string;
  progress?: number;
  note?: string;
  result?: unknown;
  error?: ErrorInfo;
  /** Why the last attempt ended, when it did not succeed. */
  endReason?: 'error' | 'timeout' | 'worker-lost';
  retryDueAtMs?: number;
}

/**
 * The instance a fire creates when its first attempt was dispatched with it (`JobFired.dispatch`).
 * Its `lastSeq` is 0: the instance's own subject holds nothing yet, so the next append there (a
 * worker's start, a cancel) expects it empty. Undefined for a fire dispatched later.
 */
export function instanceFromFire(event: EventOf<'JobFired'>): InstanceView | undefined {
  const d = event.data;
  if (!d.dispatch) return undefined;
  return dispatchedView(undefined, d.dispatch, d, 1, 0, event.atMs);
}

/**
 * An attempt handed to its worker group: the view dispatched, from InstanceDispatched or a fire.
 * A first attempt is one literal of its fields (the spreads it replaces cost a rebuild a quarter of
 * its fold time); a later one is a {@link copied} view of the earlier attempts, redispatched.
 */
function dispatchedView(
  prev: InstanceView | undefined,
  d: DispatchSpec,
  ids: { instanceId: string; jobId: string; fireTimeMs: number },
  attempt: number,
  lastSeq: number,
  atMs: number,
): InstanceView {
  let view: InstanceView;
  if (prev) {
    // What earlier attempts recorded stays; the retry's due time and the last attempt's start go.
    view = copied(prev, lastSeq);
    delete view.retryDueAtMs;
    delete view.attemptStartedAtMs;
    view.instanceId = ids.instanceId;
    view.jobId = ids.jobId;
    view.group = d.group;
    view.processor = d.processor;
    view.priority = d.priority;
    view.fireTimeMs = ids.fireTimeMs;
    view.status = 'dispatched';
    view.attempt = attempt;
    view.dispatchedAtMs = atMs;
  } else {
    view = {
      instanceId: ids.instanceId,
      jobId: ids.jobId,
      group: d.group,
      processor: d.processor,
      priority: d.priority,
      fireTimeMs: ids.fireTimeMs,
      status: 'dispatched',
      attempt,
      lastSeq,
      dispatchedAtMs: atMs,
    };
  }
  if (d.params !== undefined) view.params = d.params;
  if (d.timeoutMs !== undefined) view.timeoutMs = d.timeoutMs;
  return view;
}

/**
 * A copy of the view at a new sequence, for the event being folded to change. Written out field by
 * field: in V8 an object spread followed by overrides (`{ ...view, lastSeq, status }`) took four
 * times as long, and a fold copies a view per event. A unit spec holds it to every field.
 */
function copied(v: InstanceView, lastSeq: number): InstanceView {
  const c: InstanceView = {
    instanceId: v.instanceId,
    jobId: v.jobId,
    group: v.group,
    processor: v.processor,
    priority: v.priority,
    fireTimeMs: v.fireTimeMs,
    status: v.status,
    attempt: v.attempt,
    lastSeq,
    dispatchedAtMs: v.dispatchedAtMs,
  };
  if (v.params !== undefined) c.params = v.params;
  if (v.timeoutMs !== undefined) c.timeoutMs = v.timeoutMs;
  if (v.startedAtMs !== undefined) c.startedAtMs = v.startedAtMs;
  if (v.attemptStartedAtMs !== undefined) c.attemptStartedAtMs = v.attemptStartedAtMs;
  if (v.finishedAtMs !== undefined) c.finishedAtMs = v.finishedAtMs;
  if (v.workerId !== undefined) c.workerId = v.workerId;
  if (v.progress !== undefined) c.progress = v.progress;
  if (v.note !== undefined) c.note = v.note;
  if (v.result !== undefined) c.result = v.result;
  if (v.error !== undefined) c.error = v.error;
  if (v.endReason !== undefined) c.endReason = v.endReason;
  if (v.retryDueAtMs !== undefined) c.retryDueAtMs = v.retryDueAtMs;
  return c;
}

/**
 * A report says who ran the attempt, and, for a claimed attempt or one whose start it records
 * (a run shorter than the worker's `recordStartAfterMs`), when its processor really began.
 */
function ranFrom(
  state: InstanceView,
  next: InstanceView,
  { workerId, startedAtMs }: { workerId: string; startedAtMs?: number | undefined },
): void {
  next.workerId = workerId;
  if (startedAtMs === undefined) return;
  if (state.startedAtMs === state.attemptStartedAtMs) next.startedAtMs = startedAtMs;
  next.attemptStartedAtMs = startedAtMs;
}

/** Pure fold of one instance's events. Returns a new object; never mutates its input. */
export function evolveInstance(
  state: InstanceView | undefined,
  event: InstanceEvent,
  seq: number,
): InstanceView | undefined {
  if (event.type === 'InstanceDispatched') {
    if (state && seq <= state.lastSeq) return state;
    return dispatchedView(state, event.data, event.data, event.data.attempt, seq, event.atMs);
  }
  if (!state) return undefined;
  if (seq <= state.lastSeq) return state; // already folded (applied optimistically by its writer)
  // One copy per event, at the new sequence; each case sets what its event changes.
  const next = copied(state, seq);
  switch (event.type) {
    case 'InstanceStarted': {
      // Claimed ahead: the attempt (and its timeout) begins at its fire time, not at the claim;
      // recorded while it ran: when it began.
      const from =
        event.data.beganAtMs ?? Math.max(event.atMs, event.data.startsAtMs ?? event.atMs);
      next.status = 'running';
      next.workerId = event.data.workerId;
      next.startedAtMs = state.startedAtMs ?? from;
      next.attemptStartedAtMs = from;
      return next;
    }
    case 'InstanceProgressed':
      if (event.data.progress !== undefined) next.progress = event.data.progress;
      if (event.data.note !== undefined) next.note = event.data.note;
      return next;
    case 'InstanceSucceeded':
      ranFrom(state, next, event.data);
      next.status = 'succeeded';
      next.finishedAtMs = event.atMs;
      if (event.data.result !== undefined) next.result = event.data.result;
      return next;
    case 'InstanceAttemptFailed':
      ranFrom(state, next, event.data);
      next.status = 'attempt-ended';
      next.endReason = 'error';
      next.error = event.data.error;
      return next;
    case 'InstanceTimedOut':
      next.status = 'attempt-ended';
      next.endReason = 'timeout';
      return next;
    case 'InstanceWorkerLost':
      next.status = 'attempt-ended';
      next.endReason = 'worker-lost';
      return next;
    case 'InstanceRetryScheduled':
      next.status = 'retry-waiting';
      next.attempt = event.data.attempt;
      next.retryDueAtMs = event.data.dueAtMs;
      return next;
    case 'InstanceFailed':
      next.status = event.data.reason === 'timeout' ? 'timed-out' : 'failed';
      next.endReason = event.data.reason;
      next.finishedAtMs = event.atMs;
      if (event.data.error) next.error = event.data.error;
      return next;
    case 'InstanceCancelled':
      next.status = 'cancelled';
      next.finishedAtMs = event.atMs;
      return next;
    default: {
      const never: never = event;
      return never;
    }
  }
}
