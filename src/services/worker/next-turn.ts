let pending: Promise<void> | undefined;

/**
 * Resolves in the event loop's next check phase (as `setImmediate`), with one immediate and one
 * promise shared by every caller of the same turn: thousands of attempts let through at one tick
 * wait for it together.
 */
export function nextTurn(): Promise<void> {
  pending ??= new Promise<void>((resolve) =>
    setImmediate(() => {
      pending = undefined;
      resolve();
    }),
  );
  return pending;
}
