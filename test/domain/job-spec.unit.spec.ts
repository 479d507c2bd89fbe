import { describe, expect, it } from 'vitest';
import { jobSpecInputSchema } from '../../src/domain/job-spec.js';
import { ValidationError } from '../../src/events/errors.js';

function parse(input: unknown) {
  const r = jobSpecInputSchema.safeParse(input);
  if (r.success) return { spec: r.data };
  return { error: ValidationError.fromZod('job', r.error) };
}

const base = { name: 'report', processor: 'sendReport' };

describe('job spec input', () => {
  it('normalises durations, schedules and defaults', () => {
    const { spec } = parse({
      ...base,
      schedule: { cron: '0 */5 * * * *', tz: 'Europe/Berlin' },
      timeout: '30s',
      retry: { maxAttempts: 3, initialDelay: '1s', maxDelay: '1m' },
    });
    expect(spec).toMatchObject({
      name: 'report',
      group: 'default',
      schedule: { kind: 'cron', cron: '0 */5 * * * *', tz: 'Europe/Berlin' },
      timeoutMs: 30_000,
      retry: { maxAttempts: 3, backoff: 'exponential', initialDelayMs: 1000, maxDelayMs: 60_000 },
      misfire: 'fire-once',
      overlap: 'allow',
      enabled: true,
    });
  });

  it.each([
    [{ every: '1s' }, { kind: 'every', everyMs: 1000 }],
    [{ every: 250 }, { kind: 'every', everyMs: 250 }],
    [{ fixedDelay: '3d' }, { kind: 'fixedDelay', delayMs: 3 * 86_400_000 }],
    [{ at: '2026-12-01T08:00:00Z' }, { kind: 'at', atMs: Date.parse('2026-12-01T08:00:00Z') }],
    [{ manual: true }, { kind: 'manual' }],
  ])('accepts schedule %j', (schedule, expected) => {
    expect(parse({ ...base, schedule }).spec?.schedule).toEqual(expected);
  });

  it.each([
    ['an invalid cron string', { cron: '61 * * * * *' }, 'schedule.cron'],
    ['an unknown time zone', { cron: '* * * * *', tz: 'Mars/Olympus' }, 'schedule.tz'],
    ['a negative interval', { every: -5 }, 'schedule.every'],
    ['a malformed interval', { every: 'soon' }, 'schedule.every'],
    ['an invalid one-shot time', { at: 'tomorrow-ish' }, 'schedule.at'],
  ])('rejects %s, naming the field', (_what, schedule, field) => {
    const { error } = parse({ ...base, schedule });
    expect(error?.issues.map((i) => i.path)).toContain(field);
  });

  it('gives the same verdict on a cron string or time zone however often it is asked', () => {
    for (let i = 0; i < 3; i++) {
      expect(parse({ ...base, schedule: { cron: '61 * * * * *' } }).error?.field).toBe(
        'schedule.cron',
      );
      expect(
        parse({ ...base, schedule: { cron: '* * * * *', tz: 'Mars/Olympus' } }).error?.field,
      ).toBe('schedule.tz');
      expect(
        parse({ ...base, schedule: { cron: '*/5 * * * *', tz: 'Europe/Berlin' } }).spec?.schedule,
      ).toEqual({ kind: 'cron', cron: '*/5 * * * *', tz: 'Europe/Berlin' });
    }
  });

  it('rejects an unknown field, naming it', () => {
    const { error } = parse({ ...base, schedule: { every: '1s' }, retires: 3 });
    expect(error?.field).toBe('retires');
    expect(error?.message).toMatch(/unknown field "retires"/);
  });

  it('rejects a name that cannot be used in a subject', () => {
    expect(parse({ ...base, name: 'a.b', schedule: { manual: true } }).error?.field).toBe('name');
  });

  it('rejects a lifecycle window that ends before it starts', () => {
    const { error } = parse({
      ...base,
      schedule: { every: '1s' },
      start: '2026-02-01T00:00:00Z',
      end: '2026-01-01T00:00:00Z',
    });
    expect(error?.field).toBe('end');
  });
});
