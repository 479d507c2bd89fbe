import type { EventStore } from '../../events/event-store.js';
import type { InstanceEvent, JobEvent } from '../../events/event.js';
import { firesOf } from '../../events/batches.js';
import {
  subjects,
  partitionOf,
  jobIdOfInstance,
  parseEventSubject,
  type Names,
} from '../../events/subjects.js';
import { evolveJob, type JobView } from '../../projections/job-view.js';
import {
  evolveInstance,
  instanceFromFire,
  type InstanceView,
} from '../../projections/instance-view.js';

/**
 * Folds one job's subject and its trigger subject straight from the stream (the authoritative view
 * for a command). `lastSeq` is the job subject's: what an append there is checked against.
 */
export async function loadJob(
  store: EventStore,
  names: Names,
  partitions: number,
  jobId: string,
): Promise<{ view: JobView | undefined; lastSeq: number; subject: string }> {
  const partition = partitionOf(jobId, partitions);
  const subject = subjects.job(names, partition, jobId);
  const triggers = subjects.triggers(names, partition, jobId);
  let view: JobView | undefined;
  let lastSeq = 0;
  await store.scan({ filterSubjects: [subject, triggers] }, (raw) => {
    const own = raw.subject === subject;
    if (own) lastSeq = raw.seq; // an event it cannot decode moved the subject all the same
    if (raw.decoded.ok)
      view = evolveJob(view, raw.decoded.event as JobEvent, raw.seq, { triggerSubject: !own });
  });
  return { view, lastSeq, subject };
}

/**
 * Folds one instance's subject straight from the stream. An instance whose first attempt was
 * dispatched with its fire begins with its `JobFired` (or its fire in a `JobFiredBatch`) on the
 * job's subject (read as a command reads a job), and its own subject holds nothing (`lastSeq` 0)
 * until a worker starts it.
 */
export async function loadInstance(
  store: EventStore,
  names: Names,
  partitions: number,
  instanceId: string,
): Promise<{ view: InstanceView | undefined; lastSeq: number; subject: string } | undefined> {
  const jobId = jobIdOfInstance(instanceId);
  if (!jobId) return undefined;
  const partition = partitionOf(jobId, partitions);
  const subject = subjects.instance(names, partition, instanceId);
  const { events, lastSeq } = await store.readHistory(subject);
  let view: InstanceView | undefined;
  if (events[0]?.event.type !== 'InstanceDispatched') {
    const job = await store.readHistory(subjects.job(names, partition, jobId));
    for (const e of job.events) {
      const fired = firesOf(e.event).find((f) => f.data.instanceId === instanceId);
      if (fired) {
        view = instanceFromFire(fired);
        break;
      }
    }
  }
  for (const e of events) view = evolveInstance(view, e.event as InstanceEvent, e.seq);
  return { view, lastSeq, subject };
}

/**
 * Ids of every job ever defined: the job subjects the stream holds (a job's events are appended
 * only once it is defined), listed from the stream's state without reading a single event.
 */
export async function listJobIds(store: EventStore, names: Names): Promise<string[]> {
  const ids: string[] = [];
  for (const subject of await store.subjects(subjects.allJobs(names))) {
    const parsed = parseEventSubject(names, subject);
    if (parsed?.kind === 'job') ids.push(parsed.id);
  }
  return ids;
}
