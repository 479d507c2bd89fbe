import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/events/build.js';
import type { JetschedEvent, StoredEvent } from '../../src/events/event.js';
import { jobSpecInputSchema } from '../../src/domain/job-spec.js';
import { instanceIdFor } from '../../src/events/subjects.js';
import {
  emptyState,
  evolve,
  fromSnapshot,
  toSnapshot,
  type ScheduleState,
} from '../../src/projections/state.js';
import { schedulerProjection } from '../../src/projections/projection.js';

const at = Date.parse('2026-12-03T08:00:00Z');
const scheduler = { actor: { kind: 'scheduler' as const, id: 's-1' }, nowMs: at - 900 };
const worker = { actor: { kind: 'worker' as const, id: 'w-1' }, nowMs: at + 2 };
const id = instanceIdFor('a', String(at));
const dispatch = {
  group: 'default',
  processor: 'p',
  priority: 3,
  timeoutMs: 5000,
  params: { to: 'ops' },
};

function fold(events: JetschedEvent[], evolveFn = evolve) {
  let s = emptyState();
  events.forEach((event, i) => {
    const stored: StoredEvent = { seq: i + 1, subject: 'x', storedAtMs: event.atMs, event };
    s = evolveFn(s, stored);
  });
  return s;
}

const defined = makeEvent(
  'JobDefined',
  {
    jobId: 'a',
    spec: jobSpecInputSchema.parse({ name: 'a', processor: 'p', schedule: { every: '1s' } }),
    createdAtMs: at - 5000,
  },
  scheduler,
);
const fired = (withDispatch: boolean) =>
  makeEvent(
    'JobFired',
    {
      jobId: 'a',
      instanceId: id,
      fireTimeMs: at,
      reason: 'schedule',
      runNumber: 1,
      ...(withDispatch && { dispatch }),
    },
    scheduler,
  );

describe('a fire that dispatches its first attempt', () => {
  it('creates the instance, dispatched, with an empty subject (lastSeq 0) and what the attempt runs', () => {
    const s = fold([defined, fired(true)]);
    expect(s.undispatched.size).toBe(0);
    expect(s.active.get('a')).toEqual(new Set([id]));
    expect(s.instances.get(id)).toEqual({
      instanceId: id,
      jobId: 'a',
      group: 'default',
      processor: 'p',
      priority: 3,
      timeoutMs: 5000,
      params: { to: 'ops' },
      fireTimeMs: at,
      status: 'dispatched',
      attempt: 1,
      lastSeq: 0,
      dispatchedAtMs: at - 900,
    });
  });

  it('is started and finished by the instance events that follow on its own subject', () => {
    const s = fold([
      defined,
      fired(true),
      makeEvent('InstanceStarted', { instanceId: id, attempt: 1, workerId: 'w-1' }, worker),
      makeEvent('InstanceSucceeded', { instanceId: id, attempt: 1, workerId: 'w-1' }, worker),
    ]);
    expect(s.instances.get(id)).toMatchObject({ status: 'succeeded', lastSeq: 4, workerId: 'w-1' });
    expect(s.active.has('a')).toBe(false);
    expect(s.lastFinishMs.get('a')).toBe(at + 2);
  });

  it('is dropped by the scheduler fold once finished, and not brought back by folding the fire again', () => {
    const events = [
      defined,
      fired(true),
      makeEvent('InstanceStarted', { instanceId: id, attempt: 1, workerId: 'w-1' }, worker),
      makeEvent('InstanceSucceeded', { instanceId: id, attempt: 1, workerId: 'w-1' }, worker),
    ];
    const evolveForScheduler = (st: ScheduleState, e: StoredEvent) =>
      schedulerProjection.evolve(st, e);
    const s = fold(events, evolveForScheduler);
    expect(s.instances.has(id)).toBe(false);
    evolveForScheduler(s, { seq: 2, subject: 'x', storedAtMs: at, event: events[1]! });
    expect(s.instances.has(id)).toBe(false);
    expect(s.undispatched.size).toBe(0);
  });

  it('survives a snapshot as the same dispatched instance', () => {
    const s = fold([defined, fired(true)]);
    const back = fromSnapshot(
      JSON.parse(JSON.stringify(toSnapshot(s))) as ReturnType<typeof toSnapshot>,
    );
    expect(back.instances.get(id)).toEqual(s.instances.get(id));
    expect(back.active.get('a')).toEqual(new Set([id]));
  });
});

describe('a fire without a dispatch (held back by the overlap policy)', () => {
  it('waits as an undispatched fire, and InstanceDispatched creates its instance later', () => {
    const held = fold([defined, fired(false)]);
    expect(held.instances.size).toBe(0);
    expect([...held.undispatched.keys()]).toEqual([id]);
    const s = fold([
      defined,
      fired(false),
      makeEvent(
        'InstanceDispatched',
        { instanceId: id, jobId: 'a', attempt: 1, fireTimeMs: at, ...dispatch },
        scheduler,
      ),
    ]);
    expect(s.undispatched.size).toBe(0);
    expect(s.instances.get(id)).toMatchObject({ status: 'dispatched', lastSeq: 3 });
  });
});

describe('the dispatch of a retry', () => {
  it('starts the next attempt afresh, keeping what the first one recorded but not its due time or attempt start', () => {
    const failedAt = { ...worker, nowMs: at + 40 };
    const s = fold([
      defined,
      fired(true),
      makeEvent('InstanceStarted', { instanceId: id, attempt: 1, workerId: 'w-1' }, worker),
      makeEvent(
        'InstanceAttemptFailed',
        { instanceId: id, attempt: 1, workerId: 'w-1', error: { name: 'Error', message: 'boom' } },
        failedAt,
      ),
      makeEvent(
        'InstanceRetryScheduled',
        { instanceId: id, attempt: 2, dueAtMs: at + 1000, reason: 'error' },
        scheduler,
      ),
      makeEvent(
        'InstanceDispatched',
        {
          instanceId: id,
          jobId: 'a',
          attempt: 2,
          fireTimeMs: at,
          group: 'retry',
          processor: 'p',
          priority: 0,
        },
        { ...scheduler, nowMs: at + 1000 },
      ),
    ]);
    expect(s.instances.get(id)).toEqual({
      instanceId: id,
      jobId: 'a',
      group: 'retry',
      processor: 'p',
      priority: 0,
      // The retry's dispatch names no params or timeout: the first attempt's still apply.
      timeoutMs: 5000,
      params: { to: 'ops' },
      fireTimeMs: at,
      status: 'dispatched',
      attempt: 2,
      lastSeq: 6,
      dispatchedAtMs: at + 1000,
      startedAtMs: at + 2,
      workerId: 'w-1',
      endReason: 'error',
      error: { name: 'Error', message: 'boom' },
    });
    expect(s.active.get('a')).toEqual(new Set([id]));
  });
});
