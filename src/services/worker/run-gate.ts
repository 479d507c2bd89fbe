/** A task handed out before its fire time is held at most this long before it starts anyway. */
export const MAX_WAIT_FOR_FIRE_TIME_MS = 60_000;

/** How a wait for a fire time may end early. */
export interface WaitOptions {
  /** Ends the wait with false when aborted. */
  signal?: AbortSignal;
  /** Not ended by {@link RunGate.close} (an attempt already claimed runs at its time). */
  stayOpen?: boolean;
}

/**
 * When a worker's tasks may start. A task recorded ahead of its fire time (see the scheduler's
 * `fireAheadMs`) waits for that time without taking a run slot; then every task takes one of
 * `concurrency` run slots, in the order they asked. Tasks due at the same instant share one timer
 * and are let through together, in one go: each takes its next step before any takes a second,
 * so a tick shared by many jobs starts them all before the first one's report is written.
 */
export interface RunGate {
  /** Tasks waiting for their fire time. */
  readonly waiting: number;
  /** Attempts holding a run slot. */
  readonly running: number;
  /**
   * Resolves true at `fireTimeMs` (at once when it has passed; after at most
   * {@link MAX_WAIT_FOR_FIRE_TIME_MS}), or false as soon as the gate is closed (unless
   * `stayOpen`) or the signal aborts.
   */
  untilDue(fireTimeMs: number, opts?: WaitOptions): Promise<boolean>;
  /** Resolves when a run slot is free; pair with {@link release}. */
  acquire(): Promise<void>;
  release(): void;
  /** Ends every wait for a fire time (and every later one) with false, but those that stay open. */
  close(): void;
}

interface Waiter {
  done(due: boolean): void;
  stayOpen: boolean;
}

export function createRunGate(opts: {
  concurrency: number;
  clock: { now(): number };
  /** Called when a task starts waiting for its fire time (it no longer counts as busy). */
  onWaiting?: () => void;
}): RunGate {
  /** Waiters by the instant they are due, each instant with one timer. */
  const dueAt = new Map<number, { timer: NodeJS.Timeout; waiters: Set<Waiter> }>();
  let waitingCount = 0;
  /** Tasks waiting for a run slot, first come first served (`head` is the next one's index). */
  let queue: (() => void)[] = [];
  let head = 0;
  let running = 0;
  let closed = false;

  // A timer may end a millisecond before the wall clock reaches the instant: wait again.
  function arm(at: number, ms: number): NodeJS.Timeout {
    return setTimeout(() => {
      const group = dueAt.get(at);
      if (!group) return;
      const left = at - opts.clock.now();
      if (left > 0) {
        group.timer = arm(at, left);
        return;
      }
      dueAt.delete(at);
      for (const w of group.waiters) w.done(true);
    }, ms);
  }

  function untilDue(fireTimeMs: number, wait: WaitOptions = {}): Promise<boolean> {
    const stayOpen = wait.stayOpen === true;
    if ((closed && !stayOpen) || wait.signal?.aborted) return Promise.resolve(false);
    const now = opts.clock.now();
    const at = Math.min(fireTimeMs, now + MAX_WAIT_FOR_FIRE_TIME_MS);
    if (at <= now) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let group = dueAt.get(at);
      if (!group) {
        group = { timer: arm(at, at - now), waiters: new Set() };
        dueAt.set(at, group);
      }
      const waiters = group.waiters;
      const waiter: Waiter = {
        stayOpen,
        done(due) {
          if (!waiters.delete(waiter)) return; // already ended
          waitingCount--;
          // The abort listener stays (it finds the wait ended): removing thousands of listeners
          // at a tick took 10-25 ms of it.
          const current = dueAt.get(at);
          if (waiters.size === 0 && current?.waiters === waiters) {
            clearTimeout(current.timer);
            dueAt.delete(at);
          }
          resolve(due);
        },
      };
      waiters.add(waiter);
      waitingCount++;
      wait.signal?.addEventListener('abort', () => waiter.done(false), { once: true });
      opts.onWaiting?.();
    });
  }

  return {
    get waiting() {
      return waitingCount;
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
      // An index instead of shift(): a tick of thousands of tasks queues thousands here.
      const next = queue[head];
      if (next === undefined) {
        running--;
        return;
      }
      queue[head++] = undefined as never;
      if (head === queue.length) {
        queue = [];
        head = 0;
      }
      next();
    },
    close() {
      closed = true;
      for (const { waiters } of [...dueAt.values()])
        for (const w of [...waiters]) if (!w.stayOpen) w.done(false);
    },
  };
}
