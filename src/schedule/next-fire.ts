import type { Schedule } from '../domain/job-spec.js';
import { tickSequence, type FireContext } from './tick-sequence.js';

/**
 * The first intended fire time strictly after `afterMs` (epoch ms), or `undefined` when the
 * schedule has none.
 *
 * - `cron`: matched in the schedule's IANA zone, seconds field optional. DST: a wall-clock
 *   time skipped by spring-forward fires once at the first instant after the gap; a time
 *   repeated by fall-back fires once, at its first occurrence.
 * - `every` (fixed rate): `createdAtMs + k * everyMs`, k ≥ 1; run lengths do not shift it.
 * - `fixedDelay`: `lastFinishMs + delayMs` (first: `createdAtMs + delayMs`); `undefined`
 *   while a run is in flight (`lastFireMs` set and `lastFinishMs` unset or earlier). If that
 *   tick is not after `afterMs`, the following ones repeat every `delayMs`.
 * - `at`: `atMs` if it is after `afterMs`. `manual`: always `undefined`.
 *
 * Feeding each result back in as `afterMs` yields a strictly increasing sequence.
 *
 * @throws InvalidScheduleError for a cron expression cron-parser rejects.
 * @throws RangeError for an unknown time zone.
 */
export function nextFireAfter(
  schedule: Schedule,
  afterMs: number,
  ctx: FireContext,
): number | undefined {
  return tickSequence(schedule, ctx).after(afterMs);
}
