import type { Logger } from 'pino';
import type { Runtime } from '../runtime.js';
import { partitionOf, subjects } from '../../events/subjects.js';
import { jobsProjection } from '../../projections/projection.js';
import { createProjectionRunner, type ProjectionRunner } from '../../projections/runner.js';
import type { JobView } from '../../projections/job-view.js';
import type { ScheduleState } from '../../projections/state.js';
import type { LocalFolds, PartitionFold } from '../../projections/partition-folds.js';
import { listJobIds, loadJob } from './load.js';

/**
 * How long a command waits for a fold to reach a job's last sequence before it reads the job's
 * subject itself. A replaced consumer catches up within it; a command on a job of a stalled fold
 * (say `pause --all` over many jobs) then takes this long at most, not each job 10 s.
 */
const CAUGHT_UP_WAIT_MS = 3000;

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
 * Live folds of the job subjects, for a long-running command endpoint: a command costs no read of
 * the job's history. A first attempt decides on the fold as it is (optimistic: the append's
 * sequence check refuses it if the job moved on); a retry first waits until the fold has reached
 * the subject's last sequence.
 *
 * A partition whose fold the process keeps anyway (`local`: the server's own scheduler, for the
 * partitions it holds) is answered from that fold: each job event is then decoded and folded once
 * per process, and each job held once in memory. For the other partitions the source folds their
 * job subjects itself, from the first command that needs one; until that fold has caught up (and
 * while a partition changes hands), commands read the job's subject directly.
 */
export async function liveJobSource(
  rt: Runtime,
  log: Logger,
  local?: LocalFolds,
): Promise<JobSource & { stop(): Promise<void>; ownFolds(): number[] }> {
  /** This source's own folds, per partition; `ready` once caught up. */
  const own = new Map<number, { runner: ProjectionRunner<ScheduleState>; ready: boolean }>();
  let stopped = false;

  function ownFold(p: number): void {
    if (stopped || own.has(p)) return;
    const runner = createProjectionRunner({
      js: rt.js,
      store: rt.store,
      projection: jobsProjection,
      filterSubjects: [
        subjects.partitionJobs(rt.names, p),
        subjects.partitionTriggers(rt.names, p),
      ],
      log,
    });
    const entry = { runner, ready: false };
    own.set(p, entry);
    runner.start().then(
      () => {
        if (own.get(p) === entry) entry.ready = true;
        else void runner.stop();
      },
      (err: unknown) => {
        log.warn({ err, partition: p }, 'folding job subjects failed; reading them directly');
        if (own.get(p) === entry) own.delete(p);
        void runner.stop().catch(() => undefined);
      },
    );
  }

  /** A partition the local folds cover no longer needs this source's own fold. */
  function dropCovered(): void {
    for (const [p, entry] of own) {
      if (!local?.foldOf(p)) continue;
      own.delete(p);
      void entry.runner.stop().catch((err: unknown) => log.warn({ err }, 'stopping a fold failed'));
    }
  }
  local?.onChange(dropCovered);

  /** The ready fold that answers for a partition; starts this source's own when there is none. */
  function foldOf(p: number): PartitionFold | undefined {
    const shared = local?.foldOf(p);
    if (shared) return shared;
    const entry = own.get(p);
    if (entry?.ready) return entry.runner;
    ownFold(p);
    return undefined;
  }

  const direct = async (jobId: string): Promise<LoadedJob> => ({
    ...(await loadJob(rt.store, rt.names, rt.partitions, jobId)),
    checked: true,
  });

  return {
    async load(jobId, { optimistic = false } = {}) {
      const p = partitionOf(jobId, rt.partitions);
      const fold = foldOf(p);
      if (!fold) return direct(jobId);
      const subject = subjects.job(rt.names, p, jobId);
      if (optimistic) {
        const view = fold.state.jobs.get(jobId);
        return { view, lastSeq: view?.lastSeq ?? 0, subject, checked: false };
      }
      const last = await rt.store.lastSeq(subject);
      // Stored, so a fold that does not deliver it has a silent consumer (e.g. after a JetStream
      // leader change): have it replaced now rather than by the steady-state watchdog.
      fold.expect(last);
      try {
        await fold.waitForSeq(last, CAUGHT_UP_WAIT_MS);
      } catch {
        return direct(jobId); // the fold stopped or lags (e.g. its partition changed hands)
      }
      const view = fold.state.jobs.get(jobId);
      return { view, lastSeq: last, subject, checked: true };
    },
    // From the stream, not the folds: a fold a few events behind would leave out the jobs
    // registered just before the command (a `pause --all` right after a `job create`).
    jobIds: () => listJobIds(rt.store, rt.names),
    ownFolds: () => [...own.keys()].sort((a, b) => a - b),
    async stop() {
      stopped = true;
      const entries = [...own.values()];
      own.clear();
      await Promise.all(entries.map((e) => e.runner.stop()));
    },
  };
}
