import { DeliverPolicy } from '@nats-io/jetstream';
import type { BenchConfig } from '../lib/config.js';
import { baseline, Collector, everyTrialAtMost } from '../lib/result.js';
import {
  benchLogger,
  dropInstallation,
  lastStreamSeq,
  openBenchRuntime,
  uniquePrefix,
} from '../lib/nats.js';
import { spawnCliServer, waitForBeat, type CliServer } from '../lib/cli-server.js';
import { benchClient, GROUP, registerJobs } from '../lib/jobs.js';
import { createWorker } from '../../src/services/worker/index.js';
import { parseEventSubject, subjects } from '../../src/events/subjects.js';
import { SCHEDULER_SNAPSHOTS } from '../../src/services/scheduler/scheduler.js';
import {
  DEFAULT_SNAPSHOT_AFTER_EVENTS,
  DEFAULT_SNAPSHOT_EVERY_MS,
} from '../../src/services/scheduler/snapshot-policy.js';
import type { JetschedEvent } from '../../src/events/event.js';
import { fmt, sleep } from '../lib/stats.js';

const LEASE_TTL_MS = 3000; // the lease bucket's TTL as ensureStore makes it (startServer's leases follow it)

interface TrialResult {
  firstFireMs: number;
  allFiredMs: number;
  leaseExpiryMs: number;
  deadPartitions: number;
  /** Loaded trials: the events of the victim's partitions after their snapshots, at the kill. */
  tail?: { total: number; largest: number };
}

/** How a trial loads the installation before the kill. */
interface Variant {
  label: string;
  jobs: number;
  /**
   * Kill this long after the victim's snapshots (saved every 30 s by default) rather than soon
   * after the jobs are registered: the survivor restores them and folds the tail since.
   */
  killAfterSnapshotMs?: number;
}

