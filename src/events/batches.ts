import type { EventOf, JetschedEvent } from './event.js';

/** The envelope fields an element of a batch shares with the batch. */
function asOne<E extends JetschedEvent>(batch: JetschedEvent, type: E['type'], data: E['data']): E {
  const one = { type, v: 1, id: batch.id, atMs: batch.atMs, actor: batch.actor, data } as E;
  if (batch.causationId !== undefined) one.causationId = batch.causationId;
  if (batch.correlationId !== undefined) one.correlationId = batch.correlationId;
  return one;
}

/**
 * The fires an event records, each as the JobFired that stands for it: the event itself for a
 * JobFired, one per element for a JobFiredBatch (sharing the batch's envelope), none otherwise.
 * Readers that look at fires one by one (folds, audit, loading an instance) read them through this.
 */
export function firesOf(event: JetschedEvent): EventOf<'JobFired'>[] {
  if (event.type === 'JobFired') return [event];
  if (event.type !== 'JobFiredBatch') return [];
  const { fires, jobId } = event.data;
  return fires.map((fire) => asOne<EventOf<'JobFired'>>(event, 'JobFired', { jobId, ...fire }));
}

/**
 * The triggers an event requests, each as the JobTriggerRequested that stands for it (see
 * {@link firesOf}): the event itself, one per element of a JobTriggerRequestedBatch, or none.
 */
export function triggersOf(event: JetschedEvent): EventOf<'JobTriggerRequested'>[] {
  if (event.type === 'JobTriggerRequested') return [event];
  if (event.type !== 'JobTriggerRequestedBatch') return [];
  const { triggers, jobId } = event.data;
  return triggers.map((t) =>
    asOne<EventOf<'JobTriggerRequested'>>(event, 'JobTriggerRequested', { jobId, ...t }),
  );
}

/** Each batch type, with the type each of its elements reads as. */
export const BATCHES: readonly (readonly [JetschedEvent['type'], JetschedEvent['type']])[] = [
  ['JobFiredBatch', 'JobFired'],
  ['JobTriggerRequestedBatch', 'JobTriggerRequested'],
];

export function isBatch(type: JetschedEvent['type']): boolean {
  return BATCHES.some(([batch]) => batch === type);
}

/**
 * The events a stored event stands for, one fire or trigger each: a batch's elements (see
 * {@link firesOf}, {@link triggersOf}), any other event itself. For readers that count or match
 * fires and triggers one by one.
 */
export function unbatched(event: JetschedEvent): JetschedEvent[] {
  if (event.type === 'JobFiredBatch') return firesOf(event);
  if (event.type === 'JobTriggerRequestedBatch') return triggersOf(event);
  return [event];
}
