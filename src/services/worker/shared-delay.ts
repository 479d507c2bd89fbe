/** The items of one shared timer: what {@link SharedDelay.add} returns. Delete an item from it to take it back. */
export type DelayGroup<T> = Set<T>;

/**
 * Calls `due(item)` `delayMs` after an item was added, unless it was deleted first. Items added in
 * the same millisecond share one timer: a tick lets thousands of attempts through at once, and
 * each would otherwise make and clear a timer of its own. The shared timer is made when its first
 * item is added, so it runs before any timer of the same delay made after that item was added.
 */
export interface SharedDelay<T> {
  add(item: T): DelayGroup<T>;
}

export function sharedDelay<T>(delayMs: number, due: (item: T) => void): SharedDelay<T> {
  let latest: { at: number; items: DelayGroup<T> } | undefined;
  return {
    add(item) {
      const at = Date.now();
      if (latest?.at !== at) {
        const items = new Set<T>();
        latest = { at, items };
        setTimeout(() => {
          if (latest?.items === items) latest = undefined;
          for (const x of items) {
            items.delete(x);
            try {
              due(x);
            } catch (err) {
              // Rethrown on its own (an uncaught exception, not lost); the others are still due.
              queueMicrotask(() => {
                throw err;
              });
            }
          }
        }, delayMs);
      }
      latest.items.add(item);
      return latest.items;
    },
  };
}
