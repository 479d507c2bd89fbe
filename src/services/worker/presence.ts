/**
 * Whether this worker's heartbeat key may have expired, as the worker can tell from its own beats.
 *
 * A supervisor declares a worker lost once its heartbeat key is gone, a TTL after the last put the
 * server stored. A put is stored after it was sent, so while less than the TTL has passed since the
 * sending of the last acknowledged put, the key is there. Measured from the sending, not the ack:
 * a worker stopped between the two would otherwise count its stop as present.
 *
 * The presence is an epoch that changes whenever the key may have expired since the last look: a
 * gap of a TTL between two acknowledged beats, or none acknowledged for a TTL up to now. Something
 * done "while present" (a claimed attempt, recorded as this worker's) compares the epoch it began
 * in with the epoch when it is to go on.
 */
export interface Presence {
  /** A beat sent at `sentAtMs` (this worker's clock) was acknowledged. */
  beat(sentAtMs: number): void;
  /**
   * The current epoch; undefined when the key may have expired by `nowMs` (no acknowledged beat
   * sent within the TTL).
   */
  epoch(nowMs: number): number | undefined;
}

export function createPresence(opts: {
  /** The heartbeat bucket's TTL. */
  ttlMs: number;
  /** When the first acknowledged beat was sent. */
  firstSentAtMs: number;
  /**
   * Taken off the TTL, for clocks that run at slightly different rates. Default 100 ms.
   */
  marginMs?: number;
}): Presence {
  const limitMs = opts.ttlMs - (opts.marginMs ?? 100);
  let lastSentAtMs = opts.firstSentAtMs;
  let epoch = 0;
  return {
    beat(sentAtMs) {
      if (sentAtMs <= lastSentAtMs) return; // an older beat's late ack
      if (sentAtMs - lastSentAtMs >= limitMs) epoch++;
      lastSentAtMs = sentAtMs;
    },
    epoch(nowMs) {
      return nowMs - lastSentAtMs >= limitMs ? undefined : epoch;
    },
  };
}
