import type { EventOf, JetschedEvent } from './event.js';

/**
 * The fires an event records, each as the JobFired that stands for it: the event itself for a
 * JobFired, one per element for a JobFiredBatch (sharing the batch's envelope), none otherwise.
 * Readers that look at fires one by one (folds, audit, loading an instance) read them through this.
 */
export function firesOf(event: JetschedEvent): EventOf<'JobFired'>[] {
  if (event.type === 'JobFired') return [event];
  if (event.type !== 'JobFiredBatch') return [];
  const { fires, jobId } = event.data;
  const out: EventOf<'JobFired'>[] = [];
  for (const fire of fires) {
    const fired: EventOf<'JobFired'> = {
      type: 'JobFired',
      v: 1,
      id: event.id,
      atMs: event.atMs,
      actor: event.actor,
      data: { jobId, ...fire },
    };
    if (event.causationId !== undefined) fired.causationId = event.causationId;
    if (event.correlationId !== undefined) fired.correlationId = event.correlationId;
    out.push(fired);
  }
  return out;
}

/**
 * The events a stored event stands for, one fire each: a JobFiredBatch's fires as JobFired (see
 * {@link firesOf}), any other event itself. For readers that count or match fires one by one.
 */
export function unbatched(event: JetschedEvent): JetschedEvent[] {
  return event.type === 'JobFiredBatch' ? firesOf(event) : [event];
}
