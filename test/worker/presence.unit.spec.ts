import { describe, expect, it } from 'vitest';
import { createPresence } from '../../src/services/worker/presence.js';

const TTL = 3000;

describe('a worker’s presence, from its own heartbeats', () => {
  it('stays in one epoch while beats are sent within the TTL (less a margin) of each other', () => {
    const p = createPresence({ ttlMs: TTL, firstSentAtMs: 0, marginMs: 100 });
    for (let t = 1000; t <= 10_000; t += 1000) p.beat(t);
    expect(p.epoch(10_500)).toBe(0);
    expect(p.epoch(12_899)).toBe(0);
  });

  it('has no epoch once no acknowledged beat was sent for the TTL less the margin', () => {
    const p = createPresence({ ttlMs: TTL, firstSentAtMs: 0, marginMs: 100 });
    p.beat(1000);
    expect(p.epoch(3899)).toBe(0);
    expect(p.epoch(3900)).toBeUndefined();
  });

  it('moves to a new epoch when a beat comes after such a gap, so a claim of the old one is void', () => {
    const p = createPresence({ ttlMs: TTL, firstSentAtMs: 0, marginMs: 100 });
    p.beat(1000);
    const claimedIn = p.epoch(1500);
    p.beat(5000); // stopped from 1,000 to 5,000: the key may have expired at about 4,000
    expect(p.epoch(5100)).toBe(1);
    expect(p.epoch(5100)).not.toBe(claimedIn);
  });

  it('counts from when a beat was sent, so a late acknowledgement does not hide a gap', () => {
    const p = createPresence({ ttlMs: TTL, firstSentAtMs: 0, marginMs: 100 });
    p.beat(1000);
    p.beat(800); // an older beat acknowledged late
    expect(p.epoch(3950)).toBeUndefined();
  });
});
