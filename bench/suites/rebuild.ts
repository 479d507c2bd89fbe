import type { BenchConfig } from '../lib/config.js';
import { baseline, Collector, higherIsAtLeast, lowerIsAtMost } from '../lib/result.js';
import { benchLogger, lastStreamSeq, withInstallation } from '../lib/nats.js';
import { writeDataset } from '../lib/dataset.js';
import { readCounted } from '../lib/raw-read.js';
import { rebuild, createProjectionRunner } from '../../src/projections/runner.js';
import { scheduleProjection, schedulerProjection } from '../../src/projections/projection.js';
import { createSnapshotStore } from '../../src/projections/snapshot-store.js';
import { subjects } from '../../src/events/subjects.js';
import type { Runtime } from '../../src/services/runtime.js';
import { fmt } from '../lib/stats.js';

/**
 * Physical limit of reading: every message of the stream through the reader a rebuild uses
 * (`readOrdered`), in this thread, counted, not decoded.
 */
async function rawRead(rt: Runtime, end: number): Promise<number> {
  const t0 = performance.now();
  const n = await readCounted(rt, end);
  return n / ((performance.now() - t0) / 1000);
}

/** Physical limit of a restore: fetching the snapshot's meta key and chunks from KV, not parsed. */
async function rawSnapshotFetch(rt: Runtime, key: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const meta = await rt.buckets.snapshots.get(`${key}.meta`);
  if (!meta) throw new Error(`no snapshot ${key}`);
  const m = meta.json<{ generation: string; chunks: number }>();
  // All chunks asked for at once, as the snapshot store's load does.
  const chunks = await Promise.all(
    Array.from({ length: m.chunks }, (_, i) =>
      rt.buckets.snapshots.get(`${key}.${m.generation}.${i}`),
    ),
  );
  const bytes = chunks.reduce((n, e) => n + (e?.value.byteLength ?? 0), 0);
  return { ms: performance.now() - t0, bytes };
}

