/**
 * One BullMQ worker process of the throughput suite's BullMQ baseline (bench/lib/bullmq.ts): a
 * Worker on the bench queue with a no-op processor, BullMQ's defaults otherwise (completed jobs
 * kept). Config in BENCH_BULLMQ_CONFIG (JSON). Speaks the IPC of bench/sut.ts
 * (bench/lib/sut.ts, forkBenchChild): `ready`; `completed` answered with the jobs this worker has
 * completed (its 'completed' event: the job moved to the completed set); `stop` → `stopped`.
 */
import { Worker } from 'bullmq';
import { benchLogger } from './lib/nats.js';

export interface BullmqWorkerConfig {
  host: string;
  port: number;
  queue: string;
  concurrency: number;
  index: number;
}
export interface BullmqWorkerStats {
  completed: number;
  failed: number;
}

const cfg = JSON.parse(process.env['BENCH_BULLMQ_CONFIG'] ?? '{}') as BullmqWorkerConfig;
const log = benchLogger().child({ workerId: `bullmq-${cfg.index}` });
let completed = 0;
let failed = 0;
const worker = new Worker(cfg.queue, async () => {}, {
  connection: { host: cfg.host, port: cfg.port },
  concurrency: cfg.concurrency,
});
worker.on('completed', () => completed++);
worker.on('failed', (job, err) => {
  failed++;
  log.error({ err, jobId: job?.id }, 'BullMQ job failed');
});
worker.on('error', (err) => log.error({ err }, 'BullMQ worker error'));
await worker.waitUntilReady();

// The harness is gone (crashed or killed): do not linger.
process.on('disconnect', () => process.exit(1));
process.send?.({ type: 'ready' });

process.on('message', (m: { type?: string; id?: number }) => {
  if (m.type === 'completed') process.send?.({ type: 'completed', id: m.id, completed });
  if (m.type !== 'stop') return;
  void (async () => {
    await worker.close();
    const stats: BullmqWorkerStats = { completed, failed };
    process.send?.({ type: 'stopped', stats }, () => process.exit(0));
  })();
});
