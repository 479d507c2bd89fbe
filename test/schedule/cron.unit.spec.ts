import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import type { Schedule } from '../../src/domain/job-spec.js';
import { InvalidScheduleError, nextFireAfter } from '../../src/schedule/index.js';
import { fires, local, ms } from './support.js';

type CronSchedule = Extract<Schedule, { kind: 'cron' }>;
const cron = (expr: string, tz = 'UTC'): CronSchedule => ({ kind: 'cron', cron: expr, tz });
const BERLIN = 'Europe/Berlin';
const NEW_YORK = 'America/New_York';
const KOLKATA = 'Asia/Kolkata';

const localFires = (schedule: CronSchedule, fromIso: string, count: number): string[] =>
  fires(schedule, ms(fromIso), count).map((t) => local(t, schedule.tz));

describe('cron expressions', () => {
  it('fires a 6-field expression on its seconds field', () => {
    expect(localFires(cron('*/20 * * * * *'), '2026-05-01T12:00:03Z', 4)).toEqual([
      '2026-05-01T12:00:20+00:00',
      '2026-05-01T12:00:40+00:00',
      '2026-05-01T12:01:00+00:00',
      '2026-05-01T12:01:20+00:00',
    ]);
  });

  it('fires a 5-field expression at second 0 of the matching minute', () => {
    expect(localFires(cron('*/5 * * * *'), '2026-05-01T12:03:59.999Z', 2)).toEqual([
      '2026-05-01T12:05:00+00:00',
      '2026-05-01T12:10:00+00:00',
    ]);
  });

  it('fires strictly after afterMs, so a tick is never returned twice', () => {
    expect(nextFireAfter(cron('0 * * * * *'), ms('2026-05-01T12:00:00Z'), { createdAtMs: 0 })).toBe(
      ms('2026-05-01T12:01:00Z'),
    );
    expect(
      nextFireAfter(cron('0 * * * * *'), ms('2026-05-01T11:59:59.999Z'), { createdAtMs: 0 }),
    ).toBe(ms('2026-05-01T12:00:00Z'));
  });

  it.each([
    [BERLIN, '+01:00', '+02:00', '2026-01-15T08:00:00Z', '2026-07-15T07:00:00Z'],
    [NEW_YORK, '-05:00', '-04:00', '2026-01-15T14:00:00Z', '2026-07-15T13:00:00Z'],
    [KOLKATA, '+05:30', '+05:30', '2026-01-15T03:30:00Z', '2026-07-15T03:30:00Z'],
  ])(
    'reads the wall clock of %s (09:00 local in winter and in summer)',
    (tz, winterOffset, summerOffset, winter, summer) => {
      const nineDaily = cron('0 0 9 * * *', tz);
      expect(
        nextFireAfter(nineDaily, ms(`2026-01-15T00:00:00${winterOffset}`), { createdAtMs: 0 }),
      ).toBe(ms(winter));
      expect(
        nextFireAfter(nineDaily, ms(`2026-07-15T00:00:00${summerOffset}`), { createdAtMs: 0 }),
      ).toBe(ms(summer));
    },
  );

  it('takes day-of-week from the local date, not the UTC date', () => {
    // Monday 00:30 in Kolkata is still Sunday 19:00 in UTC.
    expect(localFires(cron('30 0 * * 1', KOLKATA), '2026-05-02T00:00:00Z', 1)).toEqual([
      '2026-05-04T00:30:00+05:30',
    ]);
  });

  it('rejects an expression cron-parser cannot read with InvalidScheduleError', () => {
    expect(() => nextFireAfter(cron('61 * * * *'), 0, { createdAtMs: 0 })).toThrow(
      InvalidScheduleError,
    );
  });
});

