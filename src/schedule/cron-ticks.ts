import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { InvalidScheduleError } from './errors.js';
import { createZoneClock } from './zone-clock.js';

/**
 * Cron ticks as instants: `after(afterMs)` is the first tick strictly after `afterMs`.
 *
 * Accepts 5-field (minute precision) and 6-field (leading seconds) expressions, evaluated in
 * the IANA zone `tz`.
 *
 * **DST rule.** The expression is matched against wall-clock readings, and each matching
 * reading becomes one instant:
 * - A reading that does not exist because clocks spring forward fires once, at the first
 *   instant after the gap. A daily 02:30 job in Europe/Berlin fires at 03:00 CEST on
 *   2026-03-29; an every-15-minutes job fires 01:45 CET, then 03:00 CEST (02:00–02:45 all
 *   land on 03:00 and fire there once).
 * - A reading that occurs twice because clocks fall back fires once, at its first
 *   occurrence. On 2026-10-25 in Europe/Berlin an every-15-minutes job fires 02:00–02:45
 *   CEST, then 03:00 CET; the second pass through 02:00–02:59 (CET) fires nothing.
 * - Results are strictly after `afterMs`, so a sequence built by feeding each result back in
 *   strictly increases: a tick can neither repeat nor go backwards.
 *
 * cron-parser is only asked to match fields (in UTC over wall-clock readings); this file owns
 * the zone handling, because cron-parser's own differs at both edges: it fires a
 * nonexistent 02:30 at 03:30 (shifted by the gap length) and fires sub-hourly jobs in both
 * passes of a repeated hour.
 */
export interface CronTicks {
  after(afterMs: number): number;
}

/**
 * Parsed expressions by zone and text. Parsing costs tens of µs, more than a step; each
 * `after` call resets the parser before use and runs synchronously, so sharing one is safe.
 */
const cache = new Map<string, CronTicks>();
const CACHE_SIZE = 1000;
/** Answers remembered per parsed expression. */
const RECENT_ANSWERS = 64;

/** {@link createCronTicks}, reusing a recent parse of the same expression and zone. */
export function cronTicksFor(cron: string, tz: string): CronTicks {
  const key = `${tz} ${cron}`;
  let ticks = cache.get(key);
  if (ticks === undefined) {
    ticks = createCronTicks(cron, tz);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value ?? key);
    cache.set(key, ticks);
  }
  return ticks;
}

/** Parses `cron` once; throws {@link InvalidScheduleError} for an expression cron-parser rejects. */
export function createCronTicks(cron: string, tz: string): CronTicks {
  let expression: CronExpression;
  try {
    expression = CronExpressionParser.parse(cron, { tz: 'UTC', strict: false, currentDate: 0 });
  } catch (cause) {
    throw new InvalidScheduleError(`invalid cron expression ${JSON.stringify(cron)}`, { cause });
  }
  const clock = createZoneClock(tz);

  const compute = (afterMs: number): number => {
    expression.reset(new Date(clock.wallAt(afterMs)));
    for (;;) {
      const instantMs = clock.instantOf(expression.next().getTime());
      // A reading at or before afterMs was already due: it lies in the second pass of a
      // repeated hour (fired in the first pass) or in a gap whose landing instant has passed.
      if (instantMs > afterMs) return instantMs;
    }
  };

  // Jobs sharing an expression ask about the same instants (10,000 jobs on `*/10 * * * * *` all
  // ask for the tick after the same one), and one step costs tens of µs: remember recent answers.
  const recent = new Map<number, number>();
  const after = (afterMs: number): number => {
    let next = recent.get(afterMs);
    if (next === undefined) {
      next = compute(afterMs);
      if (recent.size >= RECENT_ANSWERS) recent.delete(recent.keys().next().value ?? afterMs);
      recent.set(afterMs, next);
    }
    return next;
  };

  return { after };
}
