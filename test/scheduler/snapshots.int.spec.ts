import { beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/services/runtime.js';
import { SCHEDULER_SNAPSHOTS } from '../../src/services/scheduler/scheduler.js';
import { createClient } from '../../src/services/commands/client.js';
import { partitionOf, subjects } from '../../src/events/subjects.js';
import { uniquePrefix, useNats } from '../support/nats.js';
import { openRuntime } from '../../src/services/runtime.js';
import { startServer } from '../../src/services/server.js';
import { createWorker } from '../../src/services/worker/index.js';
import { schedulerSnapshotKey } from '../../src/services/scheduler/snapshot-key.js';
import { silent, useServerAndWorker, waitAllSucceeded } from './helpers.js';

const nats = useNats();

describe('a scheduler saves the snapshot of a busy partition before the interval is up', () => {
  let rt: Runtime;
  // The interval is out of reach of the test: only the count of events can cause a save.
  const env = useServerAndWorker(
    nats,
    { ok: async () => 'done' },
    { snapshotEveryMs: 600_000, snapshotAfterEvents: 20, snapshotCheckEveryMs: 100 },
  );
  beforeAll(() => {
    rt = env.rt;
  });

  it('saves it once the partition has folded the set number of events, and no other', async () => {
    const client = createClient(rt);
    await client.send('RegisterJob', {
      spec: { name: 'busy', processor: 'ok', schedule: { manual: true } },
    });
    const ids = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const { result } = await client.send('TriggerJob', { jobId: 'busy', triggerId: `t${i}` });
        return String(result.instanceId);
      }),
    );
    await waitAllSucceeded(rt, ids);
    const busy = partitionOf('busy', rt.partitions);
    const { events } = await rt.store.readHistory(subjects.partition(rt.names, busy));
    expect(events.length).toBeGreaterThan(20);
    const twentieth = events[19]!.seq;

    // A save that covers the partition's 20th event, as the snapshots bucket reports it.
    const saves = await rt.buckets.snapshots.watch({ key: `${SCHEDULER_SNAPSHOTS}.*.meta` });
    const giveUp = setTimeout(() => saves.stop(), 10_000);
    let covered: { key: string; seq: number } | undefined;
    for await (const e of saves) {
      const seq = e.operation === 'PUT' ? e.json<{ seq: number }>().seq : 0;
      if (e.key === `${SCHEDULER_SNAPSHOTS}.p${busy}.meta` && seq >= twentieth) {
        covered = { key: e.key, seq };
        break;
      }
    }
    clearTimeout(giveUp);
    saves.stop();
    expect(covered?.seq).toBeGreaterThanOrEqual(twentieth);

    const keys: string[] = [];
    for await (const k of await rt.buckets.snapshots.keys(`${SCHEDULER_SNAPSHOTS}.*.meta`))
      keys.push(k);
    expect(keys).toEqual([`${SCHEDULER_SNAPSHOTS}.p${busy}.meta`]);
  });
});

describe('a scheduler taking a partition whose snapshot is not a snapshot', () => {
  it('folds the partition from the start of the stream and fires its jobs', async () => {
    const rt = await openRuntime({
      nats: { servers: nats.url },
      prefix: uniquePrefix(),
      log: silent,
    });
    const worker = createWorker({
      runtime: rt,
      group: 'default',
      workerId: 'w-1',
      log: silent,
      processors: { ok: async () => 'done' },
    });
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      // Overwritten by something else before the scheduler starts: its meta entry is not JSON.
      const partition = partitionOf('junked', rt.partitions);
      await rt.buckets.snapshots.put(`${schedulerSnapshotKey(partition)}.meta`, 'not a snapshot');
      await worker.start();
      server = await startServer({ runtime: rt, schedulerId: 's-1', log: silent });
      const client = createClient(rt);
      await client.send('RegisterJob', {
        spec: { name: 'junked', processor: 'ok', schedule: { manual: true } },
      });
      const { result } = await client.send('TriggerJob', { jobId: 'junked', triggerId: 't1' });
      await waitAllSucceeded(rt, [String(result.instanceId)]);
    } finally {
      await server?.stop();
      await worker.stop();
      await rt.close();
    }
  });
});
