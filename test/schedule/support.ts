import {
  dueFires,
  nextFireAfter,
  type DueFiresInput,
  type DuePlan,
  type PlanningSpec,
} from '../../src/schedule/index.js';
import type { Schedule } from '../../src/domain/job-spec.js';
import type { FireContext } from '../../src/schedule/index.js';

/** Epoch ms of an ISO 8601 instant. */
export const ms = (iso: string): number => {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) throw new Error(`bad instant ${iso}`);
  return t;
};

/** An instant as the wall clock of `tz` shows it, with its offset: "2026-03-29T03:00:00+02:00". */
export function local(instantMs: number, tz: string): string {
  const parts = localFormat(tz).formatToParts(instantMs);
  const p = (type: Intl.DateTimeFormatPartTypes): string =>
    parts.find((x) => x.type === type)?.value ?? '?';
  const offset = p('timeZoneName').replace('GMT', '') || '+00:00';
  return `${p('year')}-${p('month')}-${p('day')}T${p('hour')}:${p('minute')}:${p('second')}${offset}`;
}

const localFormats = new Map<string, Intl.DateTimeFormat>();
function localFormat(tz: string): Intl.DateTimeFormat {
  const cached = localFormats.get(tz);
  if (cached) return cached;
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  });
  localFormats.set(tz, format);
  return format;
}

/** The first `count` fires after `fromMs`, each found by feeding the previous one back in. */
export function fires(
  schedule: Schedule,
  fromMs: number,
  count: number,
  ctx?: FireContext,
): number[] {
  const out: number[] = [];
  let after = fromMs;
  for (let i = 0; i < count; i++) {
    const next = nextFireAfter(schedule, after, ctx ?? { createdAtMs: fromMs });
    if (next === undefined) break;
    out.push(next);
    after = next;
  }
  return out;
}

/** A fixed instant the planner tests count from. */
export const T0 = ms('2026-05-01T12:00:00Z');
/** T0 + n seconds. */
export const s = (n: number): number => T0 + n * 1_000;

/** Plans a 1 s fixed-rate job created at T0 (fire-once, maxCatchUp 1000) with the given changes. */
export function plan(overrides: Partial<PlanningSpec>, input: Partial<DueFiresInput>): DuePlan {
  const spec: PlanningSpec = {
    schedule: { kind: 'every', everyMs: 1_000 },
    misfire: 'fire-once',
    maxCatchUp: 1000,
    enabled: true,
    ...overrides,
  };
  return dueFires({ spec, createdAtMs: T0, nowMs: T0, runsSoFar: 0, ...input });
}
