import { describe, expect, it } from 'vitest';
import { createActiveAttempts } from '../../src/services/worker/active-attempts.js';
import type { Attempt } from '../../src/services/worker/attempt.js';

/** An attempt as the index sees it: its instance and number. */
const attemptOf = (instanceId: string, attempt: number) => ({ instanceId, attempt }) as Attempt;

describe("a worker's index of the attempts it holds", () => {
  it('finds a held attempt by instance and number, and forgets it once deleted', () => {
    const active = createActiveAttempts();
    const a = attemptOf('job~1', 1);
    active.add(a);
    expect(active.has('job~1', 1)).toBe(true);
    expect(active.has('job~1', 2)).toBe(false);
    expect(active.has('job~2', 1)).toBe(false);
    active.delete(a);
    expect(active.has('job~1', 1)).toBe(false);
    expect(active.size).toBe(0);
  });

  it('holds two attempts of one instance apart, and counts each attempt once', () => {
    const active = createActiveAttempts();
    const first = attemptOf('job~1', 1);
    const second = attemptOf('job~1', 2);
    active.add(first);
    active.add(first);
    active.add(second);
    active.add(attemptOf('job~2', 1));
    expect(active.size).toBe(3);
    expect(active.of('job~1')).toEqual([first, second]);
    active.delete(first);
    active.delete(first);
    expect(active.size).toBe(2);
    expect(active.of('job~1')).toEqual([second]);
    expect(active.has('job~1', 1)).toBe(false);
    expect(active.has('job~1', 2)).toBe(true);
    expect(active.of('job~3')).toEqual([]);
    const third = attemptOf('job~1', 3);
    active.add(third);
    expect(active.of('job~1')).toEqual([second, third]);
    active.delete(third);
    active.delete(second);
    expect(active.of('job~1')).toEqual([]);
    expect(active.size).toBe(1);
  });

  it('iterates over every attempt, even while attempts are deleted along the way', () => {
    const active = createActiveAttempts();
    const all = [attemptOf('a', 1), attemptOf('a', 2), attemptOf('b', 1)];
    for (const a of all) active.add(a);
    const seen: Attempt[] = [];
    for (const a of active) {
      seen.push(a);
      active.delete(a);
    }
    expect(seen).toEqual(all);
    expect(active.size).toBe(0);
  });
});
