import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/domain/job-spec.js';
import { plan, s, T0 } from './support.js';

const S = 1_000;

describe('planning ahead (aheadMs)', () => {
  it('makes a tick due as soon as it is within aheadMs, and names the next one after the window', () => {
    expect(plan({}, { nowMs: s(4) + 300, lastFireMs: s(4), aheadMs: 800 })).toEqual({
      fires: [s(5)],
      skipped: { count: 0 },
      nextMs: s(6),
    });
  });

  it('plans nothing while the next tick is further away than aheadMs', () => {
    expect(plan({}, { nowMs: s(4) + 100, lastFireMs: s(4), aheadMs: 800 })).toEqual({
      fires: [],
      skipped: { count: 0 },
      nextMs: s(5),
    });
  });

  it('counts misfires from now, not from the end of the window', () => {
    // At 8.5 s with a 5 s threshold, ticks 1–3 s are misfires (skipped by policy), 4–8 s are on
    // time, and 9 s is within the window, so it is planned ahead.
    const p = plan(
      { misfire: 'skip' },
      { nowMs: s(8) + 500, aheadMs: 600, misfireThresholdMs: 5 * S },
    );
    expect(p.fires).toEqual([s(4), s(5), s(6), s(7), s(8), s(9)]);
    expect(p.skipped).toEqual({ count: 3, firstMs: s(1), lastMs: s(3) });
    expect(p.nextMs).toBe(s(10));
  });

  it('never plans past endAt, however far ahead', () => {
    expect(
      plan({ endAtMs: s(5) }, { nowMs: s(4) + 500, lastFireMs: s(4), aheadMs: 5 * S }),
    ).toEqual({ fires: [s(5)], skipped: { count: 0 } });
  });

  it('plans a cron tick ahead', () => {
    const everyTen: Schedule = { kind: 'cron', cron: '*/10 * * * * *', tz: 'UTC' };
    expect(plan({ schedule: everyTen }, { nowMs: T0 + 9_200, aheadMs: 1_000 })).toEqual({
      fires: [T0 + 10_000],
      skipped: { count: 0 },
      nextMs: T0 + 20_000,
    });
  });

  describe('a fixed-delay job (200 ms) whose run ended at 3 s', () => {
    const delay: Schedule = { kind: 'fixedDelay', delayMs: 200 };
    const planAt = (nowMs: number) =>
      plan(
        { schedule: delay },
        { nowMs, lastFireMs: s(2), lastFinishMs: s(3), runsSoFar: 1, aheadMs: 1_000 },
      );

    it('plans only its first tick ahead: the next counts from the end of that run', () => {
      expect(planAt(s(3) + 10)).toEqual({ fires: [s(3) + 200], skipped: { count: 0 } });
    });

    it('still fires only the newest of its overdue ticks, none of those ahead', () => {
      expect(planAt(s(3) + 500)).toEqual({
        fires: [s(3) + 400],
        skipped: { count: 1, firstMs: s(3) + 200, lastMs: s(3) + 200 },
      });
    });
  });

  it('rejects a negative window', () => {
    expect(() => plan({}, { nowMs: s(1), aheadMs: -1 })).toThrow(RangeError);
  });
});
