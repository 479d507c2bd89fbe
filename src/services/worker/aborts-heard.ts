/**
 * What a worker has heard of aborts (the control messages a cancel or a supervisor publishes after
 * recording why), so that a task of an instance cancelled while the task was on its way is not run
 * before its start is recorded: its start, refused, then stops it. Control messages are core NATS:
 * a worker hears them only while subscribed and connected, so it also knows since when it has heard
 * them all.
 */
export interface AbortsHeard {
  /**
   * Since when this worker has heard every control message (its subscription up, its connection
   * not lost since); undefined while it may be missing some.
   */
  readonly sinceMs: number | undefined;
  /** An abort of the instance was heard (at `nowMs`). */
  heard(instanceId: string, nowMs: number): void;
  /** True when an abort of the instance was heard lately (within {@link ABORTS_KEPT_MS}). */
  has(instanceId: string): boolean;
  /** The subscription is up (again) from `nowMs`. */
  listening(nowMs: number): void;
  /** The connection was lost: control messages may be missed until {@link listening}. */
  deaf(): void;
}

/**
 * How long an abort is remembered: longer than any task runs unrecorded after its dispatch
 * (UNRECORDED_RUN_MAX_AGE_MS), with room for a fire handed out ahead of its time.
 */
export const ABORTS_KEPT_MS = 60_000;

export function createAbortsHeard(keptMs = ABORTS_KEPT_MS): AbortsHeard {
  /** Instance id → when heard; in the order heard (a Map keeps insertion order). */
  const heardAt = new Map<string, number>();
  let sinceMs: number | undefined;
  return {
    get sinceMs() {
      return sinceMs;
    },
    heard(instanceId, nowMs) {
      heardAt.delete(instanceId);
      heardAt.set(instanceId, nowMs);
      for (const [id, at] of heardAt) {
        if (nowMs - at < keptMs) break;
        heardAt.delete(id);
      }
    },
    has: (instanceId) => heardAt.has(instanceId),
    listening(nowMs) {
      sinceMs = nowMs;
    },
    deaf() {
      sinceMs = undefined;
    },
  };
}
