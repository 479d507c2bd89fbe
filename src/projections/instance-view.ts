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
  const { instanceId, jobId, fireTimeMs } = d;
  return dispatchedView(
    undefined,
    { ...d.dispatch, instanceId, jobId, fireTimeMs, attempt: 1 },
    0,
    event.atMs,
  );
}

/** An attempt handed to its worker group: the view dispatched, from InstanceDispatched or a fire. */
function dispatchedView(
  prev: InstanceView | undefined,
  d: DispatchSpec & { instanceId: string; jobId: string; attempt: number; fireTimeMs: number },
  lastSeq: number,
  atMs: number,
): InstanceView {
  const view: InstanceView = {
    ...(prev ?? {}),
    instanceId: d.instanceId,
    jobId: d.jobId,
    group: d.group,
    processor: d.processor,
    priority: d.priority,
    fireTimeMs: d.fireTimeMs,
    status: 'dispatched',
    attempt: d.attempt,
    lastSeq,
    dispatchedAtMs: atMs,
  };
  if (d.params !== undefined) view.params = d.params;
  if (d.timeoutMs !== undefined) view.timeoutMs = d.timeoutMs;
  delete view.retryDueAtMs;
  delete view.attemptStartedAtMs;
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
    return dispatchedView(state, event.data, seq, event.atMs);
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
