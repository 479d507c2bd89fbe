import { describe, expect, it } from 'vitest';
import type { RetryPolicy } from '../../src/domain/job-spec.js';
import { retryDelayMs, shouldRetry } from '../../src/schedule/index.js';

const noJitter = (): number => 0;
const policy = (overrides: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxAttempts: 5,
  backoff: 'exponential',
  initialDelayMs: 1_000,
  maxDelayMs: 60_000,
  jitter: 0,
  ...overrides,
});
const schedule = (p: RetryPolicy, attempts: number, random = noJitter): number[] =>
  Array.from({ length: attempts }, (_, i) => retryDelayMs(p, i + 1, random));

describe('retry backoff', () => {
  it('fixed backoff waits the initial delay every time', () => {
    expect(schedule(policy({ backoff: 'fixed', initialDelayMs: 2_500 }), 4)).toEqual([
      2_500, 2_500, 2_500, 2_500,
    ]);
  });

  it('exponential backoff doubles from the initial delay', () => {
    expect(schedule(policy(), 5)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000]);
  });

  it('caps the delay at maxDelay', () => {
    expect(schedule(policy({ maxDelayMs: 5_000 }), 5)).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    expect(retryDelayMs(policy({ maxDelayMs: 5_000 }), 1000, noJitter)).toBe(5_000);
  });

  it('jitter shortens the delay by up to jitter × delay: random 0 keeps it, random → 1 removes the full fraction', () => {
    const p = policy({ jitter: 0.2, maxDelayMs: 5_000 });
    expect(retryDelayMs(p, 3, () => 0)).toBe(4_000);
    expect(retryDelayMs(p, 3, () => 0.5)).toBe(3_600);
    expect(retryDelayMs(p, 3, () => 0.999_999)).toBe(3_200);
    expect(retryDelayMs(p, 10, () => 0.999_999)).toBe(4_000);
  });

  it('stays within [delay × (1 − jitter), delay] for any random value', () => {
    const p = policy({ jitter: 0.3 });
    for (let i = 0; i < 100; i++) {
      const r = i / 100;
      const delay = retryDelayMs(p, 4, () => r);
      expect(delay).toBeGreaterThanOrEqual(8_000 * 0.7);
      expect(delay).toBeLessThanOrEqual(8_000);
    }
  });

  it('rejects an attempt number below 1', () => {
    expect(() => retryDelayMs(policy(), 0, noJitter)).toThrow(RangeError);
  });
});

describe('shouldRetry', () => {
  it('retries while the failed attempt is below maxAttempts', () => {
    const p = policy({ maxAttempts: 3 });
    expect([1, 2, 3, 4].map((attempt) => shouldRetry(p, attempt))).toEqual([
      true,
      true,
      false,
      false,
    ]);
  });

  it('never retries when maxAttempts is 1', () => {
    expect(shouldRetry(policy({ maxAttempts: 1 }), 1)).toBe(false);
  });
});
