import { describe, expect, it } from 'vitest';
import { createZoneClock } from '../../src/schedule/index.js';
import { ms } from './support.js';

const berlin = createZoneClock('Europe/Berlin');
/** A wall-clock reading written as if it were UTC. */
const wall = (reading: string): number => ms(`${reading}Z`);

describe('zone clock', () => {
  it('reads the wall clock at an instant, keeping milliseconds', () => {
    expect(berlin.wallAt(ms('2026-07-01T10:00:00.123Z'))).toBe(wall('2026-07-01T12:00:00.123'));
    expect(berlin.offsetAt(ms('2026-01-01T10:00:00Z'))).toBe(3_600_000);
  });

  it('maps an ordinary reading to its single instant', () => {
    expect(berlin.instantOf(wall('2026-07-01T12:00:00'))).toBe(ms('2026-07-01T12:00:00+02:00'));
  });

  it('maps a reading skipped by spring-forward to the instant the clocks jump', () => {
    expect(berlin.instantOf(wall('2026-03-29T02:00:00'))).toBe(ms('2026-03-29T03:00:00+02:00'));
    expect(berlin.instantOf(wall('2026-03-29T02:59:59.999'))).toBe(ms('2026-03-29T03:00:00+02:00'));
  });

  it('maps a reading repeated by fall-back to its first occurrence', () => {
    expect(berlin.instantOf(wall('2026-10-25T02:30:00'))).toBe(ms('2026-10-25T02:30:00+02:00'));
    expect(berlin.instantOf(wall('2026-10-25T03:00:00'))).toBe(ms('2026-10-25T03:00:00+01:00'));
  });

  it('rejects an unknown zone', () => {
    expect(() => createZoneClock('Mars/Olympus_Mons')).toThrow(RangeError);
  });
});
