import { describe, expect, it } from 'vitest';
import { nextFireAfter } from '../../src/schedule/index.js';
import { fires, ms } from './support.js';

const CREATED = ms('2026-05-01T12:00:00Z');
const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

describe('every (fixed rate)', () => {
  it('ticks at createdAt + k * every, k ≥ 1', () => {
    expect(fires({ kind: 'every', everyMs: MINUTE }, CREATED, 3, { createdAtMs: CREATED })).toEqual(
      [CREATED + MINUTE, CREATED + 2 * MINUTE, CREATED + 3 * MINUTE],
    );
  });

  it('returns the first tick strictly after afterMs, staying on the anchored grid', () => {
    const every = { kind: 'every', everyMs: MINUTE } as const;
    expect(nextFireAfter(every, CREATED + 90 * SECOND, { createdAtMs: CREATED })).toBe(
      CREATED + 2 * MINUTE,
    );
    expect(nextFireAfter(every, CREATED + 2 * MINUTE, { createdAtMs: CREATED })).toBe(
      CREATED + 3 * MINUTE,
    );
    expect(nextFireAfter(every, CREATED - DAY, { createdAtMs: CREATED })).toBe(CREATED + MINUTE);
  });

  it('works with a 1 ms period', () => {
    expect(fires({ kind: 'every', everyMs: 1 }, CREATED, 4, { createdAtMs: CREATED })).toEqual([
      CREATED + 1,
      CREATED + 2,
      CREATED + 3,
      CREATED + 4,
    ]);
    expect(
      nextFireAfter({ kind: 'every', everyMs: 1 }, CREATED + 1_000_000.5, { createdAtMs: CREATED }),
    ).toBe(CREATED + 1_000_001);
  });

  it('works with a 3-day period, far from the anchor', () => {
    const threeDays = { kind: 'every', everyMs: 3 * DAY } as const;
    expect(nextFireAfter(threeDays, CREATED, { createdAtMs: CREATED })).toBe(CREATED + 3 * DAY);
    expect(nextFireAfter(threeDays, CREATED + 300 * DAY + 1, { createdAtMs: CREATED })).toBe(
      CREATED + 303 * DAY,
    );
  });

  it('is not shifted by how long runs take', () => {
    const every = { kind: 'every', everyMs: MINUTE } as const;
    const longRun = {
      createdAtMs: CREATED,
      lastFireMs: CREATED + MINUTE,
      lastFinishMs: CREATED + MINUTE + 45 * SECOND,
    };
    expect(nextFireAfter(every, CREATED + MINUTE, longRun)).toBe(CREATED + 2 * MINUTE);
  });
});

describe('fixedDelay', () => {
  const delay = { kind: 'fixedDelay', delayMs: MINUTE } as const;

  it('first fires delay after creation', () => {
    expect(nextFireAfter(delay, CREATED, { createdAtMs: CREATED })).toBe(CREATED + MINUTE);
  });

  it('fires delay after the previous run finished', () => {
    const ctx = {
      createdAtMs: CREATED,
      lastFireMs: CREATED + MINUTE,
      lastFinishMs: CREATED + MINUTE + 10 * SECOND,
    };
    expect(nextFireAfter(delay, CREATED + MINUTE, ctx)).toBe(CREATED + 2 * MINUTE + 10 * SECOND);
  });

  it('schedules nothing while a run is in flight', () => {
    expect(
      nextFireAfter(delay, CREATED + MINUTE, {
        createdAtMs: CREATED,
        lastFireMs: CREATED + MINUTE,
      }),
    ).toBeUndefined();
    const finishedEarlier = {
      createdAtMs: CREATED,
      lastFireMs: CREATED + 3 * MINUTE,
      lastFinishMs: CREATED + MINUTE,
    };
    expect(nextFireAfter(delay, CREATED + 3 * MINUTE, finishedEarlier)).toBeUndefined();
  });

  it('continues every delay after a pending tick that passed without a run, so the job cannot stall', () => {
    const ctx = { createdAtMs: CREATED };
    expect(nextFireAfter(delay, CREATED + MINUTE, ctx)).toBe(CREATED + 2 * MINUTE);
    expect(nextFireAfter(delay, CREATED + 10 * MINUTE + 1, ctx)).toBe(CREATED + 11 * MINUTE);
  });
});

describe('fixed rate versus fixed delay', () => {
  it('a run longer than expected shifts the fixed-delay job but not the fixed-rate job', () => {
    const firedAt = CREATED + MINUTE;
    const after40s = {
      createdAtMs: CREATED,
      lastFireMs: firedAt,
      lastFinishMs: firedAt + 40 * SECOND,
    };
    expect(nextFireAfter({ kind: 'every', everyMs: MINUTE }, firedAt, after40s)).toBe(
      firedAt + MINUTE,
    );
    expect(nextFireAfter({ kind: 'fixedDelay', delayMs: MINUTE }, firedAt, after40s)).toBe(
      firedAt + 40 * SECOND + MINUTE,
    );
  });
});

describe('at', () => {
  const at = { kind: 'at', atMs: ms('2026-12-01T08:00:00Z') } as const;

  it('fires at its instant when that is after afterMs', () => {
    expect(nextFireAfter(at, ms('2026-11-30T00:00:00Z'), { createdAtMs: CREATED })).toBe(at.atMs);
  });

  it('has nothing left once its instant is not after afterMs', () => {
    expect(nextFireAfter(at, at.atMs, { createdAtMs: CREATED })).toBeUndefined();
    expect(nextFireAfter(at, at.atMs + 1, { createdAtMs: CREATED })).toBeUndefined();
  });
});

describe('manual', () => {
  it('never fires on its own', () => {
    expect(nextFireAfter({ kind: 'manual' }, CREATED, { createdAtMs: CREATED })).toBeUndefined();
  });
});
