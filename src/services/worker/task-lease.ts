import type { TaskDelivery } from './task-puller.js';

/**
 * What handling one task needs of the message it came in: the message itself when it carries one
 * task, or that task's share of a message carrying several ({@link shareMessage}).
 */
export interface TaskLease {
  /** The message's stream sequence (for logs). */
  readonly seq: number;
  /** The message was delivered before (to this worker or another): its tasks may have run. */
  readonly redelivered: boolean;
  /** The task is settled: started and reported, or found not this worker's to run. */
  ack(): void;
  /** The task should be offered again, after `millis` (at once without). */
  nak(millis?: number): void;
  /** The task is still held (an in-progress ack). */
  working(): void;
}

/** One of the items a message carries, with its lease on the message. */
export interface Share<T> {
  item: T;
  lease: TaskLease;
}

/**
 * Splits a message carrying several tasks (`items`) into one lease per task. The message is acked once every
 * task's lease is acked; if any lease was nak'ed, the whole message is handed back instead when the
 * last lease settles (after the shortest delay asked for): on redelivery the tasks that were
 * started meanwhile are refused by their expected sequence, the others run. A lease that never
 * settles (its worker stopped, leaving the attempt to the supervisor) leaves the message to its
 * ack wait, as a task message of its own would be. Each lease settles once; repeats are ignored.
 * In-progress acks of several leases are sent at most once per `workingGapMs`.
 */
export function shareMessage<T>(
  m: Pick<TaskDelivery, 'seq' | 'redelivered' | 'ack' | 'nak' | 'working'>,
  items: readonly T[],
  workingGapMs: number,
  now: () => number = () => performance.now(),
): Share<T>[] {
  let open = items.length;
  let nakAfter: number | undefined;
  let lastWorking = -Infinity;
  const redelivered = m.redelivered;
  const settle = () => {
    if (--open > 0) return;
    if (nakAfter === undefined) m.ack();
    else m.nak(nakAfter > 0 ? nakAfter : undefined);
  };
  const lease = (): TaskLease => {
    let settled = false;
    return {
      seq: m.seq,
      redelivered,
      ack() {
        if (settled) return;
        settled = true;
        settle();
      },
      nak(millis) {
        if (settled) return;
        settled = true;
        nakAfter = Math.min(nakAfter ?? Infinity, millis ?? 0);
        settle();
      },
      working() {
        const t = now();
        if (t - lastWorking < workingGapMs) return;
        lastWorking = t;
        m.working();
      },
    };
  };
  return items.map((item) => ({ item, lease: lease() }));
}
