/**
 * How long before its intended time each job's next tick is fired (recorded and handed to a
 * worker, who starts it at that time).
 *
 * A tick is fired `baseMs` early. Ticks that share a second with many others (10,000 cron jobs on
 * the same `*\/10 * * * * *`) are fired earlier still, each `perTickMs` earlier than the one planned
 * before it in that second: a scheduler records a crowd one fire at a time, and with one lead for
 * all it would still be recording the last of them well after their time. The crowd is spread
 * over the seconds before its tick instead, at most `maxMs` early and never more than half the
 * job's own period early (a job keeps at most one tick fired ahead).
 *
 * Pure bookkeeping, no clock: the scheduler plans each job's next tick here as it handles the job,
 * and plans the tick it wakes for with the lead it was given.
 */
export interface FireLeadOptions {
  /** The lead of a tick alone in its second; 0 fires every tick at its time (no lead at all). */
  baseMs: number;
  /** How much earlier each tick already planned in the same second makes the next one. */
  perTickMs: number;
  /** The longest lead. */
  maxMs: number;
}

export interface FireLeads {
  /** The lead the job's next tick was planned with; `baseMs` for a job not planned. */
  of(jobId: string): number;
  /**
   * Plans the job's next tick at `tickMs` and returns its lead. `periodMs`: how long after the
   * job's previous tick (or after now, for its first) this one is. Planning the same tick again
   * keeps its lead.
   */
  plan(jobId: string, tickMs: number, periodMs: number): number;
  /** The job has no next tick (ended, paused, deleted, not ours any more). */
  forget(jobId: string): void;
  /** Jobs with a tick planned. */
  readonly size: number;
}

/** Ticks within one second count as one crowd. */
const CROWD_SPAN_MS = 1000;

interface Planned {
  tickMs: number;
  leadMs: number;
}

const crowdOf = (tickMs: number) => Math.floor(tickMs / CROWD_SPAN_MS);

export function createFireLeads(opts: FireLeadOptions): FireLeads {
  const { baseMs, perTickMs, maxMs } = opts;
  for (const [name, v] of [
    ['baseMs', baseMs],
    ['perTickMs', perTickMs],
    ['maxMs', maxMs],
  ] as const)
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`${name} must be ≥ 0, got ${v}`);
  /** How many planned ticks each crowd (second) holds. */
  const crowds = new Map<number, number>();
  const planned = new Map<string, Planned>();

  function forget(jobId: string): void {
    const p = planned.get(jobId);
    if (!p) return;
    planned.delete(jobId);
    const crowd = crowdOf(p.tickMs);
    const left = (crowds.get(crowd) ?? 1) - 1;
    if (left > 0) crowds.set(crowd, left);
    else crowds.delete(crowd);
  }

  return {
    of: (jobId) => planned.get(jobId)?.leadMs ?? baseMs,
    plan(jobId, tickMs, periodMs) {
      const known = planned.get(jobId);
      if (known?.tickMs === tickMs) return known.leadMs;
      forget(jobId);
      if (baseMs === 0) return 0;
      const crowd = crowdOf(tickMs);
      const before = crowds.get(crowd) ?? 0;
      crowds.set(crowd, before + 1);
      const crowded = Math.min(baseMs + Math.ceil(before * perTickMs), maxMs);
      const leadMs = Math.max(baseMs, Math.min(crowded, Math.floor(periodMs / 2)));
      planned.set(jobId, { tickMs, leadMs });
      return leadMs;
    },
    forget,
    get size() {
      return planned.size;
    },
  };
}
