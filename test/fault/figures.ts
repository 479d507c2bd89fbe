/**
 * What timing decides, measured from the stream (server timestamps, `storedAtMs`): how fast a
 * partition of a dead scheduler got a new firer, how fast a dead worker's attempts were handed
 * out again, and how late fires were recorded.
 */
import type { JetschedEvent, StoredEvent } from '../../src/events/event.js';
import { parseEventSubject, type Names } from '../../src/events/subjects.js';
import { percentile } from '../scheduler/helpers.js';

export interface TakeoverRow {
  schedulerId: string;
  deadAtMs: number;
  partition: number;
  /** The dead scheduler's last fire in this partition (stored at). */
  lastFireAtMs: number;
  /** The first fire by another scheduler in this partition after that; undefined if none. */
  successor?: string;
  successorFireAtMs?: number;
  /** successorFireAtMs − lastFireAtMs */
  gapMs?: number;
  /** successorFireAtMs − deadAtMs */
  afterDeathMs?: number;
}

/**
 * (e) For each partition where `id` fired up to its death (`deadAtMs`, plus `graceMs` for appends
 * in flight), the gap between its last fire there and the next fire there by anyone else.
 */
export function takeoverTimes(
  events: readonly StoredEvent[],
  names: Names,
  dead: { id: string; deadAtMs: number },
  graceMs = 1000,
): TakeoverRow[] {
  const firesByPartition = new Map<number, StoredEvent[]>();
  for (const e of events) {
    if (e.event.type !== 'JobFired') continue;
    const p = parseEventSubject(names, e.subject)?.partition;
    if (p === undefined) continue;
    const list = firesByPartition.get(p) ?? [];
    list.push(e);
    firesByPartition.set(p, list);
  }
  const rows: TakeoverRow[] = [];
  for (const [partition, fires] of [...firesByPartition].sort((a, b) => a[0] - b[0])) {
    let last: number | undefined;
    for (const f of fires)
      if (f.event.actor.id === dead.id && f.storedAtMs <= dead.deadAtMs + graceMs)
        last = Math.max(last ?? -Infinity, f.storedAtMs);
    if (last === undefined) continue;
    const lastFireAtMs = last;
    const next = fires
      .filter((f) => f.event.actor.id !== dead.id && f.storedAtMs > lastFireAtMs)
      .sort((a, b) => a.storedAtMs - b.storedAtMs)[0];
    rows.push({
      schedulerId: dead.id,
      deadAtMs: dead.deadAtMs,
      partition,
      lastFireAtMs,
      ...(next && {
        successor: next.event.actor.id,
        successorFireAtMs: next.storedAtMs,
        gapMs: next.storedAtMs - lastFireAtMs,
        afterDeathMs: next.storedAtMs - dead.deadAtMs,
      }),
    });
  }
  return rows;
}

export interface WorkerLossRow {
  instanceId: string;
  attempt: number;
  /** InstanceWorkerLost for the attempt (stored at), if recorded. */
  lostAtMs?: number;
  /** InstanceDispatched of the next attempt (stored at), if any. */
  redispatchedAtMs?: number;
  /** lostAtMs − the worker's last event */
  detectMs?: number;
  /** redispatchedAtMs − the worker's last event */
  redispatchMs?: number;
  /** How the attempt ended, if it did (InstanceWorkerLost, InstanceTimedOut, InstanceCancelled…). */
  endedBy?: string;
}

export interface WorkerLossReport {
  workerId: string;
  deadAtMs: number;
  /** Stored-at of the last event the worker appended. */
  lastEventAtMs?: number;
  /** Attempts it had started and not reported when it died. */
  running: WorkerLossRow[];
}

/** (f) The attempts a dead worker left running, and when each was declared lost and re-dispatched. */
export function workerLoss(
  events: readonly StoredEvent[],
  w: { id: string; deadAtMs: number },
): WorkerLossReport {
  let lastEventAtMs: number | undefined;
  const started = new Map<string, number>(); // `${instanceId}#${attempt}` → attempt
  const byInstance = new Map<string, StoredEvent[]>();
  for (const e of events) {
    if (e.event.actor.id === w.id) lastEventAtMs = Math.max(lastEventAtMs ?? 0, e.storedAtMs);
    if (!e.event.type.startsWith('Instance')) continue;
    const d = e.event.data as { instanceId: string; attempt?: number; workerId?: string };
    const list = byInstance.get(d.instanceId) ?? [];
    list.push(e);
    byInstance.set(d.instanceId, list);
    if (d.workerId !== w.id || d.attempt === undefined) continue;
    const key = `${d.instanceId}#${d.attempt}`;
    if (e.event.type === 'InstanceStarted') started.set(key, d.attempt);
    else if (e.event.type === 'InstanceSucceeded' || e.event.type === 'InstanceAttemptFailed')
      started.delete(key);
  }
  const running: WorkerLossRow[] = [];
  for (const [key, attempt] of started) {
    const instanceId = key.slice(0, key.lastIndexOf('#'));
    const later = (byInstance.get(instanceId) ?? []).filter((e) => {
      const a = (e.event.data as { attempt?: number }).attempt;
      return a === undefined || a >= attempt;
    });
    const ender = later.find(
      (e) =>
        (e.event.data as { attempt?: number }).attempt === attempt &&
        e.event.type !== 'InstanceStarted' &&
        e.event.type !== 'InstanceDispatched' &&
        e.event.type !== 'InstanceProgressed',
    );
    const lost = later.find(
      (e) =>
        e.event.type === 'InstanceWorkerLost' &&
        (e.event.data as { attempt: number }).attempt === attempt,
    );
    const next = later.find(
      (e) =>
        e.event.type === 'InstanceDispatched' &&
        (e.event.data as { attempt: number }).attempt > attempt,
    );
    const endedBy = (ender ?? later.find((e) => e.event.type === 'InstanceCancelled'))?.event.type;
    const base = lastEventAtMs;
    running.push({
      instanceId,
      attempt,
      ...(lost && { lostAtMs: lost.storedAtMs }),
      ...(next && { redispatchedAtMs: next.storedAtMs }),
      ...(lost && base !== undefined && { detectMs: lost.storedAtMs - base }),
      ...(next && base !== undefined && { redispatchMs: next.storedAtMs - base }),
      ...(endedBy && { endedBy }),
    });
  }
  running.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  return {
    workerId: w.id,
    deadAtMs: w.deadAtMs,
    ...(lastEventAtMs !== undefined && { lastEventAtMs }),
    running,
  };
}

export interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function stats(xs: readonly number[]): Stats {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}

export interface LatenessStats {
  /** Scheduled and catch-up fires: when the scheduler decided (atMs) minus the intended time. */
  decided: Stats;
  /** The same, stored (server clock) minus intended. */
  stored: Stats;
  /** Fires stored more than 1 s after their tick. */
  over1s: number;
  over5s: number;
  catchUp: number;
  /**
   * First attempts of scheduled fires: InstanceStarted (worker clock) minus intended fire time; for
   * an attempt claimed ahead (startsAtMs), the startedAtMs of its report.
   */
  started: Stats;
  /** Instances: their terminal event stored minus their intended fire time (stuck work shows here). */
  ended: Stats;
  /** Instances that ended more than 10 s after their tick, and the latest ones. */
  endedOver10s: number;
  slowest: { instanceId: string; ms: number; endedBy: string }[];
}

/** When a first attempt's processor began, if this event says: its start, or a claimed one's report. */
function firstAttemptBegan(e: JetschedEvent): { instanceId: string; atMs: number } | undefined {
  switch (e.type) {
    case 'InstanceStarted':
      // Claimed ahead (startsAtMs): its report says when it began.
      // Recorded while it ran (beganAtMs): when it began.
      return e.data.attempt === 1 && e.data.startsAtMs === undefined
        ? { instanceId: e.data.instanceId, atMs: e.data.beganAtMs ?? e.atMs }
        : undefined;
    case 'InstanceSucceeded':
    case 'InstanceAttemptFailed':
      return e.data.attempt === 1 && e.data.startedAtMs !== undefined
        ? { instanceId: e.data.instanceId, atMs: e.data.startedAtMs }
        : undefined;
    default:
      return undefined;
  }
}

export function fireLateness(events: readonly StoredEvent[]): LatenessStats {
  const decided: number[] = [];
  const stored: number[] = [];
  let catchUp = 0;
  const fireTime = new Map<string, number>();
  const scheduled = new Set<string>();
  const started: number[] = [];
  const ends: { instanceId: string; ms: number; endedBy: string }[] = [];
  for (const e of events) {
    const t = e.event.type;
    const begun = firstAttemptBegan(e.event);
    if (begun && scheduled.has(begun.instanceId)) {
      const fired = fireTime.get(begun.instanceId);
      if (fired !== undefined) started.push(begun.atMs - fired);
    }
    if (t === 'InstanceSucceeded' || t === 'InstanceFailed' || t === 'InstanceCancelled') {
      const id = e.event.data.instanceId;
      const fired = fireTime.get(id);
      if (fired !== undefined) ends.push({ instanceId: id, ms: e.storedAtMs - fired, endedBy: t });
    }
    if (e.event.type !== 'JobFired') continue;
    fireTime.set(e.event.data.instanceId, e.event.data.fireTimeMs);
    const { reason, fireTimeMs } = e.event.data;
    if (reason !== 'schedule' && reason !== 'catch-up') continue;
    if (reason === 'catch-up') catchUp++;
    scheduled.add(e.event.data.instanceId);
    decided.push(e.event.atMs - fireTimeMs);
    stored.push(e.storedAtMs - fireTimeMs);
  }
  return {
    decided: stats(decided),
    stored: stats(stored),
    over1s: stored.filter((x) => x > 1000).length,
    over5s: stored.filter((x) => x > 5000).length,
    catchUp,
    started: stats(started),
    ended: stats(ends.map((x) => x.ms)),
    endedOver10s: ends.filter((x) => x.ms > 10_000).length,
    slowest: [...ends].sort((a, b) => b.ms - a.ms).slice(0, 5),
  };
}