export async function rebuildSuite(url: string, cfg: BenchConfig, c: Collector): Promise<void> {
  const log = benchLogger();
  return withInstallation(url, 'rebuild', async (rt) => {
    console.log(`  writing ${cfg.rebuild.events.toLocaleString('en-US')} events`);
    const ds = await writeDataset(rt.js, rt.names, rt.partitions, {
      events: cfg.rebuild.events,
      hotInstances: cfg.rebuild.snapshotInstances,
      window: 1000,
    });
    const end = await lastStreamSeq(rt.jsm, rt.names.eventStream);
    const E = ds.events.toLocaleString('en-US');
    const H = ds.hotInstances.toLocaleString('en-US');
    c.setup.push(
      `one nats-server; ${E} valid events (${ds.jobs} jobs; ${ds.instances.toLocaleString('en-US')} instances, each JobFired (dispatching attempt 1) + InstanceStarted + InstanceSucceeded), built with makeEvent, encoded with encodeEvent and published raw (pipelined, 1000 in flight, no headers or dedup ids); ${H} of the instances are in partition 0`,
      "rebuild: `rebuild(store, scheduleProjection)` (the query side's fold, which keeps every instance) from sequence 1 to the end: read in a reader thread (`readOrdered`, its own connection), everything decoded with zod and folded in the calling thread; baseline: the same reader in one thread, counting only (until 2026-12-06 the rebuild read in its own thread through the client's ordered consumer, which was also the baseline: see bench/read.ts)",
      "the scheduler's own fold: `rebuild(store, schedulerProjection)`, the projection a scheduler folds its partitions with (it drops an instance once it is finished, keeping each job's last finish time), read the same way; each trial runs both rebuilds, in alternating order",
      `snapshot: partition 0 folded with scheduleProjection (the query-side projection, which keeps all ${H} instances), saved with the snapshot store; restore = \`createProjectionRunner({ snapshots }).start()\` until caught up (empty tail), in the same process after the trial's rebuilds (their states dropped, counts kept); baseline: fetching the snapshot's KV entries (all at once since 2026-12-06, as the store's load does) without parsing them`,
    );
    c.note(
      `wrote ${E} events in ${fmt(ds.writeMs / 1000)} s (${fmt(ds.events / (ds.writeMs / 1000))} events/s, encodeEvent validation included)`,
    );
    const readBase = baseline('raw read (readOrdered, one thread)', 'events/s');
    const fetchBase = baseline('raw KV fetch of the snapshot', 's');
    const REBUILD = `rebuild from zero over ${E} events`;
    const REBUILD_SCHEDULER = `rebuild from zero over ${E} events, the scheduler's own fold`;
    const RESTORE = `restore a partition with ${H} instances from a snapshot`;
    c.define({
      name: REBUILD,
      unit: 'events/s',
      baseline: readBase,
      target: { text: '≥ 200,000 events/s', met: higherIsAtLeast(200_000) },
    });
    c.define({
      name: REBUILD_SCHEDULER,
      unit: 'events/s',
      baseline: readBase,
      target: { text: '≥ 200,000 events/s', met: higherIsAtLeast(200_000) },
    });
    c.define({
      name: RESTORE,
      unit: 's',
      baseline: fetchBase,
      target: { text: '< 1 s for 100,000 instances', met: lowerIsAtMost(1) },
    });

    const hotFilter = [subjects.partition(rt.names, ds.hotPartition)];
    const t0 = performance.now();
    const hot = await rebuild(rt.store, scheduleProjection, { filterSubjects: hotFilter });
    const hotMs = performance.now() - t0;
    const snapshots = createSnapshotStore(rt.buckets.snapshots);
    const key = 'bench.p0';
    const t1 = performance.now();
    await snapshots.save(key, {
      seq: hot.seq,
      savedAtMs: Date.now(),
      state: scheduleProjection.toSnapshot(hot.state),
    });
    const saveMs = performance.now() - t1;
    c.note(
      `partition 0 folded from zero in ${fmt(hotMs / 1000)} s (${hot.state.instances.size.toLocaleString('en-US')} instances); its snapshot saved in ${fmt(saveMs / 1000)} s`,
    );

    for (let trial = 1; trial <= cfg.trials; trial++) {
      console.log(`  trial ${trial}/${cfg.trials}`);
      const raw = await rawRead(rt, end);
      readBase.samples.push(raw);
      // Both folds each trial, in alternating order (neither always runs on a warmer process).
      // Only counts are kept: a restore is not measured in a heap holding the folds' states.
      const timed = async (projection: typeof scheduleProjection) => {
        const t = performance.now();
        const r = await rebuild(rt.store, projection);
        const ms = performance.now() - t;
        return { seq: r.seq, skipped: r.skipped, instances: r.state.instances.size, ms };
      };
      const schedulerFirst = trial % 2 === 0;
      const own1 = schedulerFirst ? await timed(schedulerProjection) : undefined;
      const all = await timed(scheduleProjection);
      const own = own1 ?? (await timed(schedulerProjection));
      const rebuildMs = all.ms;
      const rate = all.seq / (rebuildMs / 1000);
      c.add(REBUILD, rate);
      const ownRate = own.seq / (own.ms / 1000);
      c.add(REBUILD_SCHEDULER, ownRate);
      const fetched = await rawSnapshotFetch(rt, key);
      fetchBase.samples.push(fetched.ms / 1000);
      const runner = createProjectionRunner({
        js: rt.js,
        store: rt.store,
        projection: scheduleProjection,
        filterSubjects: hotFilter,
        log,
        snapshots: { store: snapshots, key },
      });
      const ts = performance.now();
      await runner.start();
      const restoreMs = performance.now() - ts;
      const restored = runner.state.instances.size;
      await runner.stop();
      c.add(RESTORE, restoreMs / 1000);
      c.note(
        `trial ${trial}: rebuild folded ${all.seq.toLocaleString('en-US')} events (${all.instances.toLocaleString('en-US')} instances, ${all.skipped} skipped) in ${fmt(rebuildMs / 1000)} s = ${fmt(rate)} events/s (raw read ${fmt(raw)}/s); the scheduler's fold in ${fmt(own.ms / 1000)} s = ${fmt(ownRate)} events/s (${own.instances.toLocaleString('en-US')} instances left, ${schedulerFirst ? 'run first' : 'run second'}); snapshot restore ${fmt(restoreMs)} ms for ${restored.toLocaleString('en-US')} instances (raw fetch of ${fmt(fetched.bytes / 2 ** 20)} MiB: ${fmt(fetched.ms)} ms)`,
      );
    }
  });
}
