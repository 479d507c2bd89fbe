import { setTimeout as sleep } from 'node:timers/promises';
import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import type { Names } from './subjects.js';
import { asking, RequestTimeoutError } from './request-timeout.js';
import { StoreConfigError } from './errors.js';
import { subjects } from './subjects.js';

const NS_PER_MS = 1_000_000;

export interface StoreOptions {
  /** 1 on a single server, 3 in a cluster. Default 1. */
  replicas?: number;
  /** How long JetStream remembers message ids for dedup. Default 2 minutes. */
  duplicateWindowMs?: number;
  /** Max age of per-instance log lines. Default 7 days. */
  logMaxAgeMs?: number;
  /** Heartbeat TTL (a member is gone after this long without a beat). Default 3 s. */
  heartbeatTtlMs?: number;
  /** Lease TTL of partition ownership. Default 3 s. */
  leaseTtlMs?: number;
  /**
   * Told of each stream or bucket made elsewhere that jetsched cannot work with, instead of
   * refusing to open the installation: for read-only tools, with which an operator must be able to
   * inspect and audit an installation whatever its configuration. Default: refuse (throw).
   */
  onStoreProblem?: (problem: StoreConfigError) => void;
}

/** Throws the problem, or hands it to `onStoreProblem`. */
function storeProblem(opts: StoreOptions, problem: StoreConfigError): void {
  if (!opts.onStoreProblem) throw problem;
  opts.onStoreProblem(problem);
}

type StreamSettings = Partial<StreamConfig> & { name: string };

function streamConfigs(
  n: Names,
  o: Required<Omit<StoreOptions, 'onStoreProblem'>>,
): StreamSettings[] {
  return [
    {
      name: n.eventStream,
      description: 'jetsched: every state change, one subject per aggregate',
      subjects: [subjects.eventsAll(n)],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      num_replicas: o.replicas,
      duplicate_window: o.duplicateWindowMs * NS_PER_MS,
      allow_direct: true,
      max_msg_size: 1024 * 1024,
      discard: DiscardPolicy.Old,
    },
    {
      name: n.taskStream,
      description: 'jetsched: tasks for workers, one subject per worker group',
      subjects: [subjects.tasksAll(n)],
      storage: StorageType.File,
      retention: RetentionPolicy.Workqueue,
      num_replicas: o.replicas,
      duplicate_window: o.duplicateWindowMs * NS_PER_MS,
    },
    {
      name: n.logStream,
      description: 'jetsched: log lines of instances',
      subjects: [subjects.logsAll(n)],
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      num_replicas: o.replicas,
      max_age: o.logMaxAgeMs * NS_PER_MS,
      allow_direct: true,
    },
  ];
}

/**
 * How long a stream or bucket this process creates may take to be placed and to elect its leader.
 * Long enough to ask again after a creation request that went unanswered (the runtime waits 10 s).
 */
const READY_WAIT_MS = 30_000;

/**
 * JetStream's "no suitable peers for placement": on a cluster that has just formed (or just lost a
 * node) the meta leader may not count every peer yet. Transient while the deadline lasts.
 */
const NO_PEERS_FOR_PLACEMENT = 10005;

/**
 * What makes an existing event stream unfit to be the installation's source of truth: anything
 * that lets the server remove events (a retention other than limits, or a limit of age, count or
 * size: the oldest events would go, and a rebuild would silently give another state). Empty when
 * it is fit.
 */
export function eventStreamProblems(config: Partial<StreamConfig>): string[] {
  const problems: string[] = [];
  if (config.retention !== undefined && config.retention !== RetentionPolicy.Limits)
    problems.push(`retention "${config.retention}" (events would be removed once consumed)`);
  if ((config.max_age ?? 0) > 0) problems.push(`max_age ${(config.max_age ?? 0) / 1e9} s`);
  for (const limit of ['max_msgs', 'max_bytes', 'max_msgs_per_subject'] as const) {
    const value = config[limit] ?? -1;
    if (value > 0) problems.push(`${limit} ${value}`);
  }
  return problems;
}

