import { causedBy, type EventContext } from '../events/build.js';
import { NotFoundError, ValidationError } from '../events/errors.js';
import type { JobEvent } from '../events/event.js';
import type { JobView } from '../projections/job-view.js';
import type { CommandOf } from './commands.js';
import { decideJob, idToken, live, manualTrigger, type Decision } from './job-decider.js';
import { triggerBatches, triggerRequest, type TriggerData } from './trigger-events.js';

type Trigger = CommandOf<'TriggerJobs'>['data']['triggers'][number];

/**
 * TriggerJobs: every trigger checked first, all or none (a trigger of a job that does not exist
 * refuses the whole command, naming it), then recorded.
 *
 * - A trigger with an id of its own is decided as a TriggerJob: its own JobTriggerRequested,
 *   stored once per id by its message id, or nothing when the job already holds it pending.
 * - The triggers that take their ids from the command (its id and their index) are recorded per
 *   job, in order, as JobTriggerRequestedBatch events of up to 1,000 triggers and 64 K
 *   characters of JSON (see {@link triggerBatches}; one trigger alone: a JobTriggerRequested).
 *   Their ids belong to this command alone, so which batch holds which trigger depends on the
 *   command only, and each batch's message id is its first trigger id and its size: the command
 *   sent again is stored once, however its first sending ended. A batch whose triggers the job
 *   already holds pending, all of them, is not recorded again.
 */
export function decideTriggers(
  command: CommandOf<'TriggerJobs'>,
  jobs: ReadonlyMap<string, JobView | undefined>,
  ctx: EventContext,
): Decision<JobEvent> {
  const base = idToken(command.id, 50);
  const ev = causedBy(command, ctx);
  const events: JobEvent[] = [];
  const replies: Record<string, unknown>[] = [];
  /** The triggers with the command's ids, per job: their data and where their reply goes. */
  const byJob = new Map<string, { data: TriggerData; reply: number }[]>();
  command.data.triggers.forEach((t: Trigger, i) => {
    try {
      if (t.triggerId !== undefined) {
        const decided = decideJob(
          { ...command, type: 'TriggerJob', data: t },
          jobs.get(t.jobId),
          ctx,
        );
        events.push(...decided.events);
        replies.push(decided.reply);
        return;
      }
      live(jobs.get(t.jobId), t.jobId);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      throw new ValidationError('command TriggerJobs', [
        { path: `data.triggers.${i}.jobId`, message: err.message },
      ]);
    }
    const { jobId, ...data } = manualTrigger(t, `${base}-${i}`, ctx.nowMs);
    let list = byJob.get(jobId);
    if (!list) byJob.set(jobId, (list = []));
    list.push({ data, reply: replies.length });
    replies.push({
      jobId,
      triggerId: data.triggerId,
      instanceId: `${jobId}~t-${data.triggerId}`,
      dueAtMs: data.dueAtMs,
    });
  });
  for (const [jobId, list] of byJob) {
    const pending = jobs.get(jobId)?.pendingTriggers ?? {};
    for (const batch of triggerBatches(list, (t) => t.data)) {
      const triggers = batch.map((t) => t.data);
      const first = triggers[0];
      if (!first) continue;
      if (triggers.every((t) => pending[t.triggerId])) {
        for (const t of batch)
          replies[t.reply] = { jobId, triggerId: t.data.triggerId, duplicate: true };
        continue;
      }
      events.push(triggerRequest(jobId, triggers, ev));
    }
  }
  // Triggers commute with whatever races them (see TriggerJob).
  return { events, reply: { triggered: replies.length, triggers: replies }, orderFree: true };
}
