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

export const subjects = {
  eventsAll: (n: Names) => `${n.prefix}.evt.>`,
  partition: (n: Names, partition: number) => `${n.prefix}.evt.${partition}.>`,
  job: (n: Names, partition: number, jobId: string) => `${n.prefix}.evt.${partition}.job.${jobId}`,
  /** Every job subject of every partition. */
  allJobs: (n: Names) => `${n.prefix}.evt.*.job.*`,
  /** Every job subject of one partition. */
  partitionJobs: (n: Names, partition: number) => `${n.prefix}.evt.${partition}.job.*`,
  instance: (n: Names, partition: number, instanceId: string) =>
    `${n.prefix}.evt.${partition}.inst.${instanceId}`,
  /** Any partition's subject for one aggregate (for reading by id). */
  anyJob: (n: Names, jobId: string) => `${n.prefix}.evt.*.job.${jobId}`,
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
): { partition: number; kind: AggregateKind; id: string } | undefined {
  const head = `${n.prefix}.evt.`;
  if (!subject.startsWith(head)) return undefined;
  // `<partition>.<kind>.<id>`, read without splitting (every folded event's subject passes here).
  const a = subject.indexOf('.', head.length);
  const b = a < 0 ? -1 : subject.indexOf('.', a + 1);
  if (b < 0 || subject.indexOf('.', b + 1) >= 0) return undefined;
  const p = subject.slice(head.length, a);
  const kind = subject.slice(a + 1, b);
  const id = subject.slice(b + 1);
  if (!p || !id || (kind !== 'job' && kind !== 'inst')) return undefined;
  const partition = Number(p);
  return Number.isInteger(partition) ? { partition, kind, id } : undefined;
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
