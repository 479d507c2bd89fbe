import { expect, it } from 'vitest';
import { headers } from '@nats-io/transport-node';
import {
  makeEvent,
  msgIds,
  partitionOf,
  subjects,
  type JetschedEvent,
} from '../../src/events/index.js';
import { jobSpecInputSchema } from '../../src/domain/job-spec.js';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import type { EventStore } from '../../src/events/event-store.js';
import { createProjectionRunner, rebuild } from '../../src/projections/runner.js';
import { scheduleProjection } from '../../src/projections/projection.js';
import {
  createSnapshotStore,
  SnapshotUnreadableError,
} from '../../src/projections/snapshot-store.js';
import { toSnapshot } from '../../src/projections/state.js';
import { uniquePrefix } from '../support/nats.js';
import { countingConsumers } from '../support/consumers.js';
import { silent } from '../scheduler/helpers.js';
import { gate } from '../worker/helpers.js';

const actor = { kind: 'scheduler' as const, id: 'test' };

/** Appends a realistic history: jobs defined, fired, dispatched, started, finished. */
async function writeHistory(
  rt: Runtime,
  jobs: number,
  firesPerJob: number,
  t0: number,
  name = 'job',
): Promise<void> {
  const ctx = (nowMs: number) => ({ actor, nowMs });
  for (let j = 0; j < jobs; j++) {
    const jobId = `${name}-${j}`;
    const p = partitionOf(jobId, rt.partitions);
    const spec = jobSpecInputSchema.parse({
      name: jobId,
      processor: 'p',
      schedule: { every: '1s' },
    });
    let jobSeq = (
      await rt.store.append(
        subjects.job(rt.names, p, jobId),
        makeEvent('JobDefined', { jobId, spec, createdAtMs: t0 }, ctx(t0)),
        { expectedLastSubjectSeq: 0 },
      )
    ).seq;
    for (let f = 1; f <= firesPerJob; f++) {
      const fireTimeMs = t0 + f * 1000;
      const instanceId = `${jobId}~${fireTimeMs}`;
      const fired = makeEvent(
        'JobFired',
        { jobId, instanceId, fireTimeMs, reason: 'schedule', runNumber: f },
        ctx(fireTimeMs),
        msgIds.fire(jobId, fireTimeMs),
      );
      jobSeq = (
        await rt.store.append(subjects.job(rt.names, p, jobId), fired, {
          expectedLastSubjectSeq: jobSeq,
        })
      ).seq;
      const inst = subjects.instance(rt.names, p, instanceId);
      const chain: JetschedEvent[] = [
        makeEvent(
          'InstanceDispatched',
          {
            instanceId,
            jobId,
            attempt: 1,
            group: 'default',
            processor: 'p',
            fireTimeMs,
            priority: 0,
          },
          ctx(fireTimeMs),
        ),
        makeEvent(
          'InstanceStarted',
          { instanceId, attempt: 1, workerId: 'w' },
          ctx(fireTimeMs + 1),
        ),
        f % 3 === 0
          ? makeEvent(
              'InstanceAttemptFailed',
              { instanceId, attempt: 1, workerId: 'w', error: { name: 'Error', message: 'x' } },
              ctx(fireTimeMs + 2),
            )
          : makeEvent(
              'InstanceSucceeded',
              { instanceId, attempt: 1, workerId: 'w' },
              ctx(fireTimeMs + 2),
            ),
      ];
      let seq = 0;
      for (const e of chain)
        seq = (await rt.store.append(inst, e, { expectedLastSubjectSeq: seq })).seq;
    }
  }
}

const plain = (rt: { state: Parameters<typeof toSnapshot>[0] }) =>
  JSON.parse(JSON.stringify(toSnapshot(rt.state))) as unknown;

/** A runner of the schedule projection that restores and saves its snapshots where `snapshots` says. */
function snapshotRunner(
  rt: Runtime,
  snapshots: { store: ReturnType<typeof createSnapshotStore>; key: string },
  onEvent?: () => void,
) {
  return createProjectionRunner({
    js: rt.js,
    store: rt.store,
    projection: scheduleProjection,
    log: silent,
    snapshots,
    ...(onEvent && { onEvent }),
  });
}

/**
 * A runner over {@link countingConsumers} whose steady-state watchdog would wait a minute: only
 * its fast checks (`catchUpStallAfterMs`, default 1 s as in the runner) can replace a silent
 * consumer within a test. (At 300 ms a clean-clone CI run on the 3-node cluster once replaced the
 * healthy second consumer too, before its first delivery.)
 */
