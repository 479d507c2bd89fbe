import type { Logger } from 'pino';
import type { Runtime } from '../runtime.js';
import { partitionOf, subjects } from '../../events/subjects.js';
import { jobsProjection } from '../../projections/projection.js';
import { createProjectionRunner } from '../../projections/runner.js';
import type { JobView } from '../../projections/job-view.js';
import { loadJob } from './load.js';

/** A job's view, the sequence to append after, and whether that was checked against the stream. */
export interface LoadedJob {
  view: JobView | undefined;
  lastSeq: number;
  subject: string;
  /** False for an optimistic answer from a fold, which may be behind the stream. */
  checked: boolean;
}

/** Where the command handler gets a job's current view and the sequence to append after. */
export interface JobSource {
  /**
   * The job's view and the sequence to append after. `optimistic`: the source may answer from
   * what it has folded without first asking the stream how far the subject is; a stale answer is
   * then refused by the append's sequence check, and the caller loads again without it.
   */
  load(jobId: string, opts?: { optimistic?: boolean }): Promise<LoadedJob>;
  jobIds(): Promise<string[]>;
}

/** Reads each job's subject from the stream: right for a one-off CLI call, O(history) per command. */
export function directJobSource(rt: Runtime, listAll: () => Promise<string[]>): JobSource {
  return {
    load: async (jobId) => ({
      ...(await loadJob(rt.store, rt.names, rt.partitions, jobId)),
      checked: true,
    }),
    jobIds: listAll,
  };
}

/**
 * A live fold of every job subject, for a long-running command endpoint: a command costs no
 * read of the job's history. A first attempt decides on the fold as it is (optimistic: the
 * append's sequence check refuses it if the job moved on); a retry first waits until the fold has
 * reached the subject's last sequence.
 */
export async function liveJobSource(
  rt: Runtime,
  log: Logger,
): Promise<JobSource & { stop(): Promise<void> }> {
  const runner = createProjectionRunner({
    js: rt.js,
    store: rt.store,
    projection: jobsProjection,
    filterSubjects: [`${rt.names.prefix}.evt.*.job.*`],
    log,
  });
  await runner.start();
  return {
    async load(jobId, { optimistic = false } = {}) {
      const subject = subjects.job(rt.names, partitionOf(jobId, rt.partitions), jobId);
      if (optimistic) {
        const view = runner.state.jobs.get(jobId);
        return { view, lastSeq: view?.lastSeq ?? 0, subject, checked: false };
      }
      const last = await rt.store.lastSeq(subject);
      await runner.waitForSeq(last, 10_000);
      const view = runner.state.jobs.get(jobId);
      return { view, lastSeq: last, subject, checked: true };
    },
    jobIds: async () => [...runner.state.jobs.keys()],
    stop: () => runner.stop(),
  };
}
