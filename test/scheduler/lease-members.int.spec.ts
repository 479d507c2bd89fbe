/**
 * A scheduler learns that another left from the marker its heartbeat's expiry leaves in the
 * bucket, which lives a second. A watch that misses it (the process was paused past it, or its
 * consumer was made again after it) must not keep the dead member forever: its partitions would
 * never be taken. The members are listed again now and then; one that is gone is dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KV, KvWatchEntry, KvWatchOptions } from '@nats-io/kv';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { createLeaseOwnership } from '../../src/services/scheduler/lease-ownership.js';
import { uniquePrefix, useNats } from '../support/nats.js';
import { silent } from './helpers.js';

const nats = useNats();

/** The bucket, but its watches only ever see puts: every expiry marker is missed. */
function blindToExpiries(kv: KV): KV {
  return new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop !== 'watch') return Reflect.get(target, prop, receiver) as unknown;
      return async (opts?: KvWatchOptions) => {
        const it = await target.watch(opts);
        return {
          stop: () => it.stop(),
          async *[Symbol.asyncIterator](): AsyncGenerator<KvWatchEntry> {
            for await (const e of it) if (e.operation === 'PUT') yield e;
          },
        };
      };
    },
  });
}

describe('a scheduler whose watch missed that another scheduler left', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
  });
  afterAll(async () => rt?.close());

  it('finds it gone by listing the members again, and takes all its partitions', async () => {
    // A member that beats once and dies: its key expires with the bucket's TTL (3 s).
    await rt.buckets.heartbeats.put('scheduler.ghost', JSON.stringify({ kind: 'scheduler' }));
    const ownership = createLeaseOwnership({
      schedulerId: 'alive',
      partitions: rt.partitions,
      heartbeats: blindToExpiries(rt.buckets.heartbeats),
      leases: rt.buckets.leases,
      log: silent,
      relistMembersEveryMs: 500,
    });
    const all = new Promise<void>((resolve) => {
      ownership.onChange((owned) => {
        if (owned.size === rt.partitions) resolve();
      });
    });
    await ownership.start();
    try {
      // At first the ghost counts, and rendezvous hashing leaves its share to it.
      expect(ownership.members().sort()).toEqual(['alive', 'ghost']);
      expect(ownership.owned().size).toBeLessThan(rt.partitions);

      await all;

      expect(ownership.members()).toEqual(['alive']);
    } finally {
      await ownership.stop();
    }
  });
});
