import type { JsMsg } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { shareMessage } from '../../src/services/worker/task-lease.js';

/** What the shares did to the one message they split: the calls, in order. */
function recordingMessage() {
  const calls: string[] = [];
  const m = {
    seq: 42,
    ack: () => void calls.push('ack'),
    nak: (millis?: number) => void calls.push(millis === undefined ? 'nak' : `nak ${millis}`),
    working: () => void calls.push('working'),
  };
  return { m: m as unknown as JsMsg, calls };
}

/** The leases of `n` tasks sharing `m` (in-progress acks at most once a second). */
const leases = (m: JsMsg, n: number, now?: () => number) =>
  shareMessage(
    m,
    Array.from({ length: n }, (_, i) => `task-${i}`),
    1000,
    now,
  ).map((s) => s.lease);

describe('the shares of a message carrying several tasks', () => {
  it('pair each task with a lease of its own, in the message’s order', () => {
    const { m } = recordingMessage();
    const shares = shareMessage(m, ['first', 'second'], 1000);
    expect(shares.map((s) => s.item)).toEqual(['first', 'second']);
    expect(shares[0]?.lease).not.toBe(shares[1]?.lease);
  });

  it('ack the message once, when the last share is acked', () => {
    const { m, calls } = recordingMessage();
    const [a, b, c] = leases(m, 3);
    a!.ack();
    b!.ack();
    expect(calls).toEqual([]);
    c!.ack();
    expect(calls).toEqual(['ack']);
    expect(a!.seq).toBe(42);
  });

  it('hand the whole message back when any share was nak’ed, after the shortest delay asked', () => {
    const { m, calls } = recordingMessage();
    const [a, b, c] = leases(m, 3);
    b!.nak(1000);
    a!.ack();
    c!.nak(250);
    expect(calls).toEqual(['nak 250']);
  });

  it('hand it back at once when a share asked for no delay', () => {
    const { m, calls } = recordingMessage();
    const [a, b] = leases(m, 2);
    a!.nak(1000);
    b!.nak();
    expect(calls).toEqual(['nak']);
  });

  it('count each share once, whatever it repeats', () => {
    const { m, calls } = recordingMessage();
    const [a, b] = leases(m, 2);
    a!.ack();
    a!.ack();
    a!.nak();
    expect(calls).toEqual([]);
    b!.ack();
    b!.nak();
    expect(calls).toEqual(['ack']);
  });

  it('leave the message to its ack wait while a share is unsettled', () => {
    const { m, calls } = recordingMessage();
    const shares = leases(m, 4);
    for (const s of shares.slice(1)) s.ack();
    expect(calls).toEqual([]);
  });

  it('send in-progress acks of all shares at most once per gap', () => {
    const { m, calls } = recordingMessage();
    let now = 10_000;
    const [a, b] = leases(m, 2, () => now);
    a!.working();
    b!.working();
    now += 999;
    a!.working();
    expect(calls).toEqual(['working']);
    now += 1;
    b!.working();
    expect(calls).toEqual(['working', 'working']);
  });
});
