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
 * Built as one literal from its fields: the spreads it replaces (the attempt into a temporary
 * object, then the previous view into the new one) cost a rebuild a quarter of its fold time.
 */
function dispatchedView(
  prev: InstanceView | undefined,
  d: DispatchSpec,
  ids: { instanceId: string; jobId: string; fireTimeMs: number },
  attempt: number,
  lastSeq: number,
  atMs: number,
): InstanceView {
  const view: InstanceView = {
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
  const params = d.params !== undefined ? d.params : prev?.params;
  if (params !== undefined) view.params = params;
  const timeoutMs = d.timeoutMs ?? prev?.timeoutMs;
  if (timeoutMs !== undefined) view.timeoutMs = timeoutMs;
  if (prev) {
    // What earlier attempts recorded stays (the retry's due time and the attempt's start do not).
    if (prev.startedAtMs !== undefined) view.startedAtMs = prev.startedAtMs;
    if (prev.finishedAtMs !== undefined) view.finishedAtMs = prev.finishedAtMs;
    if (prev.workerId !== undefined) view.workerId = prev.workerId;
    if (prev.progress !== undefined) view.progress = prev.progress;
    if (prev.note !== undefined) view.note = prev.note;
    if (prev.result !== undefined) view.result = prev.result;
    if (prev.error !== undefined) view.error = prev.error;
    if (prev.endReason !== undefined) view.endReason = prev.endReason;
  }
  return view;
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
  // One copy per event: each case spreads the old view once, with the new sequence.
  switch (event.type) {
    case 'InstanceStarted':
      return {
        ...state,
        lastSeq: seq,
        status: 'running',
        workerId: event.data.workerId,
        startedAtMs: state.startedAtMs ?? event.atMs,
        attemptStartedAtMs: event.atMs,
      };
    case 'InstanceProgressed': {
      const next: InstanceView = { ...state, lastSeq: seq };
      if (event.data.progress !== undefined) next.progress = event.data.progress;
      if (event.data.note !== undefined) next.note = event.data.note;
      return next;
    }
    case 'InstanceSucceeded': {
      const next: InstanceView = {
        ...state,
        lastSeq: seq,
        status: 'succeeded',
        finishedAtMs: event.atMs,
      };
      if (event.data.result !== undefined) next.result = event.data.result;
      return next;
    }
    case 'InstanceAttemptFailed':
      return {
        ...state,
        lastSeq: seq,
        status: 'attempt-ended',
        endReason: 'error',
        error: event.data.error,
      };
    case 'InstanceTimedOut':
      return { ...state, lastSeq: seq, status: 'attempt-ended', endReason: 'timeout' };
    case 'InstanceWorkerLost':
      return { ...state, lastSeq: seq, status: 'attempt-ended', endReason: 'worker-lost' };
    case 'InstanceRetryScheduled':
      return {
        ...state,
        lastSeq: seq,
        status: 'retry-waiting',
        attempt: event.data.attempt,
        retryDueAtMs: event.data.dueAtMs,
      };
    case 'InstanceFailed': {
      const next: InstanceView = {
        ...state,
        lastSeq: seq,
        status: event.data.reason === 'timeout' ? 'timed-out' : 'failed',
        endReason: event.data.reason,
        finishedAtMs: event.atMs,
      };
      if (event.data.error) next.error = event.data.error;
      return next;
    }
    case 'InstanceCancelled':
      return { ...state, lastSeq: seq, status: 'cancelled', finishedAtMs: event.atMs };
    default: {
      const never: never = event;
      return never;
    }
  }
}
