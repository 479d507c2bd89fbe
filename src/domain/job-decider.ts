import type { EventContext } from '../events/build.js';
import { causedBy, makeEvent } from '../events/build.js';
import { NotFoundError, RejectedError, ValidationError } from '../events/errors.js';
import type { EventData, JobEvent } from '../events/event.js';
import type { InstanceView } from '../projections/instance-view.js';
import { isTerminal } from '../projections/instance-view.js';
import type { JobView } from '../projections/job-view.js';
import { tickSequence } from '../schedule/tick-sequence.js';
import type { CommandOf } from './commands.js';
import { MAX_BACKFILL_TICKS } from './commands.js';
import { triggerBatches, triggerRequest, type TriggerData } from './trigger-events.js';

/** A command id made a token (trigger ids default to it): letters, digits, '-', '_', at most `max`. */
export function idToken(commandId: string, max: number): string {
  return commandId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, max);
}

export type JobCommand = CommandOf<
  | 'RegisterJob'
  | 'PauseJob'
  | 'ResumeJob'
  | 'DeleteJob'
  | 'TriggerJob'
  | 'BackfillJob'
  | 'RetryInstance'
>;

export interface Decision<E> {
  events: E[];
  /** What the command answers with (besides the events' sequences). */
  reply: Record<string, unknown>;
  /**
   * The events may follow whatever the subject holds by the time they are appended: every order
   * against a concurrent append is a valid history, so no sequence check (and no retry after a
   * conflict) is needed. Default false: the append expects the sequence the decision was made on.
   */
  orderFree?: boolean;
}

/** What a TriggerJob (or one trigger of a TriggerJobs) requests, under `triggerId`. */
export function manualTrigger(
  d: CommandOf<'TriggerJob'>['data'],
  triggerId: string,
  nowMs: number,
): EventData<'JobTriggerRequested'> {
  const data: EventData<'JobTriggerRequested'> = {
    jobId: d.jobId,
    triggerId,
    dueAtMs: d.at ?? nowMs + (d.delay ?? 0),
    reason: 'manual',
  };
  if (d.params !== undefined) data.params = d.params;
  return data;
}

export function live(state: JobView | undefined, jobId: string): JobView {
  if (!state || state.status === 'deleted') throw new NotFoundError('job', jobId);
  return state;
}

/**
 * Pure decision for a command on one job: the events to append (possibly none) or a typed error.
 * `instance` is needed by RetryInstance only.
 */
