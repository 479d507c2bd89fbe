import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/services/commands/client.js';
import { loadLiveState, loadQueryState } from '../../src/services/query.js';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { startServer } from '../../src/services/server.js';
import { createWorker, type Worker } from '../../src/services/worker/index.js';
import { schedulerSnapshotKey } from '../../src/services/scheduler/snapshot-key.js';
import { createSnapshotStore } from '../../src/projections/snapshot-store.js';
import { partitionOf } from '../../src/events/subjects.js';
import { isTerminal } from '../../src/projections/instance-view.js';
import type { ScheduleState } from '../../src/projections/state.js';
import { uniquePrefix, useNats } from '../support/nats.js';
import { silent, waitAllSucceeded, watch } from '../scheduler/helpers.js';
import { gate } from '../worker/helpers.js';

const nats = useNats();

/** What a list of jobs shows: every job, and how many of its instances are under way. */
function jobList(state: ScheduleState) {
  return Object.fromEntries(
    [...state.jobs].map(([id, job]) => [id, { job, active: state.active.get(id)?.size ?? 0 }]),
  );
}

describe("the live state (a list of jobs) restored from the schedulers' snapshots", () => {
  let rt: Runtime;
  let worker: Worker;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const held = gate();
  const start = (schedulerId: string) =>
    startServer({ runtime: rt, schedulerId, log: silent, snapshotEveryMs: 600_000 });

  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
    worker = createWorker({
      runtime: rt,
      group: 'default',
      workerId: 'w-1',
      log: silent,
      pullExpiresMs: 1000,
      processors: { ok: async () => 'done', held: () => held.promise.then(() => 'done') },
    });
    await worker.start();
  });
  afterAll(async () => {
    held.open();
    await worker?.stop();
    await server?.stop();
    await rt?.close();
  });

  async function runJobs(jobIds: string[], processor: string, triggerId: string) {
    const client = createClient(rt);
    const ids: string[] = [];
    for (const jobId of jobIds) {
      await client.send('RegisterJob', {
        spec: { name: jobId, processor, schedule: { manual: true } },
      });
      const { result } = await client.send('TriggerJob', { jobId, triggerId });
      ids.push(String(result.instanceId));
    }
    return ids;
  }

  it('shows what a fold of the whole stream shows, reading the stream only from the oldest snapshot on', async () => {
    // A first scheduler runs jobs a, b and c to the end, and saves its snapshots when it stops.
    server = await start('sched-1');
    await waitAllSucceeded(rt, await runJobs(['a', 'b', 'c'], 'ok', 't1'));
    await server.stop();
    // After the snapshots: a second scheduler runs a again, and starts job d, which stays running.
    server = await start('sched-2');
    await waitAllSucceeded(rt, await runJobs(['a'], 'ok', 't2'));
    const [running] = await runJobs(['d'], 'held', 't1');
    const view = await watch(rt);
    await view.waitUntil((s) => s.instances.get(running!)?.status === 'running', 10_000);
    await view.stop();

    const { state, source } = await loadLiveState(rt);
    const whole = await loadQueryState(rt);

    const snapshotted = [...new Set(['a', 'b', 'c'].map((j) => partitionOf(j, rt.partitions)))];
    const ofD = partitionOf('d', rt.partitions);
    expect(source.fromSnapshots).toEqual(snapshotted.sort((x, y) => x - y));
    expect(source.readFromSeq).toBeGreaterThan(1);
    // d's partition, if it is not one of theirs, had no snapshot: it was read from the start.
    expect(source.fromStart).toEqual(snapshotted.includes(ofD) ? [] : [ofD]);
    expect(source.passedOver).toEqual([]);
    expect(jobList(state)).toEqual(jobList(whole));
    expect(state.jobs.get('a')?.runs).toBe(2);
    expect(state.active.get('d')?.size).toBe(1);
    // Finished instances are not kept; those under way are, as the whole fold has them.
    const underWay = [...whole.instances.values()].filter((i) => !isTerminal(i.status));
    expect([...state.instances.values()]).toEqual(underWay);
  });

  it('folds a partition whose snapshot cannot be read from the start of the stream, and says so', async () => {
    const broken = partitionOf('b', rt.partitions);
    await rt.buckets.snapshots.put(`${schedulerSnapshotKey(broken)}.meta`, 'not a snapshot');

    const { state, source } = await loadLiveState(rt);
    const whole = await loadQueryState(rt);

    expect(source.passedOver.map((u) => u.partition)).toEqual([broken]);
    expect(source.fromSnapshots).not.toContain(broken);
    expect(source.fromStart).toContain(broken);
    expect(jobList(state)).toEqual(jobList(whole));
  });

  it('passes over a snapshot of another event stream of the same name, and says so', async () => {
    // c's partition is not b's, whose snapshot the spec before made unreadable.
    const other = partitionOf('c', rt.partitions);
    expect(other).not.toBe(partitionOf('b', rt.partitions));
    const key = schedulerSnapshotKey(other);
    const snapshots = createSnapshotStore(rt.buckets.snapshots);
    const snap = await snapshots.load(key);
    expect(snap?.stream).toBeDefined();
    await snapshots.save(key, { ...snap!, stream: '2020-01-01T00:00:00Z' });

    const { state, source } = await loadLiveState(rt);
    const whole = await loadQueryState(rt);

    const said = source.passedOver.find((u) => u.partition === other);
    expect(said?.error).toContain('2020-01-01T00:00:00Z');
    expect(source.fromStart).toContain(other);
    expect(jobList(state)).toEqual(jobList(whole));
  });
});
