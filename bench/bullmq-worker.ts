/**
 * One BullMQ worker process of the BullMQ baselines (bench/lib/bullmq.ts): a Worker on the bench
 * queue with a no-op processor, BullMQ's defaults otherwise (completed jobs kept). With `timing`,
 * the processor first notes how late it began each job: with `slot`, against the intended time of
 * a job scheduler's job (the slot BullMQ puts in its id, `repeat:<scheduler>:<ms>`); with
 * `sentAt`, against the `sentAtMs` in the job's data (when the producer called add).
 * Config in BENCH_BULLMQ_CONFIG (JSON). Speaks the IPC of bench/sut.ts
 * (bench/lib/sut.ts, forkBenchChild): `ready`; `completed` answered with the jobs this worker has
 * completed (its 'completed' event: the job moved to the completed set); `stop` → `stopped`.
 */
import { Worker, type Job } from 'bullmq';
import { benchLogger } from './lib/nats.js';

export interface BullmqWorkerConfig {
  host: string;
  port: number;
  queue: string;
  concurrency: number;
  index: number;
  /** Note when each job began against its slot (precision) or its add call (latency). */
  timing?: 'slot' | 'sentAt';
}
/**
 * A job as its processor began it: the scheduler's id (`slot`) or the job data's `tag` (`sentAt`),
 * the time it was meant for or added at (ms), and how long after that it began (ms).
 */
export type BullmqStart = [key: string, refMs: number, lateMs: number];
export interface BullmqWorkerStats {
  completed: number;
  failed: number;
  /** With `timing`: every job this worker began. */
  starts: BullmqStart[];
}

const cfg = JSON.parse(process.env['BENCH_BULLMQ_CONFIG'] ?? '{}') as BullmqWorkerConfig;
const log = benchLogger().child({ workerId: `bullmq-${cfg.index}` });
let completed = 0;
let failed = 0;
const starts: BullmqStart[] = [];
const worker = new Worker(
  cfg.queue,
  cfg.timing === 'slot'
    ? async (job) => {
        const now = Date.now();
        const id = job.id ?? '';
        const slot = Number(id.slice(id.lastIndexOf(':') + 1));
        starts.push([job.repeatJobKey ?? id, slot, now - slot]);
      }
    : cfg.timing === 'sentAt'
      ? async (job: Job<{ sentAtMs: number; tag: string }>) => {
          const now = Date.now();
          starts.push([job.data.tag, job.data.sentAtMs, now - job.data.sentAtMs]);
        }
      : async () => {},
  {
    connection: { host: cfg.host, port: cfg.port },
    concurrency: cfg.concurrency,
  },
);
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
    const stats: BullmqWorkerStats = { completed, failed, starts };
    process.send?.({ type: 'stopped', stats }, () => process.exit(0));
  })();
});