describe('DST spring forward (Europe/Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST)', () => {
  it('fires a daily 02:30 job at 03:00 CEST on the day the 02:30 does not exist', () => {
    expect(localFires(cron('0 30 2 * * *', BERLIN), '2026-03-27T12:00:00Z', 4)).toEqual([
      '2026-03-28T02:30:00+01:00',
      '2026-03-29T03:00:00+02:00',
      '2026-03-30T02:30:00+02:00',
      '2026-03-31T02:30:00+02:00',
    ]);
  });

  it('fires an every-15-minutes job once at 03:00 for the whole missing hour, then resumes', () => {
    expect(localFires(cron('*/15 * * * *', BERLIN), '2026-03-29T01:20:00+01:00', 5)).toEqual([
      '2026-03-29T01:30:00+01:00',
      '2026-03-29T01:45:00+01:00',
      '2026-03-29T03:00:00+02:00',
      '2026-03-29T03:15:00+02:00',
      '2026-03-29T03:30:00+02:00',
    ]);
  });

  it('fires a job due only inside the gap (02:15) at 03:00', () => {
    expect(localFires(cron('15 2 * * *', BERLIN), '2026-03-29T00:00:00+01:00', 2)).toEqual([
      '2026-03-29T03:00:00+02:00',
      '2026-03-30T02:15:00+02:00',
    ]);
  });

  it('fires a job due at 02:30 in America/New_York at 03:00 EDT on 2026-03-08', () => {
    expect(localFires(cron('30 2 * * *', NEW_YORK), '2026-03-07T12:00:00-05:00', 2)).toEqual([
      '2026-03-08T03:00:00-04:00',
      '2026-03-09T02:30:00-04:00',
    ]);
  });
});

describe('DST fall back (Europe/Berlin, 2026-10-25: 03:00 CEST returns to 02:00 CET)', () => {
  it('fires a daily 02:30 job once, at the first 02:30 (CEST)', () => {
    expect(localFires(cron('0 30 2 * * *', BERLIN), '2026-10-23T12:00:00Z', 4)).toEqual([
      '2026-10-24T02:30:00+02:00',
      '2026-10-25T02:30:00+02:00',
      '2026-10-26T02:30:00+01:00',
      '2026-10-27T02:30:00+01:00',
    ]);
  });

  it('fires an every-15-minutes job through the first 02:00–02:45 only, then at 03:00 CET', () => {
    expect(localFires(cron('*/15 * * * *', BERLIN), '2026-10-25T01:50:00+02:00', 7)).toEqual([
      '2026-10-25T02:00:00+02:00',
      '2026-10-25T02:15:00+02:00',
      '2026-10-25T02:30:00+02:00',
      '2026-10-25T02:45:00+02:00',
      '2026-10-25T03:00:00+01:00',
      '2026-10-25T03:15:00+01:00',
      '2026-10-25T03:30:00+01:00',
    ]);
  });

  it('fires nothing during the repeated hour when asked from inside it', () => {
    expect(localFires(cron('*/15 * * * *', BERLIN), '2026-10-25T02:10:00+01:00', 1)).toEqual([
      '2026-10-25T03:00:00+01:00',
    ]);
  });

  it('fires a job due at 01:30 in America/New_York once on 2026-11-01 (EDT)', () => {
    expect(localFires(cron('30 1 * * *', NEW_YORK), '2026-10-31T12:00:00-04:00', 2)).toEqual([
      '2026-11-01T01:30:00-04:00',
      '2026-11-02T01:30:00-05:00',
    ]);
  });
});

