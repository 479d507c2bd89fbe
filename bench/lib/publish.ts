import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { StorageType } from '@nats-io/jetstream';
import { createJsPublisher } from '../../src/events/publisher.js';

/**
 * The physical limit: raw JetStream async publishes of `bytes`-byte messages from this Node process,
 * `window` publishes in flight (awaited window by window), into a fresh file-storage stream.
 * Returns messages per second.
 */
export async function rawPublishRate(
  url: string,
  prefix: string,
  opts: {
    messages: number;
    bytes: number;
    window: number;
    noAsyncTraces?: boolean;
    /** Publish through jetsched's pipelined publisher instead of `js.publish`. */
    pipelined?: boolean;
  },
): Promise<number> {
  const nc = await connect({
    servers: url,
    name: 'bench-raw-publish',
    ...(opts.noAsyncTraces && { noAsyncTraces: true }),
  });
  try {
    const js = jetstream(nc, { timeout: 30_000 });
    const jsm = await jetstreamManager(nc);
    const stream = `${prefix.toUpperCase()}_RAW`;
    await jsm.streams.add({
      name: stream,
      subjects: [`${prefix}.raw.>`],
      storage: StorageType.File,
    });
    const publisher = createJsPublisher(nc, { timeoutMs: 30_000 });
    const publish = opts.pipelined
      ? (subject: string, data: Uint8Array) => publisher.publish(subject, data)
      : (subject: string, data: Uint8Array) => js.publish(subject, data);
    const payload = new Uint8Array(opts.bytes).fill(120);
    // Warm up the connection and the stream (not timed).
    await Promise.all(Array.from({ length: 200 }, () => publish(`${prefix}.raw.w`, payload)));
    const t0 = performance.now();
    for (let sent = 0; sent < opts.messages;) {
      const n = Math.min(opts.window, opts.messages - sent);
      const acks = new Array<Promise<unknown>>(n);
      for (let i = 0; i < n; i++) acks[i] = publish(`${prefix}.raw.${(sent + i) % 16}`, payload);
      await Promise.all(acks);
      sent += n;
    }
    const rate = opts.messages / ((performance.now() - t0) / 1000);
    await jsm.streams.delete(stream);
    return rate;
  } finally {
    await nc.close();
  }
}
