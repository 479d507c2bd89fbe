import type { JetStreamClient } from '@nats-io/jetstream';
import { makeEvent, type EventContext } from '../../src/events/build.js';
import { encodeEvent } from '../../src/events/codec.js';
import { partitionOf, subjects, type Names } from '../../src/events/subjects.js';
import { jobSpecInputSchema } from '../../src/domain/job-spec.js';
import type { JetschedEvent } from '../../src/events/event.js';

export interface Dataset {
  events: number;
  jobs: number;
  instances: number;
  hotPartition: number;
  hotInstances: number;
  writeMs: number;
}

/** `count` job ids that hash into partitions for which `want(p)` holds. */
function jobIds(
  prefix: string,
  count: number,
  partitions: number,
  want: (p: number) => boolean,
): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count; i++) {
    const id = `${prefix}-${i}`;
    if (want(partitionOf(id, partitions))) out.push(id);
  }
  return out;
}

/** How big a data set is, and how much of it is in partition 0. */
export interface DatasetShape {
  events: number;
  hotInstances: number;
}

/**
 * A realistic history of about `events` valid events, in stream order, built lazily with makeEvent:
 * jobs defined, then instances each with JobFired (dispatching its first attempt, as the scheduler
 * writes it), InstanceStarted and InstanceSucceeded. `hotInstances` of the instances belong to jobs
 * of partition 0.
 */
export function datasetHistory(
  names: Names,
  partitions: number,
  opts: DatasetShape,
): {
  jobs: number;
  instances: number;
  hotInstances: number;
  events: Iterable<[string, JetschedEvent]>;
} {
  const hotJobs = jobIds('hot', 10, partitions, (p) => p === 0);
  const coldJobs = jobIds('cold', 90, partitions, (p) => p !== 0);
  const jobs = hotJobs.length + coldJobs.length;
  const instances = Math.floor((opts.events - jobs) / 3);
  const hot = Math.min(opts.hotInstances, instances);
  const actor = { kind: 'scheduler' as const, id: 'bench-writer' };
  const t0Ms = Date.now() - instances * 10;
  const ctx = (nowMs: number): EventContext => ({ actor, nowMs });

  function* history(): Generator<[string, JetschedEvent]> {
    for (const jobId of [...hotJobs, ...coldJobs]) {
      const spec = jobSpecInputSchema.parse({
        name: jobId,
        group: 'bench',
        processor: 'noop',
        schedule: { every: '10ms' },
      });
      yield [
        subjects.job(names, partitionOf(jobId, partitions), jobId),
        makeEvent('JobDefined', { jobId, spec, createdAtMs: t0Ms }, ctx(t0Ms), `def:${jobId}`),
      ];
    }
    const runs = new Map<string, number>();
    for (let k = 0; k < instances; k++) {
      const isHot = Math.floor(((k + 1) * hot) / instances) > Math.floor((k * hot) / instances);
      const pool = isHot ? hotJobs : coldJobs;
      const jobId = pool[k % pool.length] ?? '';
      const p = partitionOf(jobId, partitions);
      const fireTimeMs = t0Ms + k * 10;
      const instanceId = `${jobId}~${fireTimeMs}`;
      const runNumber = (runs.get(jobId) ?? 0) + 1;
      runs.set(jobId, runNumber);
      const inst = subjects.instance(names, p, instanceId);
      const workerId = `w-${k % 2}`;
      yield [
        subjects.job(names, p, jobId),
        makeEvent(
          'JobFired',
          {
            jobId,
            instanceId,
            fireTimeMs,
            reason: 'schedule',
            runNumber,
            dispatch: { group: 'bench', processor: 'noop', params: {}, priority: 0 },
          },
          ctx(fireTimeMs),
          `fire:${jobId}:${fireTimeMs}`,
        ),
      ];
      yield [
        inst,
        makeEvent('InstanceStarted', { instanceId, attempt: 1, workerId }, ctx(fireTimeMs + 2)),
      ];
      yield [
        inst,
        makeEvent('InstanceSucceeded', { instanceId, attempt: 1, workerId }, ctx(fireTimeMs + 3)),
      ];
    }
  }

  return { jobs, instances, hotInstances: hot, events: history() };
}

/**
 * Writes {@link datasetHistory}, each event encoded with encodeEvent (so validated), published raw
 * and pipelined (`window` in flight, no dedup ids).
 */
export async function writeDataset(
  js: JetStreamClient,
  names: Names,
  partitions: number,
  opts: DatasetShape & { window: number },
): Promise<Dataset> {
  const { jobs, instances, hotInstances: hot, events } = datasetHistory(names, partitions, opts);
  // Publish a whole window synchronously, then await it: the client flushes its buffer on a
  // microtask, so an await between publishes would cost one socket write per message.
  const t0 = performance.now();
  let pending: Promise<unknown>[] = [];
  for (const [subject, event] of events) {
    pending.push(js.publish(subject, encodeEvent(event)));
    if (pending.length >= opts.window) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  return {
    events: jobs + instances * 3,
    jobs,
    instances,
    hotPartition: 0,
    hotInstances: hot,
    writeMs: performance.now() - t0,
  };
}
