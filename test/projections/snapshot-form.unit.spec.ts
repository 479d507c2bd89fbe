import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/events/build.js';
import type { JetschedEvent, StoredEvent } from '../../src/events/event.js';
import { jobSpecInputSchema } from '../../src/domain/job-spec.js';
import { instanceIdFor } from '../../src/events/subjects.js';
import { fromRows, toRows } from '../../src/projections/rows.js';
import {
  emptyState,
  evolve,
  fromSnapshot,
  toSnapshot,
  type ScheduleState,
  type StateSnapshotV1,
} from '../../src/projections/state.js';

const at = Date.parse('2026-12-02T08:00:00Z');
const scheduler = { actor: { kind: 'scheduler' as const, id: 's-1' }, nowMs: at };
const worker = { actor: { kind: 'worker' as const, id: 'w-1' }, nowMs: at + 5 };

/** Two jobs; one instance running, one succeeded with a result, one fire not yet dispatched. */
function state(): ScheduleState {
  const spec = (name: string, params?: unknown) =>
    jobSpecInputSchema.parse({
      name,
      processor: 'p',
      schedule: { every: '1s' },
      ...(params !== undefined && { params }),
    });
  const fired = (jobId: string, fireTimeMs: number, runNumber: number) =>
    makeEvent(
      'JobFired',
      {
        jobId,
        instanceId: instanceIdFor(jobId, String(fireTimeMs)),
        fireTimeMs,
        reason: 'schedule',
        runNumber,
      },
      scheduler,
    );
  const dispatched = (jobId: string, fireTimeMs: number, params?: unknown) =>
    makeEvent(
      'InstanceDispatched',
      {
        instanceId: instanceIdFor(jobId, String(fireTimeMs)),
        jobId,
        attempt: 1,
        group: 'default',
        processor: 'p',
        fireTimeMs,
        priority: 0,
        ...(params !== undefined && { params }),
      },
      scheduler,
    );
  const a1 = instanceIdFor('a', String(at));
  const events: JetschedEvent[] = [
    makeEvent('JobDefined', { jobId: 'a', spec: spec('a', null), createdAtMs: at }, scheduler),
    makeEvent('JobDefined', { jobId: 'b', spec: spec('b'), createdAtMs: at }, scheduler),
    fired('a', at, 1),
    dispatched('a', at, null),
    makeEvent('InstanceStarted', { instanceId: a1, attempt: 1, workerId: 'w-1' }, worker),
    makeEvent(
      'InstanceSucceeded',
      { instanceId: a1, attempt: 1, workerId: 'w-1', result: { rows: [1, 2] } },
      worker,
    ),
    fired('b', at, 1),
    dispatched('b', at),
    makeEvent(
      'InstanceStarted',
      { instanceId: instanceIdFor('b', String(at)), attempt: 1, workerId: 'w-1' },
      worker,
    ),
    fired('b', at + 1000, 2),
  ];
  let s = emptyState();
  events.forEach((event, i) => {
    const stored: StoredEvent = { seq: i + 1, subject: 'x', storedAtMs: event.atMs, event };
    s = evolve(s, stored);
  });
  return s;
}

/** The state as plain data, to compare two states. */
const plain = (s: ScheduleState) => ({
  jobs: [...s.jobs],
  instances: [...s.instances],
  active: [...s.active].map(([k, v]) => [k, [...v]]),
  undispatched: [...s.undispatched],
  undispatchedByJob: [...s.undispatchedByJob].map(([k, v]) => [k, [...v]]),
  lastFinishMs: [...s.lastFinishMs],
});

describe('snapshots', () => {
  it('give back the same state after a trip through JSON', () => {
    const original = state();
    expect(original.instances.size).toBe(2);
    expect(original.undispatched.size).toBe(1);
    const stored = JSON.parse(JSON.stringify(toSnapshot(original))) as ReturnType<
      typeof toSnapshot
    >;
    expect(plain(fromSnapshot(stored))).toEqual(plain(original));
  });

  it('still restore from the form written before version 2 (arrays of objects)', () => {
    const original = state();
    const v1: StateSnapshotV1 = JSON.parse(
      JSON.stringify({
        jobs: [...original.jobs.values()],
        instances: [...original.instances.values()],
        undispatched: [...original.undispatched.values()],
        lastFinishMs: [...original.lastFinishMs],
      }),
    ) as StateSnapshotV1;
    expect(plain(fromSnapshot(v1))).toEqual(plain(original));
  });

  it('are less than half the JSON of the plain form for many like instances', () => {
    const s = state();
    const one = [...s.instances.values()][0]!;
    for (let i = 0; i < 1000; i++)
      s.instances.set(`i-${i}`, { ...one, instanceId: `i-${i}`, lastSeq: 100 + i });
    const plainJson = JSON.stringify([...s.instances.values()]).length;
    const rowsJson = JSON.stringify(toSnapshot(s).instances).length;
    expect(rowsJson).toBeLessThan(plainJson / 2);
  });
});

describe('rows', () => {
  it('keep a key holding null apart from a key that is absent, and drop undefined as JSON does', () => {
    const items = [{ a: 1, b: null }, { a: 2 }, { c: { nested: [1] }, d: undefined }];
    const back = fromRows(JSON.parse(JSON.stringify(toRows(items))) as ReturnType<typeof toRows>);
    expect(back).toEqual([{ a: 1, b: null }, { a: 2 }, { c: { nested: [1] } }]);
    expect(Object.hasOwn(back[1]!, 'b')).toBe(false);
    expect(Object.hasOwn(back[2]!, 'd')).toBe(false);
  });

  it('write the same rows for equal objects whatever their key order', () => {
    expect(toRows([{ x: 1, y: 2 }])).toEqual(toRows([{ y: 2, x: 1 }]));
  });

  it('refuse objects of more than 52 keys', () => {
    const wide = Object.fromEntries(Array.from({ length: 53 }, (_, i) => [`k${i}`, i]));
    expect(() => toRows([wide])).toThrow(RangeError);
  });
});