function watchdogRunner(
  rt: Runtime,
  opts: {
    silentFirst?: boolean;
    catchUpStallAfterMs?: number;
    catchUpByReadFrom?: number;
    store?: EventStore;
    onEvent?: () => void;
  } = {},
) {
  const client = countingConsumers(rt, opts);
  const runner = createProjectionRunner({
    js: client.js,
    store: opts.store ?? rt.store,
    projection: scheduleProjection,
    log: silent,
    stallAfterMs: 60_000,
    catchUpStallAfterMs: opts.catchUpStallAfterMs ?? 1000,
    ...(opts.catchUpByReadFrom !== undefined && { catchUpByReadFrom: opts.catchUpByReadFrom }),
    ...(opts.onEvent && { onEvent: opts.onEvent }),
  });
  return { runner, requested: client.requested, consuming: client.consuming };
}

/** A runner that catches up through `store`'s reads from any distance, counting what it folds. */
function catchingUpRunner(rt: Runtime, store: EventStore) {
  let folded = 0;
  const made = watchdogRunner(rt, {
    silentFirst: false,
    catchUpByReadFrom: 1,
    store,
    onEvent: () => void folded++,
  });
  return { ...made, folded: () => folded };
}

/** The projection properties, against whatever server(s) `url()` names and with `replicas`. */
export function projectionSuite(url: () => string, replicas: number): void {
  /** A fresh installation (own prefix) for one test, closed after it. */
  async function withRuntime(fn: (rt: Runtime) => Promise<void>): Promise<void> {
    const rt = await openRuntime({
      nats: { servers: url() },
      prefix: uniquePrefix(),
      replicas,
      log: silent,
    });
    try {
      await fn(rt);
    } finally {
      await rt.close();
    }
  }

  it('rebuilding from zero gives the same state as the live fold', async () => {
    await withRuntime(async (rt) => {
      const live = createProjectionRunner({
        js: rt.js,
        store: rt.store,
        projection: scheduleProjection,
        log: silent,
      });
      await live.start();
      await writeHistory(rt, 6, 5, 1_800_000_000_000);
      const last = await rt.store.lastSeq(subjects.eventsAll(rt.names));
      // Told what is stored, as its callers tell it, the runner replaces a consumer that stays
      // silent (on a cluster one now and then does) within a second, not by the 5-s watchdog.
      live.expect(last);
      await live.waitForSeq(last);
      const rebuilt = await rebuild(rt.store, scheduleProjection);
      expect(rebuilt.seq).toBe(last);
      expect(JSON.parse(JSON.stringify(toSnapshot(rebuilt.state)))).toEqual(plain(live));
      expect(live.state.instances.size).toBe(30);
      await live.stop();
    });
  });

  it('a snapshot plus the tail gives the same state as a full rebuild', async () => {
    await withRuntime(async (rt) => {
      const snapshots = { store: createSnapshotStore(rt.buckets.snapshots), key: 'schedule.all' };
      await writeHistory(rt, 4, 3, 1_800_000_000_000);
      const first = snapshotRunner(rt, snapshots);
      await first.start({ fromSnapshot: false });
      const { seq: snapSeq } = await first.saveSnapshot();
      await first.stop();

      // The tail: new jobs, and a change to an old one.
      await writeHistory(rt, 8, 2, 1_900_000_000_000, 'tail');
      const old = subjects.job(rt.names, partitionOf('job-0', rt.partitions), 'job-0');
      await rt.store.append(
        old,
        makeEvent('JobPaused', { jobId: 'job-0' }, { actor, nowMs: 1_900_000_000_000 }),
        {
          expectedLastSubjectSeq: await rt.store.lastSeq(old),
        },
      );
      const restored = snapshotRunner(rt, snapshots);
      let folded = 0;
      const counting = snapshotRunner(rt, snapshots, () => void folded++);
      await restored.start();
      await counting.start();
      const full = await rebuild(rt.store, scheduleProjection);
      expect(restored.seq).toBe(full.seq);
      expect(plain(restored)).toEqual(JSON.parse(JSON.stringify(toSnapshot(full.state))));
      // Only the tail was folded after the snapshot.
      expect(folded).toBe(full.seq - snapSeq);
      await restored.stop();
      await counting.stop();
    });
  });

  it('catches up from far behind through the event store read, then follows with its consumer', async () => {
    await withRuntime(async (rt) => {
      await writeHistory(rt, 4, 3, 1_800_000_000_000);
      const last = await rt.store.lastSeq(subjects.eventsAll(rt.names));
      const scans: number[] = [];
      const store: EventStore = {
        ...rt.store,
        scan: (o, visit) => {
          scans.push(o.fromSeq ?? 1);
          return rt.store.scan(o, visit);
        },
      };
      const { runner, requested, folded } = catchingUpRunner(rt, store);
      await runner.start();
      expect(scans).toEqual([1]);
      expect(runner.seq).toBe(last);
      expect(folded()).toBe(last);
      expect(plain(runner)).toEqual(plain(await rebuild(rt.store, scheduleProjection)));
      // The consumer starts past what was read, and folds what comes next.
      expect(requested).toHaveLength(1);
      await writeHistory(rt, 1, 1, 1_900_000_000_000, 'later');
      const now = await rt.store.lastSeq(subjects.eventsAll(rt.names));
      runner.expect(now);
      await runner.waitForSeq(now);
      expect(folded()).toBe(now);
      expect(runner.state.jobs.has('later-0')).toBe(true);
      await runner.stop();
    });
  });

  it('leaves the rest of the catch-up to its consumer when the read fails part way', async () => {
    await withRuntime(async (rt) => {
      await writeHistory(rt, 3, 2, 1_800_000_000_000);
      const last = await rt.store.lastSeq(subjects.eventsAll(rt.names));
      let broke = false;
      const store: EventStore = {
        ...rt.store,
        scan: (o, visit) => {
          let n = 0;
          return rt.store.scan(o, (raw) => {
            if (++n > 5) {
              broke = true;
              throw new Error('the read broke');
            }
            visit(raw);
          });
        },
      };
      const { runner, requested, folded } = catchingUpRunner(rt, store);
      await runner.start();
      expect(broke).toBe(true);
      expect(runner.seq).toBe(last);
      expect(folded()).toBe(last); // each event once: 5 by the read, the rest by the consumer
      expect(requested).toHaveLength(1);
      expect(plain(runner)).toEqual(plain(await rebuild(rt.store, scheduleProjection)));
      await runner.stop();
    });
  });

  it('closes the consumer it was opening when stopped as soon as it started', async () => {
    await withRuntime(async (rt) => {
      // Nothing to catch up with: the start is over before the consumer that follows exists.
      const { runner, requested, consuming } = watchdogRunner(rt, { silentFirst: false });
      await runner.start();
      await runner.stop();
      expect(requested).toHaveLength(1);
      expect(consuming()).toBe(0);
    });
  });

  it('ends its start when stopped before it knew where the stream ends, asking for no consumer', async () => {
    await withRuntime(async (rt) => {
      await writeHistory(rt, 2, 2, 1_800_000_000_000);
      const asked = gate();
      const released = gate();
      const store: EventStore = {
        ...rt.store,
        lastSeq: async (subject) => {
          asked.open();
          await released.promise;
          return rt.store.lastSeq(subject);
        },
      };
      const { runner, requested } = watchdogRunner(rt, { silentFirst: false, store });
      const started = runner.start();
      await asked.promise;
      await runner.stop();
      released.open();
      await started;
      expect(requested).toHaveLength(0);
      expect(runner.seq).toBe(0);
    });
  });

  it('ends its catch-up read at the next event once stopped, asking for no consumer', async () => {
    await withRuntime(async (rt) => {
      await writeHistory(rt, 3, 2, 1_800_000_000_000);
      let stopping: Promise<void> | undefined;
      const store: EventStore = {
        ...rt.store,
        scan: (o, visit) =>
          rt.store.scan(o, (raw) => {
            visit(raw);
            stopping ??= made.runner.stop();
          }),
      };
      const made = catchingUpRunner(rt, store);
      await made.runner.start();
      await stopping;
      expect(made.folded()).toBe(1);
      expect(made.requested).toHaveLength(0);
    });
  });

  it('stores a snapshot larger than one KV value in chunks and loads it whole, in order', async () => {
    await withRuntime(async (rt) => {
      const store = createSnapshotStore(rt.buckets.snapshots);
      // About 3 MiB of JSON: several chunks, each a distinct text, so a misordered load shows.
      const state = {
        rows: Array.from({ length: 30_000 }, (_, i) => `row ${i} `.padEnd(100, '·')),
      };
      await store.save('big', { seq: 7, savedAtMs: 1, state });
      const meta = (await rt.buckets.snapshots.get('big.meta'))?.json<{ chunks: number }>();
      expect(meta?.chunks).toBeGreaterThan(2);
      expect(await store.load('big')).toEqual({ seq: 7, savedAtMs: 1, state });
    });
  });

  it('refuses to load entries that are not a snapshot with a typed error naming the key and why', async () => {
    await withRuntime(async (rt) => {
      const kv = rt.buckets.snapshots;
      const store = createSnapshotStore(kv);
      await kv.put('junk.meta', 'not a snapshot');
      await expect(store.load('junk')).rejects.toMatchObject({
        name: 'SnapshotUnreadableError',
        key: 'junk',
        message: expect.stringContaining('meta entry is not JSON') as string,
      });
      await kv.put('other.meta', JSON.stringify({ seq: 3, savedAtMs: 1 }));
      await expect(store.load('other')).rejects.toThrow(SnapshotUnreadableError);
      await expect(store.load('other')).rejects.toThrow(
        /meta entry is not a snapshot's \(generation: /,
      );
      // A chunk that is not the one its meta counted (bytes): written over by something else.
      await store.save('cut', { seq: 4, savedAtMs: 1, state: { rows: ['a', 'b'] } });
      const meta = (await kv.get('cut.meta'))?.json<{ generation: string }>();
      await kv.put(`cut.${meta?.generation}.0`, '{}');
      await expect(store.load('cut')).rejects.toThrow(/its chunks hold 2 bytes/);
      // Saving over an unreadable snapshot still saves (its old chunks cannot be found).
      await store.save('junk', { seq: 5, savedAtMs: 1, state: { ok: true } });
      expect(await store.load('junk')).toEqual({ seq: 5, savedAtMs: 1, state: { ok: true } });
    });
  });

  it('passes over a snapshot it cannot read and folds the stream from its start', async () => {
    await withRuntime(async (rt) => {
      const snapshots = { store: createSnapshotStore(rt.buckets.snapshots), key: 'schedule.bad' };
      await writeHistory(rt, 3, 2, 1_800_000_000_000);
      const last = await rt.store.lastSeq(subjects.eventsAll(rt.names));
      // A form this version does not know (say, written by a newer one), claiming to cover it all.
      await snapshots.store.save(snapshots.key, {
        seq: last,
        savedAtMs: Date.now(),
        state: { v: 99, jobs: 'elsewhere' },
      });
      let folded = 0;
      const runner = snapshotRunner(rt, snapshots, () => void folded++);
      await runner.start();
      const full = await rebuild(rt.store, scheduleProjection);
      expect(runner.seq).toBe(last);
      expect(folded).toBe(full.seq);
      expect(plain(runner)).toEqual(JSON.parse(JSON.stringify(toSnapshot(full.state))));
      await runner.stop();
    });
  });

  it('passes over a snapshot whose stored entries are not a snapshot at all, and folds the stream from its start', async () => {
    await withRuntime(async (rt) => {
      const snapshots = { store: createSnapshotStore(rt.buckets.snapshots), key: 'schedule.junk' };
      await writeHistory(rt, 2, 2, 1_800_000_000_000);
      const last = await rt.store.lastSeq(subjects.eventsAll(rt.names));
      // Say, a key overwritten by hand or by another tool: its meta entry is not even JSON.
      await rt.buckets.snapshots.put(`${snapshots.key}.meta`, 'not a snapshot');
      const runner = snapshotRunner(rt, snapshots);
      await runner.start();
      const full = await rebuild(rt.store, scheduleProjection);
      expect(runner.seq).toBe(last);
      expect(plain(runner)).toEqual(JSON.parse(JSON.stringify(toSnapshot(full.state))));
      await runner.stop();
    });
  });

  it('passes over the snapshot of an event stream deleted and made again, though the new one is longer', async () => {
    await withRuntime(async (rt) => {
      const snapshots = { store: createSnapshotStore(rt.buckets.snapshots), key: 'schedule.old' };
      await writeHistory(rt, 1, 1, 1_800_000_000_000, 'old');
      const runner = snapshotRunner(rt, snapshots);
      await runner.start();
      const { seq: saved } = await runner.saveSnapshot();
      await runner.stop();
      // The stream goes (its snapshot stays), a runtime of the same prefix makes it again, and the
      // new stream grows past the snapshot's sequence: only its making tells them apart.
      await rt.jsm.streams.delete(rt.names.eventStream);
      const again = await openRuntime({
        nats: { servers: url() },
        prefix: rt.names.prefix,
        replicas,
        log: silent,
      });
      try {
        await writeHistory(again, 3, 2, 1_900_000_000_000, 'new');
        const last = await again.store.lastSeq(subjects.eventsAll(again.names));
        expect(last).toBeGreaterThan(saved);

        const restarted = snapshotRunner(again, snapshots);
        await restarted.start();
        const full = await rebuild(again.store, scheduleProjection);
        expect(restarted.seq).toBe(last);
        expect([...restarted.state.jobs.keys()].sort()).toEqual(['new-0', 'new-1', 'new-2']);
        expect(plain(restarted)).toEqual(JSON.parse(JSON.stringify(toSnapshot(full.state))));
        await restarted.stop();
      } finally {
        await again.close();
      }
    });
  });

  it('replaces a consumer that stays silent while the fold catches up', async () => {
    await withRuntime(async (rt) => {
      await writeHistory(rt, 2, 2, 1_800_000_000_000);
      const last = await rt.store.lastSeq(subjects.eventsAll(rt.names));
      // The steady-state watchdog would wait a minute; only the catch-up one can rescue the start.
      const { runner, requested } = watchdogRunner(rt);
      await runner.start();
      expect(runner.seq).toBe(last);
      expect(runner.state.instances.size).toBe(4);
      expect(requested).toHaveLength(2);
      await runner.stop();
    });
  });

  it('replaces a silent consumer once an event it should deliver is known to be stored', async () => {
    await withRuntime(async (rt) => {
      const { runner, requested } = watchdogRunner(rt);
      await runner.start(); // nothing to catch up with: the silent consumer goes unnoticed
      await writeHistory(rt, 1, 1, 1_800_000_000_000);
      const last = await rt.store.lastSeq(subjects.eventsAll(rt.names));
      runner.expect(last); // as the scheduler does on the ack of its own append
      await runner.waitForSeq(last, 10_000);
      expect(runner.state.jobs.size).toBe(1);
      // The silent first one was replaced. On a busy cluster a new consumer may stay silent past
      // the check too, and is then replaced in turn.
      expect(requested.length).toBeGreaterThanOrEqual(2);
      await runner.stop();
    });
  });

  it('does not take its own blocked event loop for a silent consumer', async () => {
    await withRuntime(async (rt) => {
      // Well under the second the loop is blocked below, so that the block would count as silence.
      const { runner, requested } = watchdogRunner(rt, {
        silentFirst: false,
        catchUpStallAfterMs: 300,
      });
      await runner.start();
      await writeHistory(rt, 1, 1, 1_800_000_000_000, 'first');
      const next = (await rt.store.lastSeq(subjects.eventsAll(rt.names))) + 1;
      // A new consumer now and then stays silent on a cluster: the fast check replaces it here.
      runner.expect(next - 1);
      await runner.waitForSeq(next - 1, 10_000); // the consumer runs and has delivered
      const consumers = requested.length;
      const writing = writeHistory(rt, 1, 1, 1_800_000_000_000, 'second');
      runner.expect(next);
      // The process is busy for a second before the append even leaves it: the delivery comes
      // after that, and the watchdog's overdue tick must not count the second as silence.
      const busyUntil = Date.now() + 1000;
      while (Date.now() < busyUntil);
      await writing;
      await runner.waitForSeq(next, 10_000);
      expect(requested).toHaveLength(consumers);
      await runner.stop();
    });
  });

  it('skips and counts a garbage message on an event subject without changing state', async () => {
    await withRuntime(async (rt) => {
      await writeHistory(rt, 2, 2, 1_800_000_000_000);
      const live = createProjectionRunner({
        js: rt.js,
        store: rt.store,
        projection: scheduleProjection,
        log: silent,
      });
      await live.start();
      const before = plain(live);
      const garbage = [
        new TextEncoder().encode('{{{ not json'),
        new TextEncoder().encode(JSON.stringify({ type: 'JobTeleported', v: 1, data: {} })),
        new TextEncoder().encode(
          JSON.stringify({
            ...makeEvent('JobPaused', { jobId: 'job-0' }, { actor, nowMs: 1 }),
            v: 9,
          }),
        ),
      ];
      let lastGarbage = 0;
      for (const g of garbage)
        lastGarbage = (
          await rt.js.publish(
            subjects.job(rt.names, partitionOf('job-0', rt.partitions), 'job-0'),
            g,
            { headers: headers() },
          )
        ).seq;
      await live.waitForSeq(lastGarbage);
      expect(live.skipped).toBe(3);
      expect(plain(live)).toEqual(before);
      const rebuilt = await rebuild(rt.store, scheduleProjection);
      expect(rebuilt.skipped).toBe(3);
      await live.stop();
    });
  });
}