async function trial(url: string, variant: Variant, n: number): Promise<TrialResult> {
  const prefix = uniquePrefix('takeover');
  const rt = await openBenchRuntime(url, prefix, 'bench-harness');
  const log = benchLogger();
  const worker = createWorker({
    runtime: rt,
    group: GROUP,
    processors: { noop: async () => undefined },
    workerId: `tk-${n}`,
    concurrency: 64,
    log,
  });
  const servers: CliServer[] = [
    spawnCliServer(url, prefix, `tk${n}-a`),
    spawnCliServer(url, prefix, `tk${n}-b`),
  ];
  const stops: (() => unknown)[] = [];
  try {
    await worker.start();
    const held = new Map<string, number>();
    for (const s of servers) {
      await waitForBeat(
        rt.buckets.heartbeats,
        s.id,
        (b) => {
          held.set(s.id, b.partitions.length);
          return true;
        },
        60_000,
        'its first heartbeat',
      );
    }
    // Both members known and the partitions split between them.
    for (const s of servers) {
      await waitForBeat(
        rt.buckets.heartbeats,
        s.id,
        async (b) => {
          held.set(s.id, b.partitions.length);
          const other = servers.find((o) => o !== s);
          const o = other && (await rt.buckets.heartbeats.get(`scheduler.${other.id}`));
          const op =
            o && o.operation === 'PUT' ? o.json<{ partitions: number[] }>().partitions.length : 0;
          return b.partitions.length > 0 && op > 0 && b.partitions.length + op === rt.partitions;
        },
        60_000,
        'the partitions to be split',
      );
    }
    // The victim's snapshots as they are saved: partition → the sequence saved and when.
    const saved = new Map<number, { seq: number; atMs: number }>();
    const snapshotWatch = await rt.buckets.snapshots.watch({
      key: `${SCHEDULER_SNAPSHOTS}.*.meta`,
    });
    stops.push(() => snapshotWatch.stop());
    void (async () => {
      for await (const e of snapshotWatch) {
        if (e.operation !== 'PUT') continue;
        const p = Number(e.key.split('.').at(-2)?.slice(1));
        saved.set(p, { seq: e.json<{ seq: number }>().seq, atMs: Date.now() });
      }
    })();

    const specs = Array.from({ length: variant.jobs }, (_, i) => ({
      name: `tk-${i}`,
      group: GROUP,
      processor: 'noop',
      schedule: { every: '1s' },
    }));
    await registerJobs(benchClient(rt), specs, 50);
    const registeredAtMs = Date.now();
    await sleep(3000);

    // Lease owners as they change, and when a lease of the victim's disappears.
    const owner = new Map<number, string>();
    const leaseGone: { p: number; atMs: number }[] = [];
    const leases = await rt.buckets.leases.watch({ key: 'p.*' });
    stops.push(() => leases.stop());
    void (async () => {
      for await (const e of leases) {
        const p = Number(e.key.slice(2));
        if (e.operation === 'PUT') owner.set(p, e.json<{ owner: string }>().owner);
        else leaseGone.push({ p, atMs: Date.now() });
      }
    })();
    // Fires, by partition and writer.
    const fires: { p: number; by: string; atMs: number }[] = [];
    const consumer = await rt.js.consumers.get(rt.names.eventStream, {
      filter_subjects: [`${prefix}.evt.*.job.*`],
      deliver_policy: DeliverPolicy.StartSequence,
      opt_start_seq: (await lastStreamSeq(rt.jsm, rt.names.eventStream)) + 1,
    });
    const messages = await consumer.consume();
    stops.push(() => messages.close());
    void (async () => {
      for await (const m of messages) {
        const e = m.json<JetschedEvent>();
        const parsed = parseEventSubject(rt.names, m.subject);
        if (e.type === 'JobFired' && parsed)
          fires.push({ p: parsed.partition, by: e.actor.id, atMs: e.atMs });
      }
    })();
    await sleep(1500);

    const victim = servers[n % 2] as CliServer;
    const survivor = servers[(n + 1) % 2] as CliServer;
    const victimsPartitions = () =>
      new Set([...owner].filter(([, o]) => o === victim.id).map(([p]) => p));
    if (variant.killAfterSnapshotMs !== undefined) {
      // Wait for a round of the victim's snapshots taken under load, then let the tail grow.
      const deadline = Date.now() + 90_000;
      let round: number[] = [];
      for (;;) {
        round = [...victimsPartitions()].map((p) => saved.get(p)?.atMs ?? 0);
        if (round.length > 0 && round.every((atMs) => atMs > registeredAtMs + 1000)) break;
        if (Date.now() > deadline)
          throw new Error(`no snapshots of ${victim.id}'s partitions within 90 s of the load`);
        await sleep(50);
      }
      await sleep(Math.max(...round) + variant.killAfterSnapshotMs - Date.now());
    }
    const dead = victimsPartitions();
    if (dead.size === 0) throw new Error(`victim ${victim.id} holds no lease`);
    const atKill = new Map([...dead].map((p) => [p, saved.get(p)?.seq ?? 0]));
    const tKill = Date.now();
    victim.child.kill('SIGKILL');
    const killSeq = await lastStreamSeq(rt.jsm, rt.names.eventStream);
    const deadline = tKill + 30_000;
    let result: TrialResult;
    for (;;) {
      const after = fires.filter((f) => f.atMs >= tKill && f.by === survivor.id && dead.has(f.p));
      const covered = new Set(after.map((f) => f.p));
      if (covered.size === dead.size) {
        const firstByPartition = [...dead].map((p) =>
          Math.min(...after.filter((f) => f.p === p).map((f) => f.atMs)),
        );
        const gone = leaseGone.filter((g) => g.atMs >= tKill && dead.has(g.p));
        result = {
          firstFireMs: Math.min(...firstByPartition) - tKill,
          allFiredMs: Math.max(...firstByPartition) - tKill,
          leaseExpiryMs: gone.length ? Math.min(...gone.map((g) => g.atMs)) - tKill : NaN,
          deadPartitions: dead.size,
        };
        break;
      }
      if (Date.now() > deadline)
        throw new Error(
          `survivor fired only ${covered.size} of the ${dead.size} dead partitions within 30 s of the kill`,
        );
      await sleep(20);
    }
    for (const s of servers) await s.stop();
    await worker.drain();
    if (variant.killAfterSnapshotMs !== undefined) {
      // Counted with nothing appending any more: the sequences up to the kill are settled.
      // The events in (snapshot, kill], as the event store counts them.
      const tails = await Promise.all(
        [...atKill].map(async ([p, seq]) => {
          const filters = [subjects.partition(rt.names, p)];
          return (
            (await rt.store.countFrom(filters, seq + 1)) -
            (await rt.store.countFrom(filters, killSeq + 1))
          );
        }),
      );
      result.tail = { total: tails.reduce((a, b) => a + b, 0), largest: Math.max(...tails) };
    }
    return result;
  } finally {
    for (const s of stops) await s();
    for (const s of servers) await s.stop();
    await worker.drain();
    await dropInstallation(rt);
    await rt.close();
  }
}

