import { describe, expect, it } from 'vitest';
import { UNRECORDED_RUN_MAX_AGE_MS } from '../../src/events/task.js';
import { ABORTS_KEPT_MS, createAbortsHeard } from '../../src/services/worker/aborts-heard.js';
import { mayRunUnrecorded } from '../../src/services/worker/task-handler.js';

const T0 = 1_000_000;

/** A worker hearing aborts since T0, asked at `nowMs` about a task dispatched at T0 + 5 s. */
function ask(o: {
  nowMs?: number;
  redelivered?: boolean;
  recordStartAfterMs?: number;
  dispatchedAtMs?: number | undefined;
  heardSince?: number | 'deaf';
  heardAbortOf?: string;
  maxClockSkewMs?: number;
  fireTimeMs?: number;
}) {
  const aborts = createAbortsHeard();
  if (o.heardSince !== 'deaf') aborts.listening(o.heardSince ?? T0);
  if (o.heardAbortOf) aborts.heard(o.heardAbortOf, T0 + 4_000);
  const dispatchedAtMs = 'dispatchedAtMs' in o ? o.dispatchedAtMs : T0 + 5_000;
  return mayRunUnrecorded(
    {
      instanceId: 'job-1~t-a',
      fireTimeMs: o.fireTimeMs ?? T0 + 5_000,
      ...(dispatchedAtMs !== undefined && { dispatchedAtMs }),
    },
    {
      redelivered: o.redelivered ?? false,
      nowMs: o.nowMs ?? T0 + 5_010,
      recordStartAfterMs: o.recordStartAfterMs ?? 200,
      aborts,
      maxClockSkewMs: o.maxClockSkewMs ?? 1_000,
    },
  );
}

describe('whether a worker may run a task before recording its start', () => {
  it('may for a first delivery of a fresh task dispatched while it heard every abort', () => {
    expect(ask({})).toBe(true);
  });

  it('may not when recordStartAfterMs is 0', () => {
    expect(ask({ recordStartAfterMs: 0 })).toBe(false);
  });

  it('may not for a redelivered message: its tasks may have run, recorded, already', () => {
    expect(ask({ redelivered: true })).toBe(false);
  });

  it(`may not once the task is ${UNRECORDED_RUN_MAX_AGE_MS} ms old (a second copy may come)`, () => {
    expect(ask({ nowMs: T0 + 5_000 + UNRECORDED_RUN_MAX_AGE_MS - 1 })).toBe(true);
    expect(ask({ nowMs: T0 + 5_000 + UNRECORDED_RUN_MAX_AGE_MS })).toBe(false);
  });

  it('counts the age of a task handed out ahead from its fire time, as the scheduler does', () => {
    const fireTimeMs = T0 + 9_000; // handed out 4 s ahead
    const aged = fireTimeMs + UNRECORDED_RUN_MAX_AGE_MS;
    expect(ask({ fireTimeMs, nowMs: fireTimeMs + 10 })).toBe(true);
    expect(ask({ fireTimeMs, nowMs: aged - 1 })).toBe(true);
    expect(ask({ fireTimeMs, nowMs: aged })).toBe(false);
  });

  it('may not for a task that does not say when it was dispatched', () => {
    expect(ask({ dispatchedAtMs: undefined })).toBe(false);
  });

  it('may not while it may be missing aborts (disconnected)', () => {
    expect(ask({ heardSince: 'deaf' })).toBe(false);
  });

  it('may not for a dispatch less than maxClockSkewMs after it began hearing aborts', () => {
    expect(ask({ heardSince: T0 + 4_000 })).toBe(true);
    expect(ask({ heardSince: T0 + 4_001 })).toBe(false);
    expect(ask({ heardSince: T0 + 5_000, maxClockSkewMs: 0 })).toBe(true);
  });

  it('may not for an instance whose abort it heard', () => {
    expect(ask({ heardAbortOf: 'job-1~t-a' })).toBe(false);
    expect(ask({ heardAbortOf: 'job-1~t-b' })).toBe(true);
  });
});

describe('the aborts a worker heard', () => {
  it(`remembers an abort for ${ABORTS_KEPT_MS} ms, forgetting the older ones as new ones come`, () => {
    const aborts = createAbortsHeard();
    aborts.heard('a', 0);
    aborts.heard('b', 10);
    expect(aborts.has('a') && aborts.has('b')).toBe(true);
    aborts.heard('c', ABORTS_KEPT_MS);
    expect(aborts.has('a')).toBe(false);
    expect(aborts.has('b') && aborts.has('c')).toBe(true);
  });

  it('keeps an abort heard again from the later time', () => {
    const aborts = createAbortsHeard();
    aborts.heard('a', 0);
    aborts.heard('b', 5);
    aborts.heard('a', 20);
    aborts.heard('c', ABORTS_KEPT_MS + 10);
    expect(aborts.has('b')).toBe(false);
    expect(aborts.has('a')).toBe(true);
  });

  it('hears every abort from when it is listening until the connection is lost', () => {
    const aborts = createAbortsHeard();
    expect(aborts.sinceMs).toBeUndefined();
    aborts.listening(100);
    expect(aborts.sinceMs).toBe(100);
    aborts.deaf();
    expect(aborts.sinceMs).toBeUndefined();
    aborts.listening(300);
    expect(aborts.sinceMs).toBe(300);
  });
});
