import type { Logger } from 'pino';
import type { Runtime } from '../runtime.js';
import { partitionOf, subjects } from '../../events/subjects.js';
import { scheduleProjection } from '../../projections/projection.js';
import { createProjectionRunner } from '../../projections/runner.js';
import type { JobView } from '../../projections/job-view.js';
import { loadJob } from './load.js';

/** Where the command handler gets a job's current view and the sequence to append after. */
export interface JobSource {
  load(jobId: string): Promise<{ view: JobView | undefined; lastSeq: number; subject: string }>;
  jobIds(): Promise<string[]>;
}

/** Reads each job's subject from the stream: right for a one-off CLI call, O(history) per command. */
export function directJobSource(rt: Runtime, listAll: () => Promise<string[]>): JobSource {
  return { load: (jobId) => loadJob(rt.store, rt.names, rt.partitions, jobId), jobIds: listAll };
}

/**
 * A live fold of every job subject, for a long-running command endpoint: a command costs no
 * read of the job's history. Before deciding, it waits until the fold has reached the subject's
 * last sequence, so a command never decides on a stale view (and a race is still caught by the
 * append's sequence check).
 */
export async function liveJobSource(
  rt: Runtime,
  log: Logger,
): Promise<JobSource & { stop(): Promise<void> }> {
  const runner = createProjectionRunner({
    js: rt.js,
    store: rt.store,
    projection: scheduleProjection,
    filterSubjects: [`${rt.names.prefix}.evt.*.job.*`],
    log,
  });
  await runner.start();
  return {
    async load(jobId) {
      const subject = subjects.job(rt.names, partitionOf(jobId, rt.partitions), jobId);
      const last = await rt.store.lastSeq(subject);
      await runner.waitForSeq(last, 10_000);
      const view = runner.state.jobs.get(jobId);
      return { view, lastSeq: last, subject };
    },
    jobIds: async () => [...runner.state.jobs.keys()],
    stop: () => runner.stop(),
  };
}
