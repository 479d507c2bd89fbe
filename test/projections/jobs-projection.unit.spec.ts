import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/events/build.js';
import type { JetschedEvent } from '../../src/events/event.js';
import { jobSpecInputSchema } from '../../src/domain/job-spec.js';
import { instanceIdFor } from '../../src/events/subjects.js';
import { jobsProjection, scheduleProjection } from '../../src/projections/projection.js';

const ctx = {
  actor: { kind: 'scheduler' as const, id: 's-1' },
  nowMs: Date.parse('2026-12-02T08:00:00Z'),
};
const spec = jobSpecInputSchema.parse({
  name: 'report',
  processor: 'p',
  schedule: { every: '1s' },
});

/** A job defined and fired `fires` times, as the job subject holds it (no instance events). */
function jobSubjectHistory(fires: number): JetschedEvent[] {
  const events: JetschedEvent[] = [
    makeEvent('JobDefined', { jobId: 'report', spec, createdAtMs: ctx.nowMs }, ctx),
  ];
  for (let i = 1; i <= fires; i++) {
    const fireTimeMs = ctx.nowMs + i * 1000;
    events.push(
      makeEvent(
        'JobFired',
        {
          jobId: 'report',
          instanceId: instanceIdFor('report', String(fireTimeMs)),
          fireTimeMs,
          reason: 'schedule',
          runNumber: i,
        },
        ctx,
      ),
    );
  }
  return events;
}

function fold(projection: typeof jobsProjection, events: JetschedEvent[]) {
  let state = projection.init();
  events.forEach((event, i) => {
    state = projection.evolve(state, { seq: i + 1, subject: 'x', storedAtMs: event.atMs, event });
  });
  return state;
}

describe('the fold of job subjects alone (the command endpoint)', () => {
  it('keeps the job views and nothing per fire, however many fires it folds', () => {
    const state = fold(jobsProjection, jobSubjectHistory(1000));
    expect(state.jobs.get('report')).toMatchObject({ runs: 1000, lastSeq: 1001 });
    expect(state.undispatched.size).toBe(0);
    expect(state.undispatchedByJob.size).toBe(0);
    expect(state.instances.size).toBe(0);
  });

  it('folds the job views the scheduler folds', () => {
    const history = jobSubjectHistory(3);
    expect(fold(jobsProjection, history).jobs).toEqual(fold(scheduleProjection, history).jobs);
    // The full fold waits for instance events to settle each fire; a job-subject fold never gets them.
    expect(fold(scheduleProjection, history).undispatched.size).toBe(3);
  });
});
