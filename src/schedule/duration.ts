import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses "250ms", "1s", "1.5m", "2h", "1d" (or a number of milliseconds) into milliseconds. */
export function parseDurationMs(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) ? input : undefined;
  const m = DURATION_RE.exec(input.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS]);
}

/** Formats milliseconds the way a person writes them: 1500 → "1.5s", 60000 → "1m". */
export function formatDurationMs(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit];
    if (ms >= size && (ms % size === 0 || unit === 's')) return `${+(ms / size).toFixed(3)}${unit}`;
  }
  return `${ms}ms`;
}

/** A duration given as "30s"-style text or a number of milliseconds; yields milliseconds. */
export const durationMs = (opts: { min?: number } = {}) =>
  z.union([z.string(), z.number()]).transform((raw, ctx) => {
    const ms = parseDurationMs(raw);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid duration ${JSON.stringify(raw)}: use a number of milliseconds or text like "500ms", "30s", "5m", "2h", "1d"`,
      });
      return z.NEVER;
    }
    const min = opts.min ?? 0;
    if (ms < min) {
      ctx.addIssue({ code: 'custom', message: `duration must be at least ${min}ms, got ${ms}ms` });
      return z.NEVER;
    }
    return ms;
  });
