import type { RetryPolicy } from '../domain/job-spec.js';

/**
 * Delay in ms before retrying after attempt number `failedAttempt` (1 = the first run) failed.
 *
 * - `fixed`: `initialDelayMs` every time.
 * - `exponential`: `initialDelayMs * 2^(failedAttempt - 1)`.
 *
 * The delay is capped at `maxDelayMs`, then jittered to `delay * (1 - jitter * random())`, so
 * it lies in `[delay * (1 - jitter), delay]`, and rounded to whole ms.
 *
 * @param random source of numbers in [0, 1), injected so tests can fix it (e.g. `Math.random`).
 * @throws RangeError when `failedAttempt` is not an integer ≥ 1.
 */
export function retryDelayMs(
  policy: RetryPolicy,
  failedAttempt: number,
  random: () => number,
): number {
  if (!Number.isInteger(failedAttempt) || failedAttempt < 1) {
    throw new RangeError(`failedAttempt must be an integer ≥ 1, got ${failedAttempt}`);
  }
  const uncappedMs =
    policy.backoff === 'fixed'
      ? policy.initialDelayMs
      : policy.initialDelayMs * 2 ** (failedAttempt - 1);
  const delayMs = Math.min(uncappedMs, policy.maxDelayMs);
  return Math.round(delayMs * (1 - policy.jitter * random()));
}

/** True when attempt `failedAttempt` failed and the policy allows another (`failedAttempt < maxAttempts`). */
export function shouldRetry(policy: RetryPolicy, failedAttempt: number): boolean {
  return failedAttempt < policy.maxAttempts;
}
