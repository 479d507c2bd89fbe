/** Small statistics helpers for the benchmarks (no dependencies). */

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)] ?? NaN;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

export function ascending(xs: Iterable<number>): number[] {
  return [...xs].sort((a, b) => a - b);
}

export interface Spread {
  p50: number;
  p99: number;
  max: number;
  n: number;
}

/** p50, p99 and max of a sample (any order). */
export function spread(xs: Iterable<number>): Spread {
  const s = ascending(xs);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN, n: s.length };
}

/** Formats a number for the report: thousands separators, few decimals for small values. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Runs `fn(i)` for i in [0, count) with at most `window` calls in flight. */
export async function pipelined(
  count: number,
  window: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < count; i = next++) await fn(i);
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
