/** A task handed out before its fire time is held at most this long before it starts anyway. */
export const MAX_WAIT_FOR_FIRE_TIME_MS = 60_000;

/** How a wait for a fire time may end early. */
export interface WaitOptions {
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
  /** True once {@link close} was called. */
  readonly closed: boolean;
  /**
   * Calls `onDue(true)` at `fireTimeMs` (at once when it has passed; after at most
   * {@link MAX_WAIT_FOR_FIRE_TIME_MS}), or `onDue(false)` as soon as the gate is closed (unless
   * `stayOpen`) or the function it returns is called; exactly once. At the instant it is called from the timer's own
   * turn, one waiter after the other, so that a tick shared by many tasks needs no promise per task.
   * The function it returns ends the wait with false (a no-op once it ended): what a caller that
   * holds thousands of waits calls when one is cancelled, instead of a listener on a signal each.
   */
  whenDue(fireTimeMs: number, onDue: (due: boolean) => void, opts?: WaitOptions): () => void;
  /** {@link whenDue} as a promise. */
  untilDue(fireTimeMs: number, opts?: WaitOptions): Promise<boolean>;
  /**
   * Calls `fn` holding a run slot: at once when one is free, else when one is given back (from
   * within that {@link release} call). Pair with {@link release}.
   */
  withSlot(fn: () => void): void;
  /** {@link withSlot} as a promise. */
  acquire(): Promise<void>;
  release(): void;
  /** Ends every wait for a fire time (and every later one) with false, but those that stay open. */
  close(): void;
}

/**
 * Calls `fn`; what it throws is rethrown on its own (an uncaught exception, not lost) so that the
 * tasks after it in a loop are still let through.
 */
function unthrown<A>(fn: (arg: A) => void, arg: A): void {
  try {
    fn(arg);
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}

/** What {@link RunGate.whenDue} returns for a wait that ended at once. */
function ended(): void {}

interface Waiter {
  done(this: void, due: boolean): void;
  stayOpen: boolean;
}

/** The waiters due at one instant, and its timer. */
interface DueGroup {
  timer: NodeJS.Timeout;
  waiters: Set<Waiter>;
}

export function createRunGate(opts: {
  concurrency: number;
  clock: { now(): number };
  /** Called when a task starts waiting for its fire time (it no longer counts as busy). */
  onWaiting?: () => void;
}): RunGate {
  /** Waiters by the instant they are due, each instant with one timer. */
  const dueAt = new Map<number, DueGroup>();
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
      for (const w of group.waiters) unthrown(w.done, true);
    }, ms);
  }

  function whenDue(
    fireTimeMs: number,
    onDue: (due: boolean) => void,
    wait: WaitOptions = {},
  ): () => void {
    const stayOpen = wait.stayOpen === true;
    if (closed && !stayOpen) {
      onDue(false);
      return ended;
    }
    const now = opts.clock.now();
    const at = Math.min(fireTimeMs, now + MAX_WAIT_FOR_FIRE_TIME_MS);
    if (at <= now) {
      onDue(true);
      return ended;
    }
    let group = dueAt.get(at);
    if (!group) {
      group = { timer: arm(at, at - now), waiters: new Set() };
      dueAt.set(at, group);
    }
    const waiters = group.waiters;
    let over = false;
    const waiter: Waiter = {
      stayOpen,
      done(due) {
        // Whoever holds the function that ends this wait keeps it (called later, it finds the
        // wait ended): nothing is unregistered from thousands of holders at a tick.
        if (over) return;
        over = true;
        waitingCount--;
        // A group that is due was taken out of `dueAt` whole, and is dropped after its loop: its
        // waiters are not taken out of it one by one.
        const current = dueAt.get(at);
        if (current?.waiters === waiters) {
          waiters.delete(waiter);
          if (waiters.size === 0) {
            clearTimeout(current.timer);
            dueAt.delete(at);
          }
        }
        onDue(due);
      },
    };
    waiters.add(waiter);
    waitingCount++;
    opts.onWaiting?.();
    return () => waiter.done(false);
  }

  /** Set while {@link release} hands slots out, so that a slot given back meanwhile only counts. */
  let handingOut = false;

  function withSlot(fn: () => void): void {
    if (running < opts.concurrency) {
      running++;
      fn();
    } else queue.push(fn);
  }

  function release(): void {
    running--;
    if (handingOut) return; // the loop below hands it out (no recursion through the callbacks)
    handingOut = true;
    try {
      // An index instead of shift(): a tick of thousands of tasks queues thousands here.
      while (running < opts.concurrency && head < queue.length) {
        const next = queue[head] as () => void;
        queue[head++] = undefined as never;
        running++;
        unthrown(next, undefined);
      }
      if (head === queue.length) {
        queue = [];
        head = 0;
      }
    } finally {
      handingOut = false;
    }
  }

  return {
    get waiting() {
      return waitingCount;
    },
    get running() {
      return running;
    },
    get closed() {
      return closed;
    },
    whenDue,
    untilDue: (fireTimeMs, wait) =>
      new Promise<boolean>((resolve) => void whenDue(fireTimeMs, resolve, wait)),
    withSlot,
    acquire: () => new Promise<void>((resolve) => withSlot(resolve)),
    release,
    close() {
      closed = true;
      for (const { waiters } of [...dueAt.values()])
        for (const w of [...waiters]) if (!w.stayOpen) w.done(false);
    },
  };
}
