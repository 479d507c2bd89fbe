/** Subject, stream and bucket names of one jetsched installation, derived from its prefix. */
export interface Names {
  prefix: string;
  /** The stream of every event: `<prefix>.evt.<partition>.<job|inst>.<id>`. */
  eventStream: string;
  /** The work-queue stream of task messages for workers: `<prefix>.task.<group>`. */
  taskStream: string;
  /** Per-instance log lines: `<prefix>.log.<partition>.<instanceId>`. */
  logStream: string;
  heartbeatBucket: string;
  leaseBucket: string;
  snapshotBucket: string;
}

export const AggregateKind = { Job: 'job', Instance: 'inst' } as const;
export type AggregateKind = (typeof AggregateKind)[keyof typeof AggregateKind];

/**
 * What an event subject holds: a job's events, a job's trigger requests, or an instance's events.
 * Trigger requests have a subject of their own (`trig`) so that they do not move the sequence the
 * job's own appends (fires, updates, pauses) are checked against: any command endpoint may append
 * them at any moment, and on the job's subject each one refused the fire batch it raced.
 */
export type EventSubjectKind = AggregateKind | 'trig';

export function names(prefix = 'jetsched'): Names {
  if (!/^[A-Za-z0-9_-]+$/.test(prefix)) throw new Error(`invalid prefix ${JSON.stringify(prefix)}`);
  const up = prefix.toUpperCase().replace(/-/g, '_');
  return {
    prefix,
    eventStream: `${up}_EVENTS`,
    taskStream: `${up}_TASKS`,
    logStream: `${up}_LOGS`,
    heartbeatBucket: `${prefix}-heartbeats`,
    leaseBucket: `${prefix}-leases`,
    snapshotBucket: `${prefix}-snapshots`,
  };
}

/**
 * Every JetStream stream an installation consists of: its three streams and the streams that hold
 * its KV buckets (`KV_<bucket>`), e.g. to find which server leads them or to drop them all.
 */
export function installationStreams(n: Names): string[] {
  return [
    n.eventStream,
    n.taskStream,
    n.logStream,
    ...[n.heartbeatBucket, n.leaseBucket, n.snapshotBucket].map((bucket) => `KV_${bucket}`),
  ];
}

export const subjects = {
  eventsAll: (n: Names) => `${n.prefix}.evt.>`,
  partition: (n: Names, partition: number) => `${n.prefix}.evt.${partition}.>`,
  job: (n: Names, partition: number, jobId: string) => `${n.prefix}.evt.${partition}.job.${jobId}`,
  /** Every job subject of every partition. */
  allJobs: (n: Names) => `${n.prefix}.evt.*.job.*`,
  /** Every job subject of one partition. */
  partitionJobs: (n: Names, partition: number) => `${n.prefix}.evt.${partition}.job.*`,
  /** A job's trigger requests (see {@link EventSubjectKind}). */
  triggers: (n: Names, partition: number, jobId: string) =>
    `${n.prefix}.evt.${partition}.trig.${jobId}`,
  /** Every trigger subject of one partition. */
  partitionTriggers: (n: Names, partition: number) => `${n.prefix}.evt.${partition}.trig.*`,
  instance: (n: Names, partition: number, instanceId: string) =>
    `${n.prefix}.evt.${partition}.inst.${instanceId}`,
  /** Any partition's subject for one aggregate (for reading by id). */
  anyJob: (n: Names, jobId: string) => `${n.prefix}.evt.*.job.${jobId}`,
  anyTriggers: (n: Names, jobId: string) => `${n.prefix}.evt.*.trig.${jobId}`,
  anyInstance: (n: Names, instanceId: string) => `${n.prefix}.evt.*.inst.${instanceId}`,
  tasksAll: (n: Names) => `${n.prefix}.task.>`,
  task: (n: Names, group: string) => `${n.prefix}.task.${group}`,
  logsAll: (n: Names) => `${n.prefix}.log.>`,
  log: (n: Names, partition: number, instanceId: string) =>
    `${n.prefix}.log.${partition}.${instanceId}`,
  anyLog: (n: Names, instanceId: string) => `${n.prefix}.log.*.${instanceId}`,
  command: (n: Names, type: string) => `${n.prefix}.cmd.${type}`,
  commandsAll: (n: Names) => `${n.prefix}.cmd.>`,
  /** Cancellation signals to whichever worker runs the instance. */
  control: (n: Names, instanceId: string) => `${n.prefix}.ctl.${instanceId}`,
} as const;

/** Parses an event subject back into its parts; undefined when it is not one. */
export function parseEventSubject(
  n: Names,
  subject: string,
): { partition: number; kind: EventSubjectKind; id: string } | undefined {
  const head = `${n.prefix}.evt.`;
  if (!subject.startsWith(head)) return undefined;
  // `<partition>.<kind>.<id>`, read without splitting (every folded event's subject passes here).
  const a = subject.indexOf('.', head.length);
  const b = a < 0 ? -1 : subject.indexOf('.', a + 1);
  if (b < 0 || subject.indexOf('.', b + 1) >= 0) return undefined;
  const p = subject.slice(head.length, a);
  const kind = subject.slice(a + 1, b);
  const id = subject.slice(b + 1);
  if (!p || !id || (kind !== 'job' && kind !== 'inst' && kind !== 'trig')) return undefined;
  const partition = Number(p);
  return Number.isInteger(partition) ? { partition, kind, id } : undefined;
}

/**
 * Whether a subject is the trigger subject of `jobId` (from its end alone: a job id holds no dot,
 * and no other subject ends in `.trig.<jobId>`). For folds, which see every job event's subject.
 */
export function isTriggerSubjectOf(subject: string, jobId: string): boolean {
  const tail = subject.length - jobId.length;
  return subject.endsWith(jobId) && subject.startsWith('.trig.', tail - 6);
}

/** FNV-1a 32-bit hash: stable across processes and languages. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export const DEFAULT_PARTITIONS = 16;

/** The partition a job (and every instance of it) lives in. */
export function partitionOf(jobId: string, partitions: number): number {
  return fnv1a(jobId) % partitions;
}

/** Instance ids embed their job id, so any holder of an instance id can find its partition. */
export const INSTANCE_SEP = '~';
export function instanceIdFor(jobId: string, suffix: string): string {
  return `${jobId}${INSTANCE_SEP}${suffix}`;
}
export function jobIdOfInstance(instanceId: string): string | undefined {
  const i = instanceId.indexOf(INSTANCE_SEP);
  return i > 0 ? instanceId.slice(0, i) : undefined;
}
