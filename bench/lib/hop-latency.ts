import { AckPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { paced } from './paced.js';

/**
 * One JetStream hop, the unit a trigger's path is made of: `count` 256-byte messages published
 * from one connection at `rate` per second into a fresh file-storage stream, each delivered to a
 * consumer on a second connection (both in this process). Returns each message's publish call →
 * delivery time (ms, sub-millisecond).
 */
export async function jetstreamHopLatency(
  url: string,
  prefix: string,
  opts: { rate: number; count: number },
): Promise<number[]> {
  const pub = await connect({ servers: url, name: 'bench-hop-publisher', noAsyncTraces: true });
  const sub = await connect({ servers: url, name: 'bench-hop-consumer', noAsyncTraces: true });
  try {
    const jsm = await jetstreamManager(pub);
    const stream = `${prefix.toUpperCase()}_HOP`;
    await jsm.streams.add({
      name: stream,
      subjects: [`${prefix}.hop.>`],
      storage: StorageType.File,
    });
    await jsm.consumers.add(stream, { durable_name: 'hop', ack_policy: AckPolicy.None });
    const sentAt = new Float64Array(opts.count);
    const latency: number[] = [];
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const consumer = await jetstream(sub).consumers.get(stream, 'hop');
    const messages = await consumer.consume({
      max_messages: 1000,
      callback: (m) => {
        const i = new DataView(m.data.buffer, m.data.byteOffset, 8).getFloat64(0);
        latency.push(performance.now() - (sentAt[i] ?? NaN));
        if (latency.length === opts.count) resolveAll();
      },
    });
    const js = jetstream(pub, { timeout: 30_000 });
    const acks: Promise<unknown>[] = [];
    await paced(opts.count, opts.rate, (i) => {
      const payload = new Uint8Array(256);
      new DataView(payload.buffer).setFloat64(0, i);
      sentAt[i] = performance.now();
      acks.push(js.publish(`${prefix}.hop.${i % 16}`, payload));
    });
    await Promise.all(acks);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`hop baseline: ${latency.length} of ${opts.count} delivered in 60 s`)),
        60_000,
      );
    });
    await Promise.race([all, late]).finally(() => clearTimeout(timer));
    await messages.close();
    await jsm.streams.delete(stream);
    return latency;
  } finally {
    await Promise.all([pub.close(), sub.close()]);
  }
}
