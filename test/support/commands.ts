/** Raw command messages as a client sends them, for tests that drive a command handler. */

const actor = { kind: 'client' as const, id: 'test' };
let counter = 0;

/** A command of `type` with `data`, from a test client, with a fresh id. */
export function commandOf(type: string, data: unknown) {
  return { type, v: 1, id: `c-${++counter}`, atMs: Date.now(), actor, data };
}
