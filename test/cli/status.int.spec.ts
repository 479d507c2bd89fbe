import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { startServer } from '../../src/services/server.js';
import { createWorker } from '../../src/services/worker/index.js';
import { readStatus } from '../../src/cli/commands/status.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { silent } from '../scheduler/helpers.js';

const nats = useNats();

describe('jetsched status', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
  });
  afterAll(async () => rt?.close());

  it('shows the live scheduler and worker, and which scheduler owns every partition', async () => {
    const server = await startServer({ runtime: rt, schedulerId: 'status-s1', log: silent });
    const worker = createWorker({
      runtime: rt,
      group: 'g1',
      processors: {},
      workerId: 'status-w1',
      log: silent,
    });
    await worker.start();
    try {
      const status = await readStatus(rt);
      expect(status.members.map((m) => `${m.kind}:${m.id}`)).toEqual([
        'scheduler:status-s1',
        'worker:status-w1',
      ]);
      expect(status.partitions).toHaveLength(rt.partitions);
      expect(status.partitions.every((p) => p.owner === 'status-s1')).toBe(true);
    } finally {
      await worker.drain();
      await server.stop();
    }
    const after = await readStatus(rt);
    expect(after.members).toEqual([]);
    expect(after.partitions.every((p) => p.owner === undefined)).toBe(true);
  });

  it('shows a heartbeat or lease value written by something else as what it is, and does not fail', async () => {
    const other = await openRuntime({
      nats: { servers: nats.url },
      prefix: uniquePrefix(),
      log: silent,
    });
    try {
      await other.buckets.heartbeats.put('worker.junk', 'not a heartbeat');
      await other.buckets.leases.put('p.0', 'not a lease');
      const status = await readStatus(other);
      expect(status.members).toEqual([{ kind: 'worker', id: 'junk' }]);
      expect(status.partitions[0]?.owner).toBe('(not a lease value)');
    } finally {
      await other.close();
    }
  });
});
