import type { EventStore, RawStoredEvent } from '../../events/event-store.js';
import { firesOf } from '../../events/batches.js';
import { jobIdOfInstance, parseEventSubject, subjects, type Names } from '../../events/subjects.js';
import type { AuditSelector } from './options.js';

/** The subjects to read for a selector, and which of the messages read belong to it. */
export interface Selection {
  filterSubjects: string[];
  keep(raw: RawStoredEvent): boolean;
}

/**
 * - all: every event subject.
 * - job: the job's own subject plus its instances' subjects. NATS wildcards match whole tokens,
 *   so `inst.<jobId>~*` is not a filter; we read `<prefix>.evt.<p>.inst.*` of the job's partition
 *   (found from where its own events are stored; every partition if it has none) and keep the
 *   instances whose id is `<jobId>~…`. One ordered pass, so the timeline interleaves correctly.
 * - instance: the instance's subject, plus the fire that created it (a JobFired, or a JobFiredBatch
 *   holding it, from its job's subject).
 */
export async function resolveSelection(
  store: EventStore,
  selector: AuditSelector,
): Promise<Selection> {
  const n = store.names;
  switch (selector.kind) {
    case 'all':
      return { filterSubjects: [subjects.eventsAll(n)], keep: () => true };
    case 'job': {
      const { jobId } = selector;
      const partition = await storedPartitionOfJob(store, jobId);
      const instances =
        partition === undefined
          ? subjects.anyInstance(n, '*')
          : subjects.instance(n, partition, '*');
      return {
        filterSubjects: [subjects.anyJob(n, jobId), subjects.anyTriggers(n, jobId), instances],
        keep: (raw) => {
          const at = parseEventSubject(n, raw.subject);
          return (
            at !== undefined &&
            (at.kind === 'inst' ? jobIdOfInstance(at.id) === jobId : at.id === jobId)
          );
        },
      };
    }
    case 'instance': {
      const { instanceId } = selector;
      const jobId = jobIdOfInstance(instanceId);
      const own = subjects.anyInstance(n, instanceId);
      return {
        filterSubjects: jobId === undefined ? [own] : [own, subjects.anyJob(n, jobId)],
        keep: (raw) =>
          isInstanceSubject(n, raw.subject) ||
          (raw.decoded.ok &&
            firesOf(raw.decoded.event).some((f) => f.data.instanceId === instanceId)),
      };
    }
    default: {
      const never: never = selector;
      throw new Error(`unknown selector ${JSON.stringify(never)}`);
    }
  }
}

function isInstanceSubject(n: Names, subject: string): boolean {
  return parseEventSubject(n, subject)?.kind === 'inst';
}

/** The partition a job's events are stored in, from the subject of its last event; undefined if it has none. */
async function storedPartitionOfJob(store: EventStore, jobId: string): Promise<number | undefined> {
  const subject = subjects.anyJob(store.names, jobId);
  const seq = await store.lastSeq(subject);
  if (seq === 0) return undefined;
  for await (const raw of store.replay({ filterSubjects: [subject], fromSeq: seq, toSeq: seq })) {
    return parseEventSubject(store.names, raw.subject)?.partition;
  }
  return undefined;
}
