import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/domain/job-spec.js';
import { plan, s, T0 } from './support.js';

const S = 1_000;
const MINUTE = 60 * S;

describe('first fires', () => {
  it('does not fire cron ticks from before the job was created', () => {
    const minutely: Schedule = { kind: 'cron', cron: '* * * * *', tz: 'UTC' };
    expect(
      plan(
        { schedule: minutely, misfire: 'fire-all' },
        { createdAtMs: T0 + 30 * S, nowMs: T0 + 61 * S },
      ),
    ).toEqual({
      fires: [T0 + MINUTE],
      skipped: { count: 0 },
      nextMs: T0 + 2 * MINUTE,
    });
  });

  it('fires an at job once at its instant, then has nothing more', () => {
    const at: Schedule = { kind: 'at', atMs: s(30) };
    expect(plan({ schedule: at }, { nowMs: s(30) })).toEqual({
      fires: [s(30)],
      skipped: { count: 0 },
    });
    expect(plan({ schedule: at }, { nowMs: s(40), lastFireMs: s(30), runsSoFar: 1 })).toEqual({
      fires: [],
      skipped: { count: 0 },
    });
  });

  it('names an at job’s instant as next before it is due', () => {
    expect(plan({ schedule: { kind: 'at', atMs: s(30) } }, { nowMs: s(10) })).toEqual({
      fires: [],
      skipped: { count: 0 },
      nextMs: s(30),
    });
  });

  it('still fires an at job whose instant had passed when it was created (subject to the misfire policy)', () => {
    const at: Schedule = { kind: 'at', atMs: T0 - MINUTE };
    expect(plan({ schedule: at, misfire: 'fire-once' }, { nowMs: T0 }).fires).toEqual([
      T0 - MINUTE,
    ]);
    expect(plan({ schedule: at, misfire: 'skip' }, { nowMs: T0 }).skipped).toEqual({
      count: 1,
      firstMs: T0 - MINUTE,
      lastMs: T0 - MINUTE,
    });
  });

  it('never fires a manual job', () => {
    expect(plan({ schedule: { kind: 'manual' } }, { nowMs: s(1000) })).toEqual({
      fires: [],
      skipped: { count: 0 },
    });
  });
});

describe('lifecycle window', () => {
  const minutes: Schedule = { kind: 'every', everyMs: MINUTE };

  it('fires nothing before startAt and names the first tick at or after it', () => {
    expect(
      plan({ schedule: minutes, startAtMs: T0 + 10 * MINUTE }, { nowMs: T0 + 5 * MINUTE }),
    ).toEqual({
      fires: [],
      skipped: { count: 0 },
      nextMs: T0 + 10 * MINUTE,
    });
  });

  it('does not count ticks before startAt as missed', () => {
    expect(
      plan(
        { schedule: minutes, misfire: 'fire-all', startAtMs: T0 + 9 * MINUTE + 1 },
        { nowMs: T0 + 10 * MINUTE },
      ),
    ).toEqual({ fires: [T0 + 10 * MINUTE], skipped: { count: 0 }, nextMs: T0 + 11 * MINUTE });
  });

  it('fires a tick exactly at endAt but none after, and then has no next', () => {
    const window = { schedule: minutes, misfire: 'fire-all' as const, endAtMs: T0 + 3 * MINUTE };
    expect(plan(window, { lastFireMs: T0 + 2 * MINUTE, nowMs: T0 + 3 * MINUTE })).toEqual({
      fires: [T0 + 3 * MINUTE],
      skipped: { count: 0 },
    });
    expect(plan(window, { lastFireMs: T0 + 3 * MINUTE, nowMs: T0 + 60 * MINUTE })).toEqual({
      fires: [],
      skipped: { count: 0 },
    });
  });
});

describe('run limit', () => {
  it('plans nothing once maxRuns fires have been made', () => {
    expect(plan({ maxRuns: 3 }, { lastFireMs: s(3), nowMs: s(4), runsSoFar: 3 })).toEqual({
      fires: [],
      skipped: { count: 0 },
    });
  });

  it('plans no more fires than the runs left, oldest first, and then has no next', () => {
    expect(
      plan({ maxRuns: 5, misfire: 'fire-all' }, { lastFireMs: s(3), nowMs: s(10), runsSoFar: 3 }),
    ).toEqual({
      fires: [s(4), s(5)],
      skipped: { count: 0 },
    });
  });

  it('names the next tick while runs are left', () => {
    expect(plan({ maxRuns: 5 }, { lastFireMs: s(3), nowMs: s(4), runsSoFar: 3 })).toEqual({
      fires: [s(4)],
      skipped: { count: 0 },
      nextMs: s(5),
    });
  });
});

describe('disabled jobs', () => {
  it('plan no fires and no next tick', () => {
    expect(plan({ enabled: false }, { lastFireMs: s(0), nowMs: s(10) })).toEqual({
      fires: [],
      skipped: { count: 0 },
    });
  });
});

describe('fixed-delay jobs', () => {
  const delay: Schedule = { kind: 'fixedDelay', delayMs: 10 * S };

  it('fire delay after the last finish, with no next until that run finishes', () => {
    expect(
      plan({ schedule: delay }, { lastFireMs: s(10), lastFinishMs: s(25), nowMs: s(35) }),
    ).toEqual({
      fires: [s(35)],
      skipped: { count: 0 },
    });
  });

  it('plan nothing while a run is in flight', () => {
    expect(plan({ schedule: delay }, { lastFireMs: s(10), nowMs: s(100) })).toEqual({
      fires: [],
      skipped: { count: 0 },
    });
  });

  it('fire at most once after a gap, even under fire-all (their runs never overlap)', () => {
    const result = plan(
      { schedule: delay, misfire: 'fire-all' },
      { lastFireMs: s(10), lastFinishMs: s(20), nowMs: s(100) },
    );
    expect(result).toEqual({
      fires: [s(100)],
      skipped: { count: 7, firstMs: s(30), lastMs: s(90) },
    });
  });

  it('skip a stale tick and name the next one delay later', () => {
    const result = plan(
      { schedule: delay, misfire: 'skip' },
      { lastFireMs: s(10), lastFinishMs: s(20), nowMs: s(36) },
    );
    expect(result).toEqual({
      fires: [],
      skipped: { count: 1, firstMs: s(30), lastMs: s(30) },
      nextMs: s(40),
    });
  });
});

describe('replanning', () => {
  it('does not report ticks already recorded as skipped again', () => {
    const gap = { lastFireMs: s(0), nowMs: s(10) + 700, misfireThresholdMs: 500 };
    const first = plan({ misfire: 'skip' }, gap);
    expect(
      plan(
        { misfire: 'skip' },
        { ...gap, lastSkippedMs: first.skipped.lastMs, nowMs: s(11) + 100 },
      ),
    ).toEqual({
      fires: [s(11)],
      skipped: { count: 0 },
      nextMs: s(12),
    });
  });

  it('plans nothing twice when the clock runs backwards', () => {
    expect(plan({ misfire: 'fire-all' }, { lastFireMs: s(10), nowMs: s(5) })).toEqual({
      fires: [],
      skipped: { count: 0 },
      nextMs: s(11),
    });
  });

  it('rejects a negative threshold', () => {
    expect(() => plan({}, { misfireThresholdMs: -1 })).toThrow(RangeError);
  });
});