export async function takeoverSuite(url: string, cfg: BenchConfig, c: Collector): Promise<void> {
  const variants: Variant[] = [
    { label: 'idle', jobs: cfg.takeover.jobs },
    {
      label: 'loaded',
      jobs: cfg.takeover.loaded.jobs,
      killAfterSnapshotMs: cfg.takeover.loaded.killAfterSnapshotMs,
    },
  ];
  const target = {
    text: `≤ lease TTL + 1 s = ${LEASE_TTL_MS + 1000} ms in every trial`,
    met: everyTrialAtMost(LEASE_TTL_MS + 1000),
  };
  c.setup.push(
    `per trial a fresh installation, two \`node dist/src/cli/main.js server --id …\` child processes with default settings (lease TTL ${LEASE_TTL_MS} ms, heartbeat 1 s, a partition's snapshot saved every ${DEFAULT_SNAPSHOT_EVERY_MS / 1000} s, or sooner once it has folded ${fmt(DEFAULT_SNAPSHOT_AFTER_EVENTS)} events since the last), one worker in the harness; SIGKILL alternates between the two`,
    `idle: ${cfg.takeover.jobs} jobs \`every: 1s\`, killed 4.5 s after they are registered`,
    `loaded: ${cfg.takeover.loaded.jobs} jobs \`every: 1s\` (${cfg.takeover.loaded.jobs} instances/s run to success), killed ${cfg.takeover.loaded.killAfterSnapshotMs / 1000} s after the victim's first snapshots under load (a snapshot round is watched in the KV bucket): the survivor restores those snapshots and folds the tail since; the tail is counted afterwards per partition by the server (\`countFrom\` of the event store, between the snapshot's sequence and the stream's last at the kill)`,
    'the victim’s partitions are those whose lease (KV `p.<n>`) names it at the kill; fires are JobFired events on `<prefix>.evt.<partition>.job.<id>`, their writer is `actor.id`, their time `atMs`',
    'baseline: the time from the kill until a KV watcher sees the first of the victim’s leases expire (the TTL plus the server’s expiry tick): the earliest a takeover can begin',
  );
  for (const variant of variants) {
    const expiry = baseline(
      `${variant.label}: kill → first lease expiry seen by a KV watcher`,
      'ms',
    );
    const FIRST = `${variant.label}: kill -9 → first fire by the survivor on a partition of the dead scheduler`;
    const ALL = `${variant.label}: kill -9 → every partition of the dead scheduler fired again`;
    c.define({ name: FIRST, unit: 'ms', baseline: expiry, target });
    c.define({ name: ALL, unit: 'ms', baseline: expiry, target });
    for (let n = 1; n <= cfg.takeover.trials; n++) {
      console.log(`  ${variant.label} trial ${n}/${cfg.takeover.trials}`);
      const r = await trial(url, variant, n);
      c.add(FIRST, r.firstFireMs);
      c.add(ALL, r.allFiredMs);
      expiry.samples.push(r.leaseExpiryMs);
      const tail = r.tail
        ? `; ${fmt(r.tail.total)} events after the snapshots (largest partition ${fmt(r.tail.largest)})`
        : '';
      c.note(
        `${variant.label} trial ${n}: ${r.deadPartitions} partitions lost${tail}; first fire after ${fmt(r.firstFireMs)} ms, all after ${fmt(r.allFiredMs)} ms; lease expiry seen after ${fmt(r.leaseExpiryMs)} ms`,
      );
    }
  }
}
