import type { Schedule } from '../domain/job-spec.js';
import { cronTicksFor } from './cron-ticks.js';

/** What a schedule's next tick depends on besides the schedule itself. Epoch ms throughout. */
export interface FireContext {
  /** Intended time of the job's last fire; unset when it has never fired. */
  lastFireMs?: number | undefined;
  /** When the last run ended; a fixed-delay job counts from here. */
  lastFinishMs?: number | undefined;
  /** When the job was registered: anchors fixed-rate ticks and the first fixed-delay tick. */
  createdAtMs: number;
}

/** Ticks found in a span, summarised so that huge spans need not be listed. */
export interface TickScan {
  count: number;
  firstMs: number | undefined;
  /** The newest ticks of the span (as many as asked for), oldest first. */
  newest: number[];
}

/** The intended fire times of one job, as an increasing sequence. */
export interface TickSequence {
  /** First tick strictly after `afterMs`, or `undefined` when there is none. */
  after(afterMs: number): number | undefined;
  /** Ticks in `(fromExclusiveMs, toInclusiveMs]`, keeping the newest `keepNewest` of them. */
  scan(fromExclusiveMs: number, toInclusiveMs: number, keepNewest: number): TickScan;
}

/** True when a fixed-delay job has fired and its run has not yet finished. */
export function isRunInFlight(ctx: FireContext): boolean {
  return (
    ctx.lastFireMs !== undefined &&
    (ctx.lastFinishMs === undefined || ctx.lastFinishMs < ctx.lastFireMs)
  );
}

/**
 * The tick sequence of a schedule:
 * - `cron`: see {@link cronTicksFor} (DST rule included).
 * - `every`: `createdAtMs + k * everyMs` for k ≥ 1 (fixed rate: run length has no effect).
 * - `fixedDelay`: nothing while a run is in flight; otherwise `delayMs` after the last
 *   finish (first tick `createdAtMs + delayMs`). Should that tick pass without a run (it was
 *   skipped), the next one follows `delayMs` later, and so on, so the job cannot stall.
 * - `at`: the single instant `atMs`. `manual`: no ticks.
 */
export function tickSequence(schedule: Schedule, ctx: FireContext): TickSequence {
  switch (schedule.kind) {
    case 'cron': {
      const ticks = cronTicksFor(schedule.cron, schedule.tz);
      return steppedSequence((afterMs) => ticks.after(afterMs));
    }
    case 'every':
      return arithmeticSequence(ctx.createdAtMs + schedule.everyMs, schedule.everyMs);
    case 'fixedDelay':
      if (isRunInFlight(ctx)) return steppedSequence(() => undefined);
      return arithmeticSequence(
        (ctx.lastFinishMs ?? ctx.createdAtMs) + schedule.delayMs,
        schedule.delayMs,
      );
    case 'at':
      return steppedSequence((afterMs) => (schedule.atMs > afterMs ? schedule.atMs : undefined));
    case 'manual':
      return steppedSequence(() => undefined);
    default: {
      const unknown: never = schedule;
      throw new Error(`unknown schedule kind in ${JSON.stringify(unknown)}`);
    }
  }
}

/** `firstMs + k * periodMs` for k ≥ 0; scans in time proportional to `keepNewest` only. */
function arithmeticSequence(firstMs: number, periodMs: number): TickSequence {
  /** Index of the first tick strictly after t. */
  const indexAfter = (t: number): number =>
    t < firstMs ? 0 : Math.floor((t - firstMs) / periodMs) + 1;
  return {
    after: (afterMs) => firstMs + indexAfter(afterMs) * periodMs,
    scan: (fromExclusiveMs, toInclusiveMs, keepNewest) => {
      const kFirst = indexAfter(fromExclusiveMs);
      const kLast = indexAfter(toInclusiveMs) - 1;
      const count = Math.max(0, kLast - kFirst + 1);
      const newest: number[] = [];
      for (let k = Math.max(kFirst, kLast - keepNewest + 1); k <= kLast; k++)
        newest.push(firstMs + k * periodMs);
      return { count, firstMs: count > 0 ? firstMs + kFirst * periodMs : undefined, newest };
    },
  };
}

/** A sequence known only through `after`; scans step through every tick of the span. */
function steppedSequence(after: (afterMs: number) => number | undefined): TickSequence {
  return {
    after,
    scan: (fromExclusiveMs, toInclusiveMs, keepNewest) => {
      let count = 0;
      let firstMs: number | undefined;
      let newest: number[] = [];
      for (let t = after(fromExclusiveMs); t !== undefined && t <= toInclusiveMs; t = after(t)) {
        count++;
        firstMs ??= t;
        newest.push(t);
        if (newest.length > 2 * keepNewest + 64) newest = newest.slice(newest.length - keepNewest);
      }
      return { count, firstMs, newest: keepNewest > 0 ? newest.slice(-keepNewest) : [] };
    },
  };
}
