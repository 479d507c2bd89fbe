import { describe, expect, it } from 'vitest';
import { desiredPartitions, rendezvousOwner } from '../../src/services/scheduler/rendezvous.js';

const P = 64;
const ownersOf = (members: string[]) =>
  Array.from({ length: P }, (_, p) => rendezvousOwner(members, p));

describe('rendezvous hashing of partitions', () => {
  it('gives every partition exactly one owner among the members, the same for every caller', () => {
    const members = ['s-1', 's-2', 's-3'];
    const shuffled = ['s-3', 's-1', 's-2'];
    expect(ownersOf(members)).toEqual(ownersOf(shuffled));
    const union = members.flatMap((m) => [...desiredPartitions(members, m, P)]);
    expect(union.sort((a, b) => a - b)).toEqual(Array.from({ length: P }, (_, i) => i));
  });

  it('spreads partitions roughly evenly', () => {
    const members = ['s-1', 's-2', 's-3'];
    for (const m of members) expect(desiredPartitions(members, m, P).size).toBeGreaterThan(P / 6);
  });

  it('moves only the partitions of a lost member', () => {
    const before = ownersOf(['s-1', 's-2', 's-3']);
    const after = ownersOf(['s-1', 's-3']);
    before.forEach((owner, p) => {
      if (owner !== 's-2') expect(after[p]).toBe(owner);
      else expect(after[p]).not.toBe('s-2');
    });
  });

  it('moves to a new member only partitions it wins', () => {
    const before = ownersOf(['s-1', 's-2']);
    const after = ownersOf(['s-1', 's-2', 's-3']);
    after.forEach((owner, p) => {
      if (owner !== 's-3') expect(owner).toBe(before[p]);
    });
  });

  it('has no owner without members', () => {
    expect(rendezvousOwner([], 0)).toBeUndefined();
  });
});