async function ensureStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  cfg: StreamSettings,
  problemsOf?: (config: Partial<StreamConfig>) => string[],
  opts: StoreOptions = {},
): Promise<void> {
  const name = cfg.name;
  try {
    // It exists: leave it as its operator configured it (a client must not rescale it), unless
    // that configuration cannot work at all.
    const info = await asking(`the info of stream ${name}`, jsm.streams.info(name));
    const problems = problemsOf?.(info.config) ?? [];
    if (problems.length > 0)
      storeProblem(
        opts,
        new StoreConfigError(
          name,
          `stream ${name} exists with ${problems.join(', ')}: it is the installation's record of every state change, and the server would remove events from it. Remove those limits (e.g. nats stream edit ${name}); jetsched does not change an existing stream.`,
        ),
      );
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10059) {
      const deadline = Date.now() + READY_WAIT_MS;
      await whilePlacing(deadline, async () => {
        try {
          await asking(`creating stream ${name}`, jsm.streams.add(cfg));
        } catch (addErr) {
          // Another process created it between our info and add: that is fine.
          if (!(addErr instanceof JetStreamApiError && addErr.code === 10058)) throw addErr;
        }
      });
      await untilLed(jsm, name, deadline);
      await untilReachable(js, cfg.subjects?.[0], deadline);
      return;
    }
    throw err;
  }
}

/**
 * Runs `create`, again after a pause while JetStream answers that it cannot place it yet, or does
 * not answer in time (a meta leader busy or being elected). Asking again is safe: creating what
 * exists with the same configuration succeeds, and with another is refused as before.
 */
export async function whilePlacing<T>(deadline: number, create: () => Promise<T>): Promise<T> {
  for (let pauseMs = 50; ; pauseMs = Math.min(pauseMs * 2, 500)) {
    try {
      return await create();
    } catch (err) {
      const placing = err instanceof JetStreamApiError && err.code === NO_PEERS_FOR_PLACEMENT;
      const unanswered = err instanceof RequestTimeoutError;
      if (!(placing || unanswered) || Date.now() + pauseMs > deadline) throw err;
    }
    await sleep(pauseMs);
  }
}

/**
 * A replicated stream that was just created stores nothing until its replicas have elected a
 * leader: publishes meanwhile get "no responders". Waits for the leader (a single server's stream
 * is led at once), until `deadline`; after that, writers meet the election as any other transient
 * failure. A stream info that fails meanwhile (no leader to answer it yet) is asked again.
 */
async function untilLed(jsm: JetStreamManager, name: string, deadline: number): Promise<void> {
  for (let pauseMs = 20; ; pauseMs = Math.min(pauseMs * 2, 250)) {
    const info = await jsm.streams.info(name).catch(() => undefined);
    if (info && (!info.cluster || info.cluster.leader)) return;
    if (Date.now() + pauseMs > deadline) return;
    await sleep(pauseMs);
  }
}

/** A literal subject that a stream listening on `pattern` captures: each wildcard is `_ready`. */
export function probeSubject(pattern: string): string {
  return pattern.replace(/(^|\.)[*>](?=\.|$)/g, '$1_ready');
}

/**
 * Even once a replicated stream has a leader, the server this client is connected to may not yet
 * know that the stream listens on its subjects (interest travels between the cluster's servers on
 * its own), and a publish then gets "no responders". Probes with a publish that any stream refuses
 * without storing it (an expected last sequence it cannot have) until the stream answers, or
 * until `deadline`; after that, writers meet it as any other transient failure.
 */
async function untilReachable(
  js: JetStreamClient,
  pattern: string | undefined,
  deadline: number,
): Promise<void> {
  if (!pattern) return;
  const subject = probeSubject(pattern);
  for (let pauseMs = 20; ; pauseMs = Math.min(pauseMs * 2, 250)) {
    try {
      await js.publish(subject, undefined, {
        expect: { lastSequence: Number.MAX_SAFE_INTEGER },
        timeout: 1000,
      });
      return; // cannot happen (no stream is that long), and would mean it answered
    } catch (err) {
      if (err instanceof JetStreamApiError) return; // the stream answered (wrong last sequence)
    }
    if (Date.now() + pauseMs > deadline) return;
    await sleep(pauseMs);
  }
}

