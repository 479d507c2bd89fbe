/**
 * Ways of reading a whole event stream back, each counted only (no decoding), with the CPU that
 * this process and nats-server spent per message: what a rebuild's read could cost at best.
 * Usage: node dist/bench/read.js [events=1000000] [runs=3]
 */
import { cpuMsOf } from './lib/cpu.js';
import { DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { lastStreamSeq, openBenchRuntime, uniquePrefix, withNatsServer } from './lib/nats.js';
import { writeDataset } from './lib/dataset.js';
import { readCounted } from './lib/raw-read.js';
import type { Runtime } from '../src/services/runtime.js';
import { fmt } from './lib/stats.js';

const count = Number(process.argv[2] ?? 1_000_000);
const runs = Number(process.argv[3] ?? 3);

/** Counts what a consumer started with `consume` delivers in callback mode, up to `end`. */
async function countDelivered(
  consume: (callback: (m: JsMsg) => void) => Promise<ConsumerMessages>,
  end: number,
): Promise<number> {
  let n = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const messages = await consume((m) => {
    n++;
    if (m.seq >= end) done();
  });
  await finished;
  await messages.close();
  return n;
}

/** The client's ordered (pull) consumer, as the projection runner reads. */
async function orderedPull(rt: Runtime, end: number): Promise<number> {
  const consumer = await rt.js.consumers.get(rt.names.eventStream, {
    deliver_policy: DeliverPolicy.All,
  });
  return countDelivered((callback) => consumer.consume({ max_messages: 2048, callback }), end);
}

/** The client's ordered push consumer (flow control, heartbeats, gap recovery). */
async function orderedPush(rt: Runtime, end: number): Promise<number> {
  const consumer = await rt.js.consumers.getPushConsumer(rt.names.eventStream, {
    deliver_policy: DeliverPolicy.All,
  });
  return countDelivered((callback) => consumer.consume({ callback }), end);
}

/** Batched direct gets (nats-server 2.11+), `batch` messages per request. */
async function directBatches(rt: Runtime, end: number, batch: number): Promise<number> {
  let n = 0;
  let seq = 1;
  while (seq <= end) {
    let last = seq - 1;
    await new Promise<void>((resolve, reject) => {
      rt.jsm.direct
        .getBatch(rt.names.eventStream, {
          seq,
          batch,
          callback: (d, m) => {
            if (d) {
              if (d.err) reject(d.err);
              else resolve();
              return;
            }
            n++;
            last = m.seq;
          },
        })
        .catch(reject);
    });
    seq = last + 1;
  }
  return n;
}

await withNatsServer(async (server) => {
  const rt = await openBenchRuntime(server.url, uniquePrefix('read'), 'bench-read');
  try {
    await writeDataset(rt.js, rt.names, rt.partitions, {
      events: count,
      hotInstances: 100_000,
      window: 1000,
    });
    const end = await lastStreamSeq(rt.jsm, rt.names.eventStream);
    const ways: [string, () => Promise<number>][] = [
      ['ordered consumer, callback', () => orderedPull(rt, end)],
      ['ordered push consumer, callback', () => orderedPush(rt, end)],
      ['readOrdered (push consumer, plain subscription)', () => readCounted(rt, end)],
      ['direct get, batches of 10,000', () => directBatches(rt, end, 10_000)],
    ];
    for (let run = 1; run <= runs; run++) {
      for (const [name, read] of ways) {
        const s0 = cpuMsOf(server.pid);
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        const n = await read();
        const ms = performance.now() - t0;
        const c = process.cpuUsage(c0);
        const selfUs = (c.user + c.system) / n;
        const serverUs = ((cpuMsOf(server.pid) - s0) * 1000) / n;
        console.log(
          `run ${run}: ${name}: ${n.toLocaleString('en-US')} in ${fmt(ms / 1000)} s = ${fmt(n / (ms / 1000))}/s; CPU per message: client ${fmt(selfUs)} µs, server ${fmt(serverUs)} µs`,
        );
      }
    }
  } finally {
    await rt.close();
  }
});
