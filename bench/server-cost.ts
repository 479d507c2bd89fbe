/**
 * What nats-server spends on one event: appended as jetsched appends (a subject of its own, a
 * message id, an expected last subject sequence, a type header), then delivered to 0, 1 or 2
 * consumers that read everything (as a scheduler's fold does). Against a plain publish to one
 * subject. Prints the rate and the CPU per message of nats-server and of this process (which
 * publishes and consumes), medians of `runs`. The last variant is what batching a worker's reports
 * would cost: 32 reports' worth (about 120 B each) in one message on one subject, read by one
 * consumer, its costs also given per report.
 * Usage: node dist/bench/server-cost.js [messages=60000] [runs=3]
 */
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createJsPublisher, type PublishOptions } from '../src/events/publisher.js';
import { cpuMsOf } from './lib/cpu.js';
import { withNatsServer } from './lib/nats.js';
import { fmt, median, pipelined, sleep } from './lib/stats.js';

const messages = Number(process.argv[2] ?? 60_000);
const runs = Number(process.argv[3] ?? 3);
const payload = new Uint8Array(300).fill(97); // about the size of an InstanceStarted
const REPORTS_PER_MESSAGE = 32;
/** 32 reports of about 120 B (an instance id, its attempt and start time) in one envelope. */
const reportsPayload = new Uint8Array(150 + REPORTS_PER_MESSAGE * 120).fill(97);

interface Variant {
  name: string;
  subject: (stream: string, i: number) => string;
  options: (i: number) => PublishOptions;
  consumers: number;
  /** Instances whose state changes one message carries (default 1). */
  perMessage?: number;
}

const asEvent = {
  subject: (stream: string, i: number) => `${stream}.evt.0.inst.job~t-${i}`,
  options: (i: number): PublishOptions => ({
    msgId: `job~t-${i}:start:1`,
    expectedLastSubjectSeq: 0,
    headers: { 'Jetsched-Type': 'InstanceStarted' },
  }),
};
const variants: Variant[] = [
  {
    name: 'plain publish, one subject',
    subject: (s) => `${s}.a`,
    options: () => ({}),
    consumers: 0,
  },
  { name: 'event append', ...asEvent, consumers: 0 },
  {
    name: 'own subject, nothing else',
    subject: asEvent.subject,
    options: () => ({}),
    consumers: 0,
  },
  {
    name: 'own subject, message id',
    subject: asEvent.subject,
    options: (i) => ({ msgId: `job~t-${i}:start:1` }),
    consumers: 0,
  },
  {
    name: 'own subject, expected sequence',
    subject: asEvent.subject,
    options: () => ({ expectedLastSubjectSeq: 0 }),
    consumers: 0,
  },
  {
    name: 'event append without message id',
    subject: asEvent.subject,
    options: () => ({ expectedLastSubjectSeq: 0, headers: { 'Jetsched-Type': 'InstanceStarted' } }),
    consumers: 0,
  },
  { name: 'event append, read by 1 consumer', ...asEvent, consumers: 1 },
  { name: 'event append, read by 2 consumers', ...asEvent, consumers: 2 },
  {
    name: `${REPORTS_PER_MESSAGE} reports in one message, read by 1 consumer`,
    subject: (s) => `${s}.evt.0.reports.w0`,
    options: () => ({ headers: { 'Jetsched-Type': 'InstancesSucceeded' } }),
    consumers: 1,
    perMessage: REPORTS_PER_MESSAGE,
  },
];

await withNatsServer(async (server) => {
  const nc = await connect({ servers: server.url, noAsyncTraces: true });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const publisher = createJsPublisher(nc, { timeoutMs: 30_000 });
  const results = new Map<
    string,
    { rate: number[]; server: number[]; client: number[]; per: number }
  >();
  let k = 0;
  for (let run = 1; run <= runs; run++) {
    for (const v of variants) {
      const stream = `COST${k++}`;
      await jsm.streams.add({ name: stream, subjects: [`${stream}.>`], storage: 'file' });
      let delivered = 0;
      const reading = await Promise.all(
        Array.from({ length: v.consumers }, async () => {
          const c = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
          return c.consume({ callback: () => void delivered++ });
        }),
      );
      const s0 = cpuMsOf(server.pid);
      const c0 = cpuMsOf(process.pid);
      const t0 = performance.now();
      await pipelined(messages, 1000, async (i) => {
        await publisher.publish(
          v.subject(stream, i),
          v.perMessage ? reportsPayload : payload,
          v.options(i),
        );
      });
      while (delivered < messages * v.consumers) await sleep(2);
      const seconds = (performance.now() - t0) / 1000;
      const r = results.get(v.name) ?? { rate: [], server: [], client: [], per: v.perMessage ?? 1 };
      r.rate.push(messages / seconds);
      r.server.push(((cpuMsOf(server.pid) - s0) * 1000) / messages);
      r.client.push(((cpuMsOf(process.pid) - c0) * 1000) / messages);
      results.set(v.name, r);
      for (const it of reading) await it.close();
      await jsm.streams.delete(stream);
    }
  }
  console.log(`${messages} messages of ${payload.length} B per run, ${runs} runs (medians):`);
  for (const [name, r] of results) {
    const perInstance =
      r.per > 1
        ? `; per instance: nats-server ${(median(r.server) / r.per).toFixed(2)} µs, this process ${(median(r.client) / r.per).toFixed(2)} µs`
        : '';
    console.log(
      `  ${name.padEnd(44)} ${fmt(median(r.rate)).padStart(7)} msgs/s  nats-server ${median(r.server).toFixed(1)} µs/msg  this process ${median(r.client).toFixed(1)} µs/msg${perInstance}`,
    );
  }
  await nc.close();
});