describe('long runs of fires', () => {
  /** Every fire in [fromIso, toIso), each found from the previous one. */
  const firesBetween = (schedule: Schedule, fromIso: string, toIso: string): number[] => {
    const out: number[] = [];
    const endMs = ms(toIso);
    for (
      let t = nextFireAfter(schedule, ms(fromIso) - 1, { createdAtMs: 0 });
      t !== undefined && t < endMs;
    ) {
      out.push(t);
      t = nextFireAfter(schedule, t, { createdAtMs: 0 });
    }
    return out;
  };
  const strictlyIncreasing = (xs: number[]): boolean =>
    xs.every((x, i) => i === 0 || x > (xs[i - 1] ?? Infinity));

  it.each([
    ['daily at 02:30', '30 2 * * *', BERLIN, '+01:00', 365],
    ['hourly (the skipped 02:00 merges into 03:00)', '0 * * * *', BERLIN, '+01:00', 365 * 24 - 1],
    ['daily at 02:30', '30 2 * * *', NEW_YORK, '-05:00', 365],
  ])(
    'over a year, %s (cron "%s") in %s: strictly increasing, one fire per existing slot',
    (_name, expr, tz, offset, expected) => {
      const year = firesBetween(
        cron(expr, tz),
        `2026-01-01T00:00:00${offset}`,
        `2027-01-01T00:00:00${offset}`,
      );
      expect(strictlyIncreasing(year)).toBe(true);
      expect(year).toHaveLength(expected);
    },
  );

  it('every 15 minutes in Europe/Berlin around both transitions: 96 a day, 92 on the spring-forward day', () => {
    const perDay = (fromIso: string, toIso: string): Map<string, number> => {
      const days = new Map<string, number>();
      const run = firesBetween(cron('*/15 * * * *', BERLIN), fromIso, toIso);
      expect(strictlyIncreasing(run)).toBe(true);
      for (const t of run)
        days.set(local(t, BERLIN).slice(0, 10), (days.get(local(t, BERLIN).slice(0, 10)) ?? 0) + 1);
      return days;
    };
    expect(
      Object.fromEntries(perDay('2026-03-28T00:00:00+01:00', '2026-03-31T00:00:00+02:00')),
    ).toEqual({
      '2026-03-28': 96,
      '2026-03-29': 92,
      '2026-03-30': 96,
    });
    expect(
      Object.fromEntries(perDay('2026-10-24T00:00:00+02:00', '2026-10-27T00:00:00+01:00')),
    ).toEqual({
      '2026-10-24': 96,
      '2026-10-25': 96,
      '2026-10-26': 96,
    });
  });

  it('every 30 minutes in Australia/Lord_Howe (30-minute DST shift): the skipped 02:00 merges into 02:30, the repeated 01:30 fires once', () => {
    const lordHowe = cron('*/30 * * * *', 'Australia/Lord_Howe');
    const spring = firesBetween(lordHowe, '2026-10-04T01:00:00+10:30', '2026-10-04T03:30:00+11:00');
    expect(spring.map((t) => local(t, 'Australia/Lord_Howe'))).toEqual([
      '2026-10-04T01:00:00+10:30',
      '2026-10-04T01:30:00+10:30',
      '2026-10-04T02:30:00+11:00',
      '2026-10-04T03:00:00+11:00',
    ]);
    const autumn = firesBetween(lordHowe, '2026-04-05T01:00:00+11:00', '2026-04-05T03:00:00+10:30');
    expect(autumn.map((t) => local(t, 'Australia/Lord_Howe'))).toEqual([
      '2026-04-05T01:00:00+11:00',
      '2026-04-05T01:30:00+11:00',
      '2026-04-05T02:00:00+10:30',
      '2026-04-05T02:30:00+10:30',
    ]);
  });
});

describe('cron-parser on its own (why the DST correction exists)', () => {
  const native = (expr: string, fromIso: string, count: number): string[] => {
    const it = CronExpressionParser.parse(expr, { currentDate: new Date(fromIso), tz: BERLIN });
    return Array.from({ length: count }, () => local(it.next().getTime(), BERLIN));
  };

  it('moves a nonexistent 02:30 by the gap length, to 03:30 CEST', () => {
    expect(native('0 30 2 * * *', '2026-03-28T12:00:00Z', 1)).toEqual([
      '2026-03-29T03:30:00+02:00',
    ]);
  });

  it('fires a sub-hourly job in both passes of the repeated hour', () => {
    expect(native('0 0 * * * *', '2026-10-24T23:30:00Z', 3)).toEqual([
      '2026-10-25T02:00:00+02:00',
      '2026-10-25T02:00:00+01:00',
      '2026-10-25T03:00:00+01:00',
    ]);
  });
});
