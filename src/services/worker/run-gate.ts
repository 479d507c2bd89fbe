/** A task handed out before its fire time is held at most this long before it starts anyway. */
export const MAX_WAIT_FOR_FIRE_TIME_MS = 60_000;

/**
 * When a worker's tasks may start. A task recorded ahead of its fire time (see the scheduler's
 * `fireAheadMs`) waits for that time without taking a run slot; then every task takes one of
 * `concurrency` run slots, in the order they asked.
 */
export interface RunGate {
  /** Tasks waiting for their fire time. */
  readonly waiting: number;
  /** Attempts holding a run slot. */
  readonly running: number;
  /**
   * Resolves true at `fireTimeMs` (at once when it has passed; after at most
   * {@link MAX_WAIT_FOR_FIRE_TIME_MS}), or false as soon as the gate is closed.
   */
  untilDue(fireTimeMs: number): Promise<boolean>;
  /** Resolves when a run slot is free; pair with {@link release}. */
  acquire(): Promise<void>;
  release(): void;
  /** Ends every wait for a fire time (and every later one) with false. Run slots are unaffected. */
  close(): void;
}

export function createRunGate(opts: {
  concurrency: number;
  clock: { now(): number };
  /** Called when a task starts waiting for its fire time (it no longer counts as busy). */
  onWaiting?: () => void;
}): RunGate {
  const waits = new Set<(due: boolean) => void>();
  const queue: (() => void)[] = [];
  let running = 0;
  let closed = false;

  function untilDue(fireTimeMs: number): Promise<boolean> {
    if (closed) return Promise.resolve(false);
    const first = Math.min(fireTimeMs - opts.clock.now(), MAX_WAIT_FOR_FIRE_TIME_MS);
    if (first <= 0) return Promise.resolve(true);
    const latest = opts.clock.now() + MAX_WAIT_FOR_FIRE_TIME_MS;
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout;
      const done = (due: boolean) => {
        clearTimeout(timer);
        waits.delete(done);
        resolve(due);
      };
      // A timer may end a millisecond before the wall clock reaches the fire time: wait again.
      const arm = (ms: number) => {
        timer = setTimeout(() => {
          const left = Math.min(fireTimeMs, latest) - opts.clock.now();
          if (left > 0) arm(left);
          else done(true);
        }, ms);
      };
      waits.add(done);
      arm(first);
      opts.onWaiting?.();
    });
  }

  return {
    get waiting() {
      return waits.size;
    },
    get running() {
      return running;
    },
    untilDue,
    acquire() {
      if (running < opts.concurrency) {
        running++;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => queue.push(resolve));
    },
    release() {
      const next = queue.shift();
      if (next) next();
      else running--;
    },
    close() {
      closed = true;
      for (const done of [...waits]) done(false);
    },
  };
}
