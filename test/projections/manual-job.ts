/** Fixtures of the batch specs: a manual job "mail" and folds of event lists into its views. */
import type { EventContext } from '../../src/events/build.js';
import { makeEvent } from '../../src/events/build.js';
import type { JetschedEvent, StoredEvent } from '../../src/events/event.js';
import { jobSpecInputSchema } from '../../src/domain/job-spec.js';
import { evolveJob, type JobView } from '../../src/projections/job-view.js';
import { emptyState, evolve, type ScheduleState } from '../../src/projections/state.js';

/** The JobDefined of the manual job "mail", created `createdAtMs`. */
export function mailDefined(createdAtMs: number, ctx: EventContext) {
  return makeEvent(
    'JobDefined',
    {
      jobId: 'mail',
      spec: jobSpecInputSchema.parse({ name: 'mail', processor: 'p', schedule: { manual: true } }),
      createdAtMs,
    },
    ctx,
  );
}

/** The events as stored one after another from sequence 1. */
export function stored(events: JetschedEvent[]): StoredEvent[] {
  return events.map((event, i) => ({ seq: i + 1, subject: 'x', storedAtMs: event.atMs, event }));
}

/** The schedule's fold of the events. */
export function foldState(events: JetschedEvent[]): ScheduleState {
  let s = emptyState();
  for (const e of stored(events)) s = evolve(s, e);
  return s;
}

/** The job view folded from the events. */
export function foldJob(events: JetschedEvent[]): JobView | undefined {
  let v: JobView | undefined;
  for (const e of stored(events)) v = evolveJob(v, e.event as never, e.seq);
  return v;
}
