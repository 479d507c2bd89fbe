import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/domain/job-spec.js';
import { ms, plan, s, T0 } from './support.js';

describe('on-time ticks', () => {
  it('fires a tick that is due and only slightly late, and names the next one', () => {
    expect(plan({}, { lastFireMs: s(9), nowMs: s(10) + 20 })).toEqual({
      fires: [s(10)],
      skipped: { count: 0 },
      nextMs: s(11),
    });
  });

  it('fires nothing before the next tick and still names it', () => {
    expect(plan({}, { lastFireMs: s(10), nowMs: s(10) + 999 })).toEqual({
      fires: [],
      skipped: { count: 0 },
      nextMs: s(11),
    });
  });

  it.each(['fire-all', 'fire-once', 'skip'] as const)(
    'fires a tick late by less than the threshold under %s',
    (misfire) => {
      const daily: Schedule = { kind: 'cron', cron: '0 9 * * *', tz: 'UTC' };
      const result = plan(
        { schedule: daily, misfire },
        { lastFireMs: ms('2026-05-01T09:00:00Z'), nowMs: ms('2026-05-02T09:00:04.999Z') },
      );
      expect(result.fires).toEqual([ms('2026-05-02T09:00:00Z')]);
    },
  );

  it('treats a tick exactly the threshold late as a misfire', () => {
    const daily: Schedule = { kind: 'cron', cron: '0 9 * * *', tz: 'UTC' };
    const result = plan(
      { schedule: daily, misfire: 'skip' },
      { lastFireMs: ms('2026-05-01T09:00:00Z'), nowMs: ms('2026-05-02T09:00:05Z') },
    );
    expect(result).toEqual({
      fires: [],
      skipped: {
        count: 1,
        firstMs: ms('2026-05-02T09:00:00Z'),
        lastMs: ms('2026-05-02T09:00:00Z'),
      },
      nextMs: ms('2026-05-03T09:00:00Z'),
    });
  });
});

describe('misfire policies after a 10 s gap in a 1 s job (threshold 500 ms: all 10 ticks are late)', () => {
  const gap = { lastFireMs: s(0), nowMs: s(10) + 700, misfireThresholdMs: 500 };

  it('fire-all fires each missed tick once, oldest first', () => {
    expect(plan({ misfire: 'fire-all' }, gap)).toEqual({
      fires: [s(1), s(2), s(3), s(4), s(5), s(6), s(7), s(8), s(9), s(10)],
      skipped: { count: 0 },
      nextMs: s(11),
    });
  });

  it('fire-all fires only the newest maxCatchUp ticks and reports the older ones skipped', () => {
    expect(plan({ misfire: 'fire-all', maxCatchUp: 3 }, gap)).toEqual({
      fires: [s(8), s(9), s(10)],
      skipped: { count: 7, firstMs: s(1), lastMs: s(7) },
      nextMs: s(11),
    });
  });

  it('fire-once fires only the latest missed tick', () => {
    expect(plan({ misfire: 'fire-once' }, gap)).toEqual({
      fires: [s(10)],
      skipped: { count: 9, firstMs: s(1), lastMs: s(9) },
      nextMs: s(11),
    });
  });

  it('skip fires nothing and names the next tick', () => {
    expect(plan({ misfire: 'skip' }, gap)).toEqual({
      fires: [],
      skipped: { count: 10, firstMs: s(1), lastMs: s(10) },
      nextMs: s(11),
    });
  });
});

describe('misfire policies with the default 5 s threshold (the last 5 ticks of a 10 s gap are on time)', () => {
  const gap = { lastFireMs: s(0), nowMs: s(10) };

  it('fire-all fires all 10 ticks', () => {
    expect(plan({ misfire: 'fire-all' }, gap).fires).toEqual([
      s(1),
      s(2),
      s(3),
      s(4),
      s(5),
      s(6),
      s(7),
      s(8),
      s(9),
      s(10),
    ]);
  });

  it('fire-once lets the on-time ticks be the catch-up and skips the late ones', () => {
    expect(plan({ misfire: 'fire-once' }, gap)).toEqual({
      fires: [s(6), s(7), s(8), s(9), s(10)],
      skipped: { count: 5, firstMs: s(1), lastMs: s(5) },
      nextMs: s(11),
    });
  });

  it('skip fires the on-time ticks only', () => {
    expect(plan({ misfire: 'skip' }, gap)).toEqual({
      fires: [s(6), s(7), s(8), s(9), s(10)],
      skipped: { count: 5, firstMs: s(1), lastMs: s(5) },
      nextMs: s(11),
    });
  });
});

describe('large gaps', () => {
  it('counts a day of missed 1 ms ticks without listing them', () => {
    const result = plan(
      { schedule: { kind: 'every', everyMs: 1 }, misfire: 'fire-all', maxCatchUp: 2 },
      { lastFireMs: T0, nowMs: T0 + 86_400_000, misfireThresholdMs: 0 },
    );
    expect(result).toEqual({
      fires: [T0 + 86_399_999, T0 + 86_400_000],
      skipped: { count: 86_399_998, firstMs: T0 + 1, lastMs: T0 + 86_399_998 },
      nextMs: T0 + 86_400_001,
    });
  });

  it('fires a daily cron job missed by an hour once under fire-once, and not at all under skip', () => {
    const daily: Schedule = { kind: 'cron', cron: '0 9 * * *', tz: 'Europe/Berlin' };
    const input = {
      lastFireMs: ms('2026-05-01T09:00:00+02:00'),
      nowMs: ms('2026-05-02T10:00:00+02:00'),
    };
    expect(plan({ schedule: daily, misfire: 'fire-once' }, input).fires).toEqual([
      ms('2026-05-02T09:00:00+02:00'),
    ]);
    expect(plan({ schedule: daily, misfire: 'skip' }, input)).toEqual({
      fires: [],
      skipped: {
        count: 1,
        firstMs: ms('2026-05-02T09:00:00+02:00'),
        lastMs: ms('2026-05-02T09:00:00+02:00'),
      },
      nextMs: ms('2026-05-03T09:00:00+02:00'),
    });
  });
});
