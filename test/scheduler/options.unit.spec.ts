import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/services/runtime.js';
import { createScheduler } from '../../src/services/scheduler/scheduler.js';

/** Options are checked before the scheduler touches its runtime: this one has no connection. */
const offline = { partitions: 4 } as unknown as Runtime;

describe('scheduler options', () => {
  it.each([
    ['misfireThresholdMs', Number.NaN],
    ['misfireThresholdMs', -1],
    ['fireAheadMs', 2.5],
    ['fireAheadMs', -1000],
    ['maxFireAheadMs', 0.5],
    ['maxFireAheadMs', -1],
  ] as const)('refuses %s = %s with a RangeError naming it', (name, value) => {
    expect(() => createScheduler({ runtime: offline, [name]: value })).toThrow(
      new RangeError(`${name} must be an integer ≥ 0, got ${value}`),
    );
  });

  it('refuses a snapshot option that is not a positive integer, before touching its runtime', () => {
    expect(() => createScheduler({ runtime: offline, snapshotAfterEvents: 0 })).toThrow(
      new RangeError('snapshotAfterEvents must be an integer ≥ 1, got 0'),
    );
  });

  it('refuses a negative fireAheadPerTickMs with a RangeError naming it', () => {
    expect(() => createScheduler({ runtime: offline, fireAheadPerTickMs: -0.5 })).toThrow(
      new RangeError('fireAheadPerTickMs must be ≥ 0, got -0.5'),
    );
  });
});
