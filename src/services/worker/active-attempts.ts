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
  const byInstance = new Map<string, Attempt[]>();
  let size = 0;
  return {
    get size() {
      return size;
    },
    add(a) {
      const held = byInstance.get(a.instanceId);
      if (!held) byInstance.set(a.instanceId, [a]);
      else if (!held.includes(a)) held.push(a);
      else return;
      size++;
    },
    delete(a) {
      const held = byInstance.get(a.instanceId);
      const i = held?.indexOf(a) ?? -1;
      if (!held || i < 0) return;
      size--;
      if (held.length === 1) byInstance.delete(a.instanceId);
      else held.splice(i, 1);
    },
    has(instanceId, attempt) {
      return byInstance.get(instanceId)?.some((a) => a.attempt === attempt) ?? false;
    },
    of: (instanceId) => byInstance.get(instanceId) ?? [],
    *[Symbol.iterator]() {
      for (const held of byInstance.values()) yield* [...held];
    },
  };
}
