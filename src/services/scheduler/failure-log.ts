import type { Logger } from 'pino';

/**
 * Logs failed scheduler steps without flooding. Failures come in bursts: when a NATS node dies,
 * every step in flight fails at once, and again each second until it is back. The first failure
 * of a window is logged at once with its error; the others of that window are counted and logged
 * as one summary line when the window closes (how many, their distinct messages, some keys).
 * Every failure ends up in a line: none is dropped silently.
 */
export interface FailureLog {
  report(err: unknown, key: string): void;
  /** Logs the pending summary now (e.g. on stop). */
  flush(): void;
}

const SAMPLE_KEYS = 5;
const MAX_MESSAGES = 5;

export function createFailureLog(log: Logger, windowMs = 1000): FailureLog {
  let timer: NodeJS.Timeout | undefined;
  let count = 0;
  const keys: string[] = [];
  const messages = new Map<string, number>();

  function flush(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (count === 0) return;
    log.error(
      { failures: count, errors: Object.fromEntries(messages), keys, windowMs },
      'more scheduler steps failed; will retry',
    );
    count = 0;
    keys.length = 0;
    messages.clear();
  }

  return {
    report(err, key) {
      if (!timer) {
        log.error({ err, key }, 'scheduler step failed; will retry');
        timer = setTimeout(flush, windowMs);
        timer.unref();
        return;
      }
      count++;
      if (keys.length < SAMPLE_KEYS) keys.push(key);
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      if (messages.has(message) || messages.size < MAX_MESSAGES)
        messages.set(message, (messages.get(message) ?? 0) + 1);
    },
    flush,
  };
}
