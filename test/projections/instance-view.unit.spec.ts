import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/events/build.js';
import { evolveInstance, type InstanceView } from '../../src/projections/instance-view.js';

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
});