export interface Buckets {
  heartbeats: KV;
  leases: KV;
  snapshots: KV;
  /**
   * How long a heartbeat and a lease live without renewal: the two buckets' TTLs as the server
   * keeps them (the bucket's, not the options', when it was made elsewhere; 0 when it has none).
   */
  ttls: { heartbeatMs: number; leaseMs: number };
}

/** Creates (or finds) the streams and KV buckets of an installation. Safe to call from every process. */
export async function ensureStore(
  js: JetStreamClient,
  jsm: JetStreamManager,
  n: Names,
  opts: StoreOptions = {},
): Promise<Buckets> {
  const o: Required<Omit<StoreOptions, 'onStoreProblem'>> = {
    replicas: opts.replicas ?? 1,
    duplicateWindowMs: opts.duplicateWindowMs ?? 120_000,
    logMaxAgeMs: opts.logMaxAgeMs ?? 7 * 86_400_000,
    heartbeatTtlMs: opts.heartbeatTtlMs ?? 3000,
    leaseTtlMs: opts.leaseTtlMs ?? 3000,
  };
  for (const cfg of streamConfigs(n, o))
    await ensureStream(
      js,
      jsm,
      cfg,
      cfg.name === n.eventStream ? eventStreamProblems : undefined,
      opts,
    );
  const kvm = new Kvm(js);
  const kvmCreate = (bucket: string, cfg: Parameters<Kvm['create']>[1]) =>
    asking(`creating KV bucket ${bucket}`, kvm.create(bucket, cfg));
  const deadline = Date.now() + READY_WAIT_MS;
  const [heartbeats, leases, snapshots] = await Promise.all([
    whilePlacing(deadline, () =>
      kvmCreate(n.heartbeatBucket, {
        ttl: o.heartbeatTtlMs,
        markerTTL: 1000,
        replicas: o.replicas,
        history: 1,
      }),
    ),
    whilePlacing(deadline, () =>
      kvmCreate(n.leaseBucket, {
        ttl: o.leaseTtlMs,
        markerTTL: 1000,
        replicas: o.replicas,
        history: 1,
      }),
    ),
    whilePlacing(deadline, () => kvmCreate(n.snapshotBucket, { replicas: o.replicas, history: 1 })),
  ]);
  const [heartbeat, lease] = await Promise.all([
    bucketExpiry(heartbeats, n.heartbeatBucket, 'a stopped process would stay a member forever'),
    bucketExpiry(leases, n.leaseBucket, "a dead scheduler's partitions would never be taken over"),
  ]);
  for (const { problem } of [heartbeat, lease]) if (problem) storeProblem(opts, problem);
  return {
    heartbeats,
    leases,
    snapshots,
    ttls: { heartbeatMs: heartbeat.ttlMs, leaseMs: lease.ttlMs },
  };
}

/**
 * Heartbeats and leases work only in a bucket whose keys expire (a TTL) and whose expiries reach
 * watchers (limit markers, `markerTTL`): that is how a dead process is seen to be gone. A bucket
 * made elsewhere without them is refused (see `onStoreProblem`), naming what it lacks, rather than
 * found out when a process dies and nobody takes its work over. (Kvm.create does not change an
 * existing bucket.)
 */
async function bucketExpiry(
  kv: KV,
  bucket: string,
  otherwise: string,
): Promise<{ ttlMs: number; problem?: StoreConfigError }> {
  const status = await asking(`the status of KV bucket ${bucket}`, kv.status());
  const lacks = [
    status.ttl > 0 ? undefined : 'a TTL (its keys never expire)',
    status.markerTTL > 0 ? undefined : 'limit markers (an expiry does not reach watchers)',
  ].filter((l) => l !== undefined);
  if (lacks.length === 0) return { ttlMs: status.ttl };
  return {
    ttlMs: status.ttl,
    problem: new StoreConfigError(
      bucket,
      `KV bucket ${bucket} exists without ${lacks.join(' and ')}: ${otherwise}. It holds only live state: delete it (nats kv del ${bucket}) and jetsched makes it again as it needs it.`,
    ),
  };
}
