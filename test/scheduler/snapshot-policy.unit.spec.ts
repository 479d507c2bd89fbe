import { describe, expect, it } from 'vitest';
import {
  snapshotDue,
  snapshotPolicy,
  type SinceSnapshot,
} from '../../src/services/scheduler/snapshot-policy.js';

const policy = snapshotPolicy({}); // every 30 s, after 1,000 events, checked every 5 s
const at = (events: number, ageMs: number, items = 10): [SinceSnapshot, number] => [
  { events, savedAtMs: 1_000_000, items },
  1_000_000 + ageMs,
];

describe('when a scheduler saves a partition’s snapshot', () => {
  it('defaults to every 30 s, or after 1,000 events, looked at every 5 s', () => {
    expect(policy).toEqual({ everyMs: 30_000, afterEvents: 1000, checkEveryMs: 5000 });
    expect(snapshotPolicy({ snapshotEveryMs: 2000 }).checkEveryMs).toBe(2000);
  });

  it('saves nothing for a partition that has folded nothing since, however old its snapshot', () => {
    expect(snapshotDue(...at(0, 3_600_000), policy)).toBe(false);
  });

  it('saves a partition that has moved once its snapshot is as old as the interval', () => {
    expect(snapshotDue(...at(1, 29_999), policy)).toBe(false);
    expect(snapshotDue(...at(1, 30_000), policy)).toBe(true);
  });

  it('saves a busy partition sooner, once it has folded the set number of events', () => {
    expect(snapshotDue(...at(999, 5000), policy)).toBe(false);
    expect(snapshotDue(...at(1000, 5000), policy)).toBe(true);
  });

  it('waits for as many events as the snapshot holds jobs and instances, when that is more', () => {
    expect(snapshotDue(...at(5999, 5000, 6000), policy)).toBe(false);
    expect(snapshotDue(...at(6000, 5000, 6000), policy)).toBe(true);
    expect(snapshotDue(...at(1, 30_000, 6000), policy)).toBe(true);
  });

  it.each([
    ['snapshotEveryMs', 0],
    ['snapshotAfterEvents', 2.5],
    ['snapshotCheckEveryMs', Number.NaN],
  ] as const)('refuses %s = %s with a RangeError naming it', (name, value) => {
    expect(() => snapshotPolicy({ [name]: value })).toThrow(
      new RangeError(`${name} must be an integer ≥ 1, got ${value}`),
    );
  });
});
