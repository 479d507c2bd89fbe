import type { Attempt } from './attempt.js';

/**
 * The attempts a worker holds (claimed ahead, starting or running), found by their instance. A
 * worker claiming ahead holds thousands at a tick; each task it receives asks whether its attempt
 * is already held, so that is a lookup, not a search through them all.
 */
export interface ActiveAttempts extends Iterable<Attempt> {
  readonly size: number;
  add(a: Attempt): void;
  delete(a: Attempt): void;
  /** True when this worker holds that attempt of that instance. */
  has(instanceId: string, attempt: number): boolean;
  /** The attempts of one instance this worker holds (usually one at most). */
  of(instanceId: string): readonly Attempt[];
}

export function createActiveAttempts(): ActiveAttempts {
  // An instance's one attempt is kept as it is, several in an array: a tick adds and looks up
  // thousands, each without an array or a closure of its own.
  const byInstance = new Map<string, Attempt | Attempt[]>();
  let size = 0;
  const list = (held: Attempt | Attempt[] | undefined): readonly Attempt[] =>
    held === undefined ? [] : Array.isArray(held) ? held : [held];
  return {
    get size() {
      return size;
    },
    add(a) {
      const held = byInstance.get(a.instanceId);
      if (held === undefined) byInstance.set(a.instanceId, a);
      else if (held === a || (Array.isArray(held) && held.includes(a))) return;
      else if (Array.isArray(held)) held.push(a);
      else byInstance.set(a.instanceId, [held, a]);
      size++;
    },
    delete(a) {
      const held = byInstance.get(a.instanceId);
      if (held === a) {
        byInstance.delete(a.instanceId);
        size--;
        return;
      }
      if (!Array.isArray(held)) return;
      const i = held.indexOf(a);
      if (i < 0) return;
      size--;
      held.splice(i, 1);
      if (held.length === 1) byInstance.set(a.instanceId, held[0] as Attempt);
    },
    has(instanceId, attempt) {
      const held = byInstance.get(instanceId);
      if (held === undefined) return false;
      if (!Array.isArray(held)) return held.attempt === attempt;
      for (const a of held) if (a.attempt === attempt) return true;
      return false;
    },
    of: (instanceId) => list(byInstance.get(instanceId)),
    *[Symbol.iterator]() {
      for (const held of byInstance.values()) yield* Array.isArray(held) ? [...held] : [held];
    },
  };
}
