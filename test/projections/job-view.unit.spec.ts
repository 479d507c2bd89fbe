import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/events/build.js';
import { jobSpecInputSchema } from '../../src/domain/job-spec.js';
import { compactJobView, evolveJob, type JobView } from '../../src/projections/job-view.js';
import { createInterner } from '../../src/projections/interner.js';

const actor = { kind: 'client' as const, id: 'test' };
const T0 = Date.parse('2026-11-24T10:00:00Z');

function defined(name: string, extra: Record<string, unknown> = {}): JobView {
  const spec = jobSpecInputSchema.parse({
    name,
    processor: 'p',
    schedule: { every: '1m' },
    ...extra,
  });
  const event = makeEvent(
    'JobDefined',
    { jobId: name, spec, createdAtMs: T0 },
    { actor, nowMs: T0 },
  );
  // Each fold decodes its own copy of the event, as a fold of the stream would.
  return evolveJob(undefined, structuredClone(event), 1)!;
}

function triggered(view: JobView, triggerId: string, seq: number): JobView {
  const event = makeEvent(
    'JobTriggerRequested',
    { jobId: view.jobId, triggerId, dueAtMs: T0, reason: 'manual' },
    { actor, nowMs: T0 },
  );
  return evolveJob(view, event, seq, { owned: true })!;
}

describe('a job view holds what jobs have in common once', () => {
  it('shares equal schedules, retry policies and params between jobs, frozen', () => {
    const a = defined('a', { params: { region: 'eu' } });
    const b = defined('b', { params: { region: 'eu' } });
    expect(a.spec.schedule).toBe(b.spec.schedule);
    expect(a.spec.retry).toBe(b.spec.retry);
    expect(a.spec.params).toBe(b.spec.params);
    expect(Object.isFrozen(a.spec.retry)).toBe(true);
    expect(b.spec).toMatchObject({ name: 'b', schedule: { kind: 'every', everyMs: 60_000 } });
  });

  it('keeps different values apart', () => {
    const a = defined('c', { params: { region: 'eu' } });
    const b = defined('d', { params: { region: 'us' } });
    expect(a.spec.params).toEqual({ region: 'eu' });
    expect(b.spec.params).toEqual({ region: 'us' });
  });

  it('gives a job its own pending triggers when its first trigger arrives, even in an owned fold', () => {
    const a = triggered(defined('e'), 'once', 2);
    const b = defined('f');
    expect(Object.keys(a.pendingTriggers)).toEqual(['once']);
    expect(b.pendingTriggers).toEqual({});
    const a2 = triggered(a, 'twice', 3);
    expect(a2.pendingTriggers).toBe(a.pendingTriggers); // owned: updated in place from then on
    expect(Object.keys(a2.pendingTriggers)).toEqual(['once', 'twice']);
  });

  it('shares the same parts in a view read back from a snapshot', () => {
    const live = defined('g');
    const restored = compactJobView(JSON.parse(JSON.stringify(defined('h'))) as JobView);
    expect(restored.spec.retry).toBe(live.spec.retry);
    expect(triggered(restored, 'x', 2).pendingTriggers).toEqual({
      x: { triggerId: 'x', dueAtMs: T0, reason: 'manual' },
    });
  });
});

describe('interner', () => {
  it('returns primitives and null as they are', () => {
    const intern = createInterner();
    expect(intern(3)).toBe(3);
    expect(intern(null)).toBe(null);
    expect(intern('x')).toBe('x');
  });

  it('does not pool values longer than its limit, nor beyond its size', () => {
    const intern = createInterner({ maxChars: 20, maxEntries: 1 });
    const big = { text: 'a'.repeat(50) };
    expect(intern({ ...big })).not.toBe(intern({ ...big }));
    const first = intern({ n: 1 });
    expect(intern({ n: 1 })).toBe(first);
    expect(intern({ n: 2 })).not.toBe(intern({ n: 2 })); // the pool is full
  });

  it('freezes nested values it pools', () => {
    const pooled = createInterner()({ outer: { inner: [1, 2] } });
    expect(Object.isFrozen(pooled.outer.inner)).toBe(true);
  });
});

describe('the job fold', () => {
  /** A view with every field set: a field added to JobView must be added here to compile. */
  const full = (): Required<JobView> => ({
    ...defined('full'),
    status: 'active',
    lastSeq: 9,
    runs: 4,
    lastTickMs: T0 + 240_000,
    lastSkippedMs: T0 + 60_000,
    notBeforeMs: T0 + 1,
    lastFiredAtMs: T0 + 239_000,
    pendingTriggers: { t1: { triggerId: 't1', dueAtMs: T0, reason: 'manual' } },
    skippedTicks: 1,
    triggerSeq: 8,
  });

  it('carries every field of the view into the next one and changes only what the event says', () => {
    const view = full();
    const before = structuredClone(view);
    const next = evolveJob(
      view,
      makeEvent('JobPaused', { jobId: 'full' }, { actor, nowMs: T0 + 300_000 }),
      10,
    );
    expect(next).toEqual({ ...before, lastSeq: 10, status: 'paused', updatedAtMs: T0 + 300_000 });
    expect(view).toEqual(before); // the input is not touched
  });

  it('counts a fire, settles the trigger it fired, and moves the last tick on', () => {
    const view = full();
    const fired = makeEvent(
      'JobFired',
      {
        jobId: 'full',
        instanceId: 'full~t-t1',
        fireTimeMs: T0 + 250_000,
        reason: 'manual',
        runNumber: 5,
      },
      { actor, nowMs: T0 + 250_001 },
    );
    const next = evolveJob(view, fired, 10)!;
    expect(next).toMatchObject({ runs: 5, lastFiredAtMs: T0 + 250_001, lastTickMs: T0 + 240_000 });
    expect(next.pendingTriggers).toEqual({});
    expect(view.pendingTriggers).toHaveProperty('t1'); // not owned: the input keeps its trigger
  });

  describe("a trigger request read from the job's trigger subject", () => {
    const request = (triggerId: string) =>
      makeEvent(
        'JobTriggerRequested',
        { jobId: 'full', triggerId, dueAtMs: T0, reason: 'manual' },
        { actor, nowMs: T0 },
      );

    it('is pending from then on, and leaves the sequence the job subject is checked against', () => {
      const next = evolveJob(full(), request('t2'), 12, { triggerSubject: true })!;
      expect(next.lastSeq).toBe(9);
      expect(next.triggerSeq).toBe(12);
      expect(Object.keys(next.pendingTriggers).sort()).toEqual(['t1', 't2']);
    });

    it('is folded when it comes after a later event of the job subject (a fire applied by its writer)', () => {
      // The fire at 15 was applied on its ack; the request stored at 12 comes in after it.
      const fired = evolveJob(
        full(),
        makeEvent('JobPaused', { jobId: 'full' }, { actor, nowMs: T0 }),
        15,
      )!;
      const next = evolveJob(fired, request('t2'), 12, { triggerSubject: true })!;
      expect(next.lastSeq).toBe(15);
      expect(next.pendingTriggers).toHaveProperty('t2');
    });

    it('is folded once: one at or before the last one folded from that subject changes nothing', () => {
      const view = full();
      expect(evolveJob(view, request('t2'), 8, { triggerSubject: true })).toBe(view);
    });

    it('stored on the job subject (before trigger requests had their own) moves its sequence', () => {
      const next = evolveJob(full(), request('t2'), 12)!;
      expect(next.lastSeq).toBe(12);
      expect(next.triggerSeq).toBe(8);
      expect(next.pendingTriggers).toHaveProperty('t2');
    });
  });
});
