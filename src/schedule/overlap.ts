import type { OverlapPolicy } from '../domain/job-spec.js';

/** What to do with a fire given the runs already in progress. */
export const OverlapDecision = {
  Start: 'start',
  /** Drop this fire; the caller records it as skipped. */
  Skip: 'skip',
  /** Hold this fire and start it when the running one ends. */
  Buffer: 'buffer',
  CancelPreviousThenStart: 'cancel-previous-then-start',
} as const;
export type OverlapDecision = (typeof OverlapDecision)[keyof typeof OverlapDecision];

/** Input of {@link decideOverlap}. */
export interface OverlapInput {
  policy: OverlapPolicy;
  /** Limit of simultaneous runs under `allow`; unset = unlimited. Other policies imply 1. */
  maxConcurrent?: number | undefined;
  /** Runs of this job in progress now. */
  running: number;
  /** Fires already held back waiting for a run to end. */
  buffered: number;
}

/**
 * Decides how a fire meets the job's runs in progress:
 * - `allow`: start, unless `maxConcurrent` runs are already going; then skip (the fire is
 *   recorded as skipped, not queued, so a slow job cannot build an endless backlog; use
 *   `buffer-one` to keep one waiting).
 * - `skip`: start only when nothing runs; otherwise skip.
 * - `buffer-one`: start when nothing runs; otherwise buffer it if nothing is buffered yet,
 *   else skip (at most one waits).
 * - `cancel-previous`: cancel the runs in progress, then start; just start when none runs.
 */
export function decideOverlap(input: OverlapInput): OverlapDecision {
  const { policy, running } = input;
  switch (policy) {
    case 'allow':
      return running < (input.maxConcurrent ?? Infinity) ? 'start' : 'skip';
    case 'skip':
      return running > 0 ? 'skip' : 'start';
    case 'buffer-one':
      if (running === 0) return 'start';
      return input.buffered === 0 ? 'buffer' : 'skip';
    case 'cancel-previous':
      return running > 0 ? 'cancel-previous-then-start' : 'start';
    default: {
      const unknown: never = policy;
      throw new Error(`unknown overlap policy ${JSON.stringify(unknown)}`);
    }
  }
}
