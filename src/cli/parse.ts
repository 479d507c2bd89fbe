import { parseDurationMs } from '../schedule/duration.js';
import { invalidOption } from './errors.js';

const ISO_START = /^\d{4}-\d{2}-\d{2}/;

/**
 * An instant given as ISO 8601 ("2026-11-23T20:00:00Z") or as a duration before `nowMs`
 * ("10m" = ten minutes ago). Returns epoch ms.
 */
export function parseInstantOrAgo(flag: string, raw: string, nowMs: number): number {
  const text = raw.trim();
  const ago = parseDurationMs(text);
  if (ago !== undefined) return nowMs - ago;
  const ms = ISO_START.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) {
    throw invalidOption(
      flag,
      `${JSON.stringify(raw)} is neither an ISO 8601 time nor a duration like "10m", "2h", "1d"`,
    );
  }
  return ms;
}

/** A positive integer flag such as a stream sequence. */
export function parsePositiveInt(flag: string, raw: string): number {
  return parseIntFlag(flag, raw, 1, 'a positive integer');
}

/** An integer flag of 0 or more, such as a number of milliseconds where 0 turns a feature off. */
export function parseNonNegativeInt(flag: string, raw: string): number {
  return parseIntFlag(flag, raw, 0, 'an integer of 0 or more');
}

/** An integer flag from `min` to `max`, refused naming the flag and `what` it expects. */
export function parseIntFlag(
  flag: string,
  raw: string,
  min: number,
  what: string,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw invalidOption(flag, `expected ${what}, got ${JSON.stringify(raw)}`);
  return n;
}

/** "a, b,c" → ["a", "b", "c"] */
export function parseList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
