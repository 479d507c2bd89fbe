/**
 * Streams and buckets made beforehand (by hand, by other tooling) are left as they are, unless
 * jetsched cannot work with them: heartbeats and leases only work in KV buckets whose keys expire
 * and whose expiries reach watchers, and the event stream, the record of every state change, must
 * not let the server remove events. Such a store is refused when a process opens the
 * installation, naming it and what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { openRuntime } from '../../src/services/runtime.js';
import { names, subjects } from '../../src/events/subjects.js';
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
      // What the schedulers trust a lease for: the bucket's TTL, not the default.
      expect(rt.buckets.ttls).toEqual({ heartbeatMs: 3000, leaseMs: 5000 });
    } finally {
      await rt.close();
    }
  });
});

describe('opening an installation whose event stream was made elsewhere', () => {
  it('refuses one from which the server would remove events, and appends nothing to it', async () => {
    const prefix = uniquePrefix();
    const n = names(prefix);
    const nc = await nats.connect();
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: n.eventStream,
      subjects: [subjects.eventsAll(n)],
      max_age: 3_600 * 1e9,
    });

    const opened = openRuntime({ nats: { servers: nats.url }, prefix, log: silent });

    await expect(opened).rejects.toMatchObject({
      code: 'STORE_CONFIG',
      store: n.eventStream,
      message: expect.stringContaining(
        `stream ${n.eventStream} exists with max_age 3600 s`,
      ) as string,
    });
    expect((await jsm.streams.info(n.eventStream)).state.messages).toBe(0);
  });
});
