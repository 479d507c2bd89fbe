import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/events/build.js';
import { evolveInstance, type InstanceView } from '../../src/projections/instance-view.js';
import { attemptDeadlineMs } from '../../src/domain/instance-decider.js';

const at = Date.parse('2026-12-04T08:00:00Z');
const worker = { actor: { kind: 'worker' as const, id: 'w-1' }, nowMs: at + 50 };

/** A view with every field set: a field added to InstanceView must be added here to compile. */
const full: Required<InstanceView> = {
  instanceId: 'a~1',
  jobId: 'a',
  group: 'g',
  processor: 'p',
  params: { to: 'ops' },
  priority: 2,
  timeoutMs: 5000,
  fireTimeMs: at,
  status: 'running',
  attempt: 2,
  lastSeq: 7,
  dispatchedAtMs: at + 1,
  startedAtMs: at + 2,
  attemptStartedAtMs: at + 3,
  finishedAtMs: at + 4,
  workerId: 'w-1',
  progress: 0.4,
  note: 'halfway',
  result: { sent: 3 },
  error: { name: 'Error', message: 'boom' },
  endReason: 'error',
  retryDueAtMs: at + 5,
};

/** Attempt 1 of an instance, dispatched at `at` (timeout 5 s), not started. */
function dispatchedAt(instanceId: string, fireTimeMs: number): InstanceView {
  return {
    instanceId,
    jobId: 'a',
    group: 'g',
    processor: 'p',
    priority: 0,
    timeoutMs: 5000,
    fireTimeMs,
    status: 'dispatched',
    attempt: 1,
    lastSeq: 0,
    dispatchedAtMs: at,
  };
}

describe('the instance fold', () => {
  it('carries every field of the view into the next one and changes only what the event says', () => {
    const before = structuredClone(full);
    const next = evolveInstance(
      full,
      makeEvent('InstanceProgressed', { instanceId: 'a~1', attempt: 2, workerId: 'w-1' }, worker),
      8,
    );
    expect(next).toEqual({ ...full, lastSeq: 8 });
    expect(next).not.toBe(full);
    expect(full).toEqual(before); // the input is not touched
  });

  it('records a success over a running attempt, keeping when it started', () => {
    const next = evolveInstance(
      full,
      makeEvent(
        'InstanceSucceeded',
        { instanceId: 'a~1', attempt: 2, workerId: 'w-1', result: { sent: 4 } },
        worker,
      ),
      9,
    );
    expect(next).toEqual({
      ...full,
      lastSeq: 9,
      status: 'succeeded',
      finishedAtMs: at + 50,
      result: { sent: 4 },
    });
  });

  it('passes over an event at or below the sequence it has folded', () => {
    const again = makeEvent('InstanceCancelled', { instanceId: 'a~1' }, worker);
    expect(evolveInstance(full, again, 7)).toBe(full);
  });

  describe('an attempt run before its start was recorded (the worker’s recordStartAfterMs)', () => {
    const dispatched = dispatchedAt('a~3', at);

    it('takes a report straight after the dispatch as its start and end: who ran it, and when', () => {
      const done = evolveInstance(
        dispatched,
        makeEvent(
          'InstanceSucceeded',
          { instanceId: 'a~3', attempt: 1, workerId: 'w-2', startedAtMs: at + 7 },
          worker,
        ),
        1,
      );
      expect(done).toMatchObject({
        status: 'succeeded',
        workerId: 'w-2',
        startedAtMs: at + 7,
        attemptStartedAtMs: at + 7,
        finishedAtMs: at + 50,
      });
    });

    it('counts a start recorded while it ran (beganAtMs), and its timeout, from when it began', () => {
      const running = evolveInstance(
        dispatched,
        makeEvent(
          'InstanceStarted',
          { instanceId: 'a~3', attempt: 1, workerId: 'w-1', beganAtMs: at + 7 },
          { ...worker, nowMs: at + 207 },
        ),
        1,
      )!;
      expect(running).toMatchObject({
        status: 'running',
        startedAtMs: at + 7,
        attemptStartedAtMs: at + 7,
      });
      expect(attemptDeadlineMs(running)).toBe(at + 5007);
    });
  });

  describe('an attempt claimed ahead of its fire time (InstanceStarted.startsAtMs)', () => {
    const dispatched = dispatchedAt('a~2', at + 4000);
    const claim = makeEvent(
      'InstanceStarted',
      { instanceId: 'a~2', attempt: 1, workerId: 'w-1', startsAtMs: at + 4000 },
      worker, // claimed at + 50
    );

    it('runs from its fire time, not from the claim: its start and its timeout count from then', () => {
      const claimed = evolveInstance(dispatched, claim, 1)!;
      expect(claimed).toMatchObject({
        status: 'running',
        workerId: 'w-1',
        startedAtMs: at + 4000,
        attemptStartedAtMs: at + 4000,
      });
      expect(attemptDeadlineMs(claimed)).toBe(at + 9000);
    });

    it('takes when the processor really began from the report', () => {
      const claimed = evolveInstance(dispatched, claim, 1)!;
      const done = evolveInstance(
        claimed,
        makeEvent(
          'InstanceSucceeded',
          { instanceId: 'a~2', attempt: 1, workerId: 'w-1', startedAtMs: at + 4012 },
          { ...worker, nowMs: at + 4020 },
        ),
        2,
      );
      expect(done).toMatchObject({
        status: 'succeeded',
        startedAtMs: at + 4012,
        attemptStartedAtMs: at + 4012,
        finishedAtMs: at + 4020,
      });
    });

    it('keeps the first attempt’s start when a later attempt reports its own', () => {
      const failed = evolveInstance(
        { ...full, status: 'running', startedAtMs: at + 2, attemptStartedAtMs: at + 3000 },
        makeEvent(
          'InstanceAttemptFailed',
          {
            instanceId: 'a~1',
            attempt: 2,
            workerId: 'w-1',
            error: { name: 'Error', message: 'boom' },
            startedAtMs: at + 3005,
          },
          worker,
        ),
        8,
      );
      expect(failed).toMatchObject({ startedAtMs: at + 2, attemptStartedAtMs: at + 3005 });
    });
  });
});
