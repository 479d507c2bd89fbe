import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { startServer } from '../../src/services/server.js';
import { createWorker } from '../../src/services/worker/index.js';
import { createClient } from '../../src/services/commands/client.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { desiredPartitions } from '../../src/services/scheduler/rendezvous.js';
import { allEvents, ofType, silent, watch } from './helpers.js';

const nats = useNats();

describe('several scheduler replicas share the partitions through leases', () => {
  let prefix: string;
  const runtimes: Runtime[] = [];
  const open = async () => {
    const rt = await openRuntime({ nats: { servers: nats.url }, prefix, log: silent });
    runtimes.push(rt);
    return rt;
  };
  beforeAll(() => {
    prefix = uniquePrefix();
  });
  afterAll(async () => {
    for (const rt of runtimes) await rt.close();
  });

  it('splits partitions without overlap, hands a stopped replica’s partitions to the others, and never fires a tick twice', async () => {
    const [a, b, c] = await Promise.all([open(), open(), open()]);
    const servers = await Promise.all(
      [a, b, c].map((rt, i) =>
        startServer({ runtime: rt, schedulerId: `r-${i + 1}`, log: silent }),
      ),
    );
    const worker = createWorker({
      runtime: a,
      group: 'default',
      processors: { noop: async () => undefined },
      log: silent,
    });
    await worker.start();

    // Ownership settles on the rendezvous split of the live replicas: each partition owned once.
    const owners = () =>
      servers.map((s) =>
        s.scheduler
          .partitions()
          .filter((p) => p.ready)
          .map((p) => p.partition)
          .sort((x, y) => x - y),
      );
    const settledOn = async (ids: string[]) => {
      const want = servers.map((_, i) =>
        ids.includes(`r-${i + 1}`)
          ? [...desiredPartitions(ids, `r-${i + 1}`, a.partitions)].sort((x, y) => x - y)
          : [],
      );
      for (let i = 0; i < 100 && JSON.stringify(owners()) !== JSON.stringify(want); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(owners()).toEqual(want);
    };
    await settledOn(['r-1', 'r-2', 'r-3']);

    const client = createClient(a);
    for (let i = 0; i < 30; i++) {
      await client.send('RegisterJob', {
        spec: {
          name: `r-job-${i}`,
          processor: 'noop',
          schedule: { every: '500ms' },
          misfire: 'fire-all',
        },
      });
    }
    const view = await watch(a);
    await view.waitUntil((s) => [...s.jobs.values()].every((j) => j.runs >= 3), 20_000);

    // A replica stops (gracefully: it releases its leases); the others take its partitions.
    await servers[0]!.stop();
    await settledOn(['r-2', 'r-3']);
    const runsAt = new Map([...view.state.jobs.values()].map((j) => [j.jobId, j.runs]));
    await view.waitUntil(
      (s) => [...s.jobs.values()].every((j) => j.runs >= (runsAt.get(j.jobId) ?? 0) + 3),
      20_000,
    );

    await client.send('PauseJob', { all: true });
    await view.waitUntil((s) => s.active.size === 0 && s.undispatched.size === 0, 20_000);
    await view.stop();
    await worker.drain();
    await servers[1]!.stop();
    await servers[2]!.stop();

    const fires = ofType(await allEvents(a), 'JobFired');
    const keys = fires.map((f) => `${f.data.jobId}@${f.data.fireTimeMs}`);
    expect(new Set(keys).size).toBe(keys.length);
    // No gap: with fire-all, every tick from the first to the last fire of each job is there.
    for (let i = 0; i < 30; i++) {
      const ticks = fires
        .filter((f) => f.data.jobId === `r-job-${i}`)
        .map((f) => f.data.fireTimeMs)
        .sort((x, y) => x - y);
      for (let k = 1; k < ticks.length; k++) expect(ticks[k]! - ticks[k - 1]!).toBe(500);
    }
  }, 90_000);
});
