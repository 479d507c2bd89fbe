import type { JobSpec } from '../domain/job-spec.js';
import { tickSequence, type FireContext } from './tick-sequence.js';

/** Default tolerance, in ms: a tick planned later than this after its intended time is a misfire. */
export const DEFAULT_MISFIRE_THRESHOLD_MS = 5_000;

/** The parts of a job spec that decide when it fires. A whole `JobSpec` fits. */
export type PlanningSpec = Pick<
  JobSpec,
  'schedule' | 'misfire' | 'maxCatchUp' | 'enabled' | 'startAtMs' | 'endAtMs' | 'maxRuns'
>;

/** Input of {@link dueFires}. All times are epoch ms. */
export interface DueFiresInput extends FireContext {
  spec: PlanningSpec;
  /**
   * Intended time of the newest tick already recorded as skipped. Ticks up to here are not
   * planned again; pass it (from the last plan's `skipped.lastMs`) so skips are not repeated.
   */
  lastSkippedMs?: number | undefined;
  /** The current time. */
  nowMs: number;
  /** Fires already made; they count toward `spec.maxRuns`. */
  runsSoFar: number;
  /** A tick at least this late (ms) is a misfire; a tick less late is on time. Default 5000. */
  misfireThresholdMs?: number;
  /**
   * Ticks up to this far in the future (ms) are due already: the scheduler records them ahead
   * and their workers start them at their intended time. Misfires still count from `nowMs`.
   * Default 0.
   */
  aheadMs?: number;
}

/** Ticks that were due but will not fire, summarised. */
export interface SkippedTicks {
  count: number;
  firstMs?: number;
  lastMs?: number;
}

/** Result of {@link dueFires}. */
export interface DuePlan {
  /** Intended times to fire now, oldest first. */
  fires: number[];
  /** Due ticks the misfire policy drops. Always older than every entry of `fires`. */
  skipped: SkippedTicks;
  /**
   * Next intended fire after `nowMs + aheadMs`; absent when the job has no more (or none yet, see
   * below). Plan again at `nextMs - aheadMs`.
   */
  nextMs?: number;
}

/**
 * Plans which ticks fire now. A due tick has its intended time in
 * `(max(lastFireMs, lastSkippedMs), nowMs + aheadMs]`, or after `createdAtMs` when the job has never
 * fired (an `at` job is due even if `atMs` was already past at creation).
 *
 * A tick less than `misfireThresholdMs` late is on time and always fires. Older due ticks
 * are misfires, handled by `spec.misfire`:
 * - `fire-all`: each fires once, oldest first; when there are more than `spec.maxCatchUp`,
 *   only the newest `maxCatchUp` fire and the older ones are skipped.
 * - `fire-once`: they collapse into one run: the newest misfire fires and the rest are
 *   skipped; when an on-time tick fires anyway, that run is the catch-up and all are skipped.
 * - `skip`: all are skipped; only on-time ticks fire.
 *
 * Limits: nothing fires while `spec.enabled` is false; only ticks in
 * `[spec.startAtMs, spec.endAtMs]` are due; with `spec.maxRuns` no more than
 * `maxRuns - runsSoFar` fires are planned (the oldest ones). A fixed-delay job plans at most
 * one fire (its runs never overlap), so its `fire-all` acts as `fire-once`, and after a fire its
 * `nextMs` is absent until that run finishes.
 *
 * Time may run backwards: ticks at or before the last fire or skip are never planned twice.
 *
 * Cost: constant for `every`, `fixedDelay` and `at` however long the gap; for `cron`,
 * proportional to the number of due ticks (cron-parser finds them one at a time, tens to
 * hundreds of µs each), so a long outage of a per-second cron job is slow to plan.
 *
 * @throws RangeError when `misfireThresholdMs` is negative.
 */
export function dueFires(input: DueFiresInput): DuePlan {
  const { spec, nowMs, misfireThresholdMs = DEFAULT_MISFIRE_THRESHOLD_MS, aheadMs = 0 } = input;
  if (!(misfireThresholdMs >= 0)) {
    throw new RangeError(`misfireThresholdMs must be ≥ 0, got ${misfireThresholdMs}`);
  }
  if (!(aheadMs >= 0)) throw new RangeError(`aheadMs must be ≥ 0, got ${aheadMs}`);
  const runsLeft = spec.maxRuns === undefined ? Infinity : spec.maxRuns - input.runsSoFar;
  if (!spec.enabled || runsLeft <= 0) return { fires: [], skipped: { count: 0 } };

  const ticks = tickSequence(spec.schedule, input);
  const neverFiredFromMs = spec.schedule.kind === 'at' ? -Infinity : input.createdAtMs;
  const cursorMs = Math.max(
    input.lastFireMs ?? neverFiredFromMs,
    input.lastSkippedMs ?? -Infinity,
    (spec.startAtMs ?? -Infinity) - 1,
  );
  const dueUntilMs = Math.min(nowMs + aheadMs, spec.endAtMs ?? Infinity);
  const lateUntilMs = Math.min(nowMs - misfireThresholdMs, dueUntilMs);

  const oneAtATime = spec.schedule.kind === 'fixedDelay';
  const policy = oneAtATime && spec.misfire === 'fire-all' ? 'fire-once' : spec.misfire;
  const onTime = ticks.scan(Math.max(cursorMs, lateUntilMs), dueUntilMs, Infinity).newest;
  const lateToFire =
    policy === 'fire-all' ? spec.maxCatchUp : policy === 'fire-once' && onTime.length === 0 ? 1 : 0;
  const late = ticks.scan(cursorMs, lateUntilMs, lateToFire + 1);
  const firedLate = lateToFire > 0 ? late.newest.slice(-lateToFire) : [];

  let fires = [...firedLate, ...onTime];
  let skipped = skippedTicks(
    late.count - firedLate.length,
    late.firstMs,
    late.newest.at(-firedLate.length - 1),
  );
  if (oneAtATime && fires.length > 1) {
    // One run at a time: the newest tick already due fires and the older ones are skipped; when
    // none is due yet, the first one ahead (the next counts from the end of its run).
    const due = fires.filter((t) => t <= nowMs).length;
    const dropped = fires.slice(0, Math.max(0, due - 1));
    fires = fires.slice(dropped.length, dropped.length + 1);
    if (dropped.length > 0)
      skipped = skippedTicks(
        skipped.count + dropped.length,
        skipped.firstMs ?? dropped[0],
        dropped.at(-1),
      );
  }
  fires = fires.slice(0, runsLeft);

  const noMore = fires.length >= runsLeft || (oneAtATime && fires.length > 0);
  const nextMs = noMore ? undefined : ticks.after(Math.max(nowMs + aheadMs, cursorMs));
  const inWindow = nextMs !== undefined && nextMs <= (spec.endAtMs ?? Infinity);
  return { fires, skipped, ...(inWindow && { nextMs }) };
}

function skippedTicks(
  count: number,
  firstMs: number | undefined,
  lastMs: number | undefined,
): SkippedTicks {
  return count > 0 && firstMs !== undefined && lastMs !== undefined
    ? { count, firstMs, lastMs }
    : { count: 0 };
}