export function decideJob(
  command: JobCommand,
  state: JobView | undefined,
  ctx: EventContext,
  instance?: InstanceView,
): Decision<JobEvent> {
  const ev = causedBy(command, ctx);
  switch (command.type) {
    case 'RegisterJob': {
      const spec = command.data.spec;
      if (!state || state.status === 'deleted') {
        return {
          events: [makeEvent('JobDefined', { jobId: spec.name, spec, createdAtMs: ctx.nowMs }, ev)],
          reply: { jobId: spec.name, created: true },
        };
      }
      if (JSON.stringify(state.spec) === JSON.stringify(spec)) {
        return { events: [], reply: { jobId: spec.name, created: false, changed: false } };
      }
      return {
        events: [makeEvent('JobUpdated', { jobId: spec.name, spec }, ev)],
        reply: { jobId: spec.name, created: false, changed: true },
      };
    }
    case 'PauseJob': {
      const jobId = command.data.jobId as string;
      const job = live(state, jobId);
      if (job.status === 'paused') return { events: [], reply: { jobId, changed: false } };
      const data = command.data.note ? { jobId, note: command.data.note } : { jobId };
      return { events: [makeEvent('JobPaused', data, ev)], reply: { jobId, changed: true } };
    }
    case 'ResumeJob': {
      const jobId = command.data.jobId as string;
      const job = live(state, jobId);
      if (job.status === 'active') return { events: [], reply: { jobId, changed: false } };
      return { events: [makeEvent('JobResumed', { jobId }, ev)], reply: { jobId, changed: true } };
    }
    case 'DeleteJob': {
      const { jobId } = command.data;
      live(state, jobId);
      return { events: [makeEvent('JobDeleted', { jobId }, ev)], reply: { jobId, deleted: true } };
    }
    case 'TriggerJob': {
      const d = command.data;
      live(state, d.jobId);
      const triggerId = d.triggerId ?? idToken(command.id, 60);
      if (state?.pendingTriggers[triggerId]) {
        return { events: [], reply: { jobId: d.jobId, triggerId, duplicate: true } };
      }
      const data = manualTrigger(d, triggerId, ctx.nowMs);
      const dueAtMs = data.dueAtMs;
      return {
        events: [makeEvent('JobTriggerRequested', data, ev, `trigger:${d.jobId}:${triggerId}`)],
        reply: { jobId: d.jobId, triggerId, instanceId: `${d.jobId}~t-${triggerId}`, dueAtMs },
        // A trigger commutes with what may race it: the scheduler's fires, other triggers (a
        // repeated trigger id is stored once, by its message id), updates and pauses; after a
        // deletion it is simply never fired, as if it had come just before the deletion.
        orderFree: true,
      };
    }
    case 'BackfillJob': {
      const { jobId, from, to } = command.data;
      if (to > ctx.nowMs) {
        // Ticks still to come are the schedule's to fire (ahead of time, started at their time).
        throw new ValidationError('command BackfillJob', [
          { path: 'to', message: 'must not be in the future; backfill replays past ticks' },
        ]);
      }
      const job = live(state, jobId);
      const s = job.spec.schedule;
      if (s.kind === 'manual' || s.kind === 'fixedDelay') {
        throw new RejectedError(
          `job ${jobId} has a ${s.kind} schedule: there are no ticks to backfill`,
        );
      }
      const ticks: number[] = [];
      // Fixed-rate ticks lie on the job's grid (anchor + k·period) in both directions.
      const seq =
        s.kind === 'every'
          ? tickSequence(s, {
              createdAtMs:
                job.anchorMs - Math.ceil((job.anchorMs - from + 1) / s.everyMs) * s.everyMs,
            })
          : tickSequence(s, { createdAtMs: job.anchorMs });
      for (let t = seq.after(from - 1); t !== undefined && t <= to; t = seq.after(t)) {
        ticks.push(t);
        if (ticks.length > MAX_BACKFILL_TICKS) {
          throw new RejectedError(
            `backfill of ${jobId}: the range has more than ${MAX_BACKFILL_TICKS} ticks; narrow "to"`,
          );
        }
      }
      // Recorded as batches of a thousand ticks or so, each appended after the one before.
      const requested: TriggerData[] = ticks.map((t) => ({
        triggerId: `bf-${t}`,
        dueAtMs: ctx.nowMs,
        reason: 'backfill',
        fireTimeMs: t,
      }));
      const events = triggerBatches(requested, (t) => t).map((batch) =>
        triggerRequest(jobId, batch, ev, command.id),
      );
      return { events, reply: { jobId, ticks: ticks.length, first: ticks[0], last: ticks.at(-1) } };
    }
    case 'RetryInstance': {
      const { instanceId } = command.data;
      if (!instance) throw new NotFoundError('instance', instanceId);
      const job = live(state, instance.jobId);
      if (!isTerminal(instance.status)) {
        throw new RejectedError(
          `instance ${instanceId} is ${instance.status}; only a finished instance can be retried`,
        );
      }
      const triggerId = `rr-${idToken(command.id, 50)}`;
      const params = command.data.params !== undefined ? command.data.params : instance.params;
      const data = {
        jobId: job.jobId,
        triggerId,
        dueAtMs: ctx.nowMs,
        reason: 'rerun' as const,
        rerunOf: instanceId,
        ...(params !== undefined && { params }),
      };
      return {
        events: [makeEvent('JobTriggerRequested', data, ev, `trigger:${job.jobId}:${triggerId}`)],
        reply: { jobId: job.jobId, rerunOf: instanceId, instanceId: `${job.jobId}~t-${triggerId}` },
      };
    }
    default: {
      const never: never = command;
      return never;
    }
  }
}
