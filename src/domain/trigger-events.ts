import type { EventContext } from '../events/build.js';
import { makeEvent } from '../events/build.js';
import type { EventData, JobEvent } from '../events/event.js';
import { MAX_TRIGGERS_PER_BATCH } from '../events/job-events.js';
import { chunked } from './chunked.js';

/** One trigger as a JobTriggerRequested holds it, without the job id. */
export type TriggerData = Omit<EventData<'JobTriggerRequested'>, 'jobId'>;

/**
 * JSON characters of triggers one JobTriggerRequestedBatch takes: at most 3 bytes a character in
 * UTF-8, the batch stays well under the event size cap (256 KiB).
 */
export const TRIGGER_BATCH_BUDGET_CHARS = 64 * 1024;

/** `items` (triggers, or what carries them) in order, cut into what one batch takes each. */
export function triggerBatches<T>(items: readonly T[], data: (item: T) => TriggerData): T[][] {
  const size = (item: T) => JSON.stringify(data(item)).length + 1;
  return chunked(items, MAX_TRIGGERS_PER_BATCH, TRIGGER_BATCH_BUDGET_CHARS, size);
}

/**
 * The event that requests `triggers` (one batch's, in order) of a job: a JobTriggerRequested for
 * one, else a JobTriggerRequestedBatch. Its message id is `trigger:<job>:<trigger id>` or
 * `triggers:<job>:<first trigger id>:<count>`, followed by `:<suffix>` when given.
 */
export function triggerRequest(
  jobId: string,
  triggers: TriggerData[],
  ctx: EventContext,
  suffix?: string,
): JobEvent {
  const [first] = triggers;
  if (!first) throw new RangeError('triggerRequest: no trigger');
  const end = suffix === undefined ? '' : `:${suffix}`;
  return triggers.length === 1
    ? makeEvent(
        'JobTriggerRequested',
        { jobId, ...first },
        ctx,
        `trigger:${jobId}:${first.triggerId}${end}`,
      )
    : makeEvent(
        'JobTriggerRequestedBatch',
        { jobId, triggers },
        ctx,
        `triggers:${jobId}:${first.triggerId}:${triggers.length}${end}`,
      );
}
