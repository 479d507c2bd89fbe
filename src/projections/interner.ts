/**
 * Keeps one frozen copy of equal small JSON values. A fold holds a view per job, and most jobs
 * share their schedule, retry policy and params (often the defaults): keeping those once takes
 * about a third off each job's heap. Values are compared by their JSON text; one too large to be
 * worth it, or one arriving when the pool is full, is returned as it is.
 */
export interface InternerOptions {
  /** Longest JSON text pooled. Default 256. */
  maxChars?: number;
  /** Most distinct values pooled. Default 10,000. */
  maxEntries?: number;
}

export function createInterner({ maxChars = 256, maxEntries = 10_000 }: InternerOptions = {}) {
  const pool = new Map<string, unknown>();
  return function intern<T>(value: T): T {
    if (value === null || typeof value !== 'object') return value;
    const key = JSON.stringify(value);
    if (key.length > maxChars) return value;
    const hit = pool.get(key);
    if (hit !== undefined) return hit as T;
    if (pool.size >= maxEntries) return value;
    deepFreeze(value);
    pool.set(key, value);
    return value;
  };
}

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  for (const v of Object.values(value)) deepFreeze(v);
  Object.freeze(value);
}
