import { setTimeout as sleep } from 'node:timers/promises';
import { WaitTimeoutError } from './errors.js';

export interface WaitForOptions {
  /** What is awaited, for the timeout message. */
  what: string;
  /** Give up after this long. Default 10_000 ms. */
  timeoutMs?: number;
  /** Pause between attempts. Default 100 ms. */
  intervalMs?: number;
  /** Stop early with this error's result (e.g. the process died). Checked before each attempt. */
  abort?: () => Error | undefined;
}

/**
 * Calls `probe` until it returns a value other than `undefined`/`false`, or throws the last
 * failure (as `cause`) in a {@link WaitTimeoutError} once the deadline passes.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitForOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted) throw aborted;
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline)
      throw new WaitTimeoutError(opts.what, timeoutMs, { cause: lastError });
    await sleep(intervalMs);
  }
}
