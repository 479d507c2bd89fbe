/** Something to be called back in the event loop's next turn. */
export interface Resumable {
  resume(): void;
}

let queued: Resumable[] = [];

function resumeQueued(): void {
  const now = queued;
  queued = [];
  for (const r of now) {
    try {
      r.resume();
    } catch (err) {
      // Rethrown on its own (an uncaught exception, not lost); the others are still resumed.
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}

/**
 * Calls `r.resume()` in the event loop's next check phase (as `setImmediate`), with one immediate
 * for every call of the same turn: thousands of attempts let through at one tick wait for it
 * together, each without a promise or a closure of its own.
 */
export function inNextTurn(r: Resumable): void {
  queued.push(r);
  if (queued.length === 1) setImmediate(resumeQueued);
}
