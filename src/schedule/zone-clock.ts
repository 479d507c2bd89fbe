import { boundedMemo } from './bounded-memo.js';

const DAY_MS = 86_400_000;

/**
 * Formatters by zone. Building one costs ~150 µs, reusing one ~5 µs; they are immutable, so
 * remembering them holds no state that could change a result.
 */
const formatterFor = boundedMemo(
  1000,
  (tz: string) =>
    new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    }),
);

/**
 * Converts between instants and wall-clock readings in one IANA time zone.
 *
 * A wall-clock reading is written as the epoch milliseconds that the same calendar digits
 * would denote in UTC ("local time as if it were UTC"), so plain arithmetic and UTC-based
 * tools (such as cron-parser with `tz: 'UTC'`) can work on it.
 */
export interface ZoneClock {
  readonly tz: string;
  /** The wall-clock reading at an instant. */
  wallAt(instantMs: number): number;
  /** The zone's offset from UTC at an instant, in ms (wall-clock reading minus instant). */
  offsetAt(instantMs: number): number;
  /**
   * The instant a wall-clock reading names.
   * - A reading that occurs twice (clocks fall back) names its first occurrence.
   * - A reading that does not exist (clocks spring forward) names the first instant after
   *   the gap, i.e. the moment the clocks jump.
   */
  instantOf(wallMs: number): number;
}

/** Builds a {@link ZoneClock} for an IANA zone; throws `RangeError` for an unknown zone. */
export function createZoneClock(tz: string): ZoneClock {
  const format = formatterFor(tz);

  const wallAt = (instantMs: number): number => {
    const f = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
    for (const part of format.formatToParts(instantMs)) {
      if (part.type in f) f[part.type as keyof typeof f] = Number(part.value);
    }
    const subSecondMs = ((instantMs % 1000) + 1000) % 1000;
    return Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) + subSecondMs;
  };
  const offsetAt = (instantMs: number): number => wallAt(instantMs) - instantMs;

  /** First instant in (fromMs, toMs] whose offset differs from the offset at fromMs. */
  const transitionAfter = (fromMs: number, toMs: number): number => {
    const before = offsetAt(fromMs);
    let lo = fromMs;
    let hi = toMs;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (offsetAt(mid) === before) lo = mid;
      else hi = mid;
    }
    return hi;
  };

  // Offsets at day-aligned probe instants, so neighbouring readings share their probes.
  const probeOffset = boundedMemo(64, (dayIndex: number): number => offsetAt(dayIndex * DAY_MS));

  const instantOf = (wallMs: number): number => {
    // Offsets 1–2 days either side bracket any single transition near this reading.
    const day = Math.floor(wallMs / DAY_MS);
    const early = probeOffset(day - 1);
    const late = probeOffset(day + 2);
    if (early === late) return wallMs - early;
    const existing = [wallMs - early, wallMs - late]
      .filter((t) => wallAt(t) === wallMs)
      .sort((a, b) => a - b);
    const first = existing[0];
    if (first !== undefined) return first;
    // In a gap: wallMs - late is just before the jump, wallMs - early just after it.
    return transitionAfter(wallMs - late, wallMs - early);
  };

  return { tz, wallAt, offsetAt, instantOf };
}
