/**
 * Heartbeats and leases only work in KV buckets whose keys expire and whose expiries reach
 * watchers. A bucket of the installation made beforehand without them (by hand, by other tooling)
 * is refused when a process opens the installation, naming the bucket and what it lacks.
 */
import { describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { openRuntime } from '../../src/services/runtime.js';
import { names } from '../../src/events/subjects.js';
import { StoreConfigError } from '../../src/events/errors.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { silent } from '../scheduler/helpers.js';

const nats = useNats();

async function premade(bucket: string, cfg: { ttl?: number; markerTTL?: number }) {
  const nc = await nats.connect();
  await new Kvm(jetstream(nc)).create(bucket, { history: 1, ...cfg });
}

describe('opening an installation whose lease or heartbeat bucket was made elsewhere', () => {
  it('refuses a lease bucket whose keys never expire, naming it and what it lacks', async () => {
    const prefix = uniquePrefix();
    const bucket = names(prefix).leaseBucket;
    await premade(bucket, {});

    const opened = openRuntime({ nats: { servers: nats.url }, prefix, log: silent });

    await expect(opened).rejects.toThrow(StoreConfigError);
    await expect(opened).rejects.toMatchObject({
      code: 'STORE_CONFIG',
      store: bucket,
      message: expect.stringMatching(
        /without a TTL \(its keys never expire\) and limit markers .*partitions would never be taken over/,
      ) as string,
    });
  });

  it('refuses a heartbeat bucket with a TTL but no limit markers', async () => {
    const prefix = uniquePrefix();
    const bucket = names(prefix).heartbeatBucket;
    await premade(bucket, { ttl: 3000 });

    const opened = openRuntime({ nats: { servers: nats.url }, prefix, log: silent });

    await expect(opened).rejects.toMatchObject({
      store: bucket,
      message: expect.stringMatching(/exists without limit markers/) as string,
    });
  });

  it('accepts buckets made as jetsched makes them, with another TTL', async () => {
    const prefix = uniquePrefix();
    await premade(names(prefix).leaseBucket, { ttl: 5000, markerTTL: 1000 });

    const rt = await openRuntime({ nats: { servers: nats.url }, prefix, log: silent });
    try {
      expect((await rt.buckets.leases.status()).ttl).toBe(5000);
    } finally {
      await rt.close();
    }
  });
});
