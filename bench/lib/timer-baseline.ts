import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/**
 * The physical limit of firing on time: an ideal in-memory scheduler in one Node process that, for
 * every due time, publishes one 256-byte message to JetStream (no waiting between fires) and
 * records `ack time − due time`. `offsets` are the fire phases within each period (ms).
 * Returns all lateness samples (ms).
 */
export async function timerPublishLateness(
  url: string,
  prefix: string,
  opts: { offsets: readonly number[]; periodMs: number; ticks: number },
): Promise<number[]> {
  const nc = await connect({ servers: url, name: 'bench-timer-baseline' });
  try {
    const js = jetstream(nc, { timeout: 30_000 });
    const jsm = await jetstreamManager(nc);
    const stream = `${prefix.toUpperCase()}_TIMER`;
    await jsm.streams.add({ name: stream, subjects: [`${prefix}.t.>`], storage: StorageType.File });
    const payload = new Uint8Array(256).fill(120);
    const start = Math.ceil((Date.now() + 500) / opts.periodMs) * opts.periodMs;
    const due: number[] = [];
    for (let k = 0; k < opts.ticks; k++)
      for (const o of opts.offsets) due.push(start + k * opts.periodMs + o);
    due.sort((a, b) => a - b);
    const lateness: number[] = [];
    const pending: Promise<void>[] = [];
    let i = 0;
    await new Promise<void>((resolve) => {
      const step = () => {
        const now = Date.now();
        for (; i < due.length && (due[i] ?? Infinity) <= now; i++) {
          const d = due[i] ?? now;
          pending.push(
            js.publish(`${prefix}.t.${i % 16}`, payload).then(() => {
              lateness.push(Date.now() - d);
            }),
          );
        }
        const next = due[i];
        if (next === undefined) resolve();
        else setTimeout(step, Math.max(0, next - Date.now()));
      };
      step();
    });
    await Promise.all(pending);
    await jsm.streams.delete(stream);
    return lateness;
  } finally {
    await nc.close();
  }
}
