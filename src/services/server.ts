import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Runtime } from './runtime.js';
import { createCommandHandler } from './commands/handler.js';
import { liveJobSource } from './commands/job-index.js';
import { createLeaseOwnership } from './scheduler/lease-ownership.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from './scheduler/scheduler.js';

export interface ServerOptions extends Omit<SchedulerOptions, 'runtime'> {
  runtime: Runtime;
  /** Heartbeat and lease renewal interval, ms. Default 1000. */
  heartbeatMs?: number;
  /**
   * How long a lease lives without renewal, ms. Default, and at most: the lease bucket's TTL as the
   * server keeps it (a lease is never trusted longer than the bucket keeps it).
   */
  leaseTtlMs?: number;
  log?: Logger;
}

/**
 * `jetsched server`: a scheduler replica plus a command endpoint, over one connection. Replicas
 * share the partitions through leases; run as many as you like.
 */
export async function startServer(
  opts: ServerOptions,
): Promise<{ scheduler: Scheduler; stop(): Promise<void> }> {
  const rt = opts.runtime;
  const schedulerId = opts.schedulerId ?? `s-${randomUUID().slice(0, 8)}`;
  const log = (opts.log ?? rt.log).child({ schedulerId });
  const late: { scheduler?: Scheduler } = {};
  const ownership =
    opts.ownership ??
    createLeaseOwnership({
      schedulerId,
      partitions: rt.partitions,
      heartbeats: rt.buckets.heartbeats,
      leases: rt.buckets.leases,
      log,
      ...(opts.heartbeatMs !== undefined && { heartbeatMs: opts.heartbeatMs }),
      ...leaseTtl(opts.leaseTtlMs, rt.buckets.ttls.leaseMs),
      // What `jetsched status` shows: how far each owned partition has folded.
      describe: () => ({
        folded: late.scheduler?.partitions().map((p) => [p.partition, p.seq]) ?? [],
      }),
    });
  const scheduler = (late.scheduler = createScheduler({
    ...opts,
    schedulerId,
    ownership,
    log: opts.log ?? rt.log,
  }));
  // Commands read the scheduler's folds of the partitions it holds (each job event is then folded
  // once in this process) and fold the job subjects of the others themselves.
  const jobs = await liveJobSource(rt, log, scheduler.folds);
  const commands = createCommandHandler(rt, {
    log,
    jobs,
    ...(opts.clock && { clock: opts.clock }),
  }).serve();
  await scheduler.start();
  log.info({ partitions: rt.partitions, prefix: rt.names.prefix }, 'jetsched server running');
  return {
    scheduler,
    async stop() {
      await commands.stop();
      await jobs.stop();
      await scheduler.stop();
    },
  };
}

/** The lease TTL the ownership trusts: the option, cut to the bucket's TTL; the bucket's by default. */
function leaseTtl(option: number | undefined, bucketMs: number): { leaseTtlMs?: number } {
  if (bucketMs <= 0) return option === undefined ? {} : { leaseTtlMs: option };
  return { leaseTtlMs: Math.min(option ?? bucketMs, bucketMs) };
}
