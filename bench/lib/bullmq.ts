import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { BullmqWorkerConfig, BullmqWorkerStats } from '../bullmq-worker.js';
import type { BenchConfig } from './config.js';
import { withRedisServer } from './redis.js';
import { completedAt, forkBenchChild, type BenchChild } from './sut.js';
import { fmt, pipelined } from './stats.js';

const WORKER_MODULE = fileURLToPath(new URL('../bullmq-worker.js', import.meta.url));

/**
 * How the producer adds the jobs: `addBulk` calls of `bulkSize` jobs, `bulkWindow` in flight (the
 * shape of our TriggerJobs commands), or one `add` per job, `commandWindow` in flight (the shape
 * of our TriggerJob calls).
 */
export type BullmqMode = 'addBulk' | 'add';

export interface BullmqResult {
  /** Jobs per second, first timed job added to the workers' last completion. */
  rate: number;
  note: string;
}

type Cfg = Pick<
  BenchConfig['throughput'],
  'bulkSize' | 'bulkWindow' | 'commandWindow' | 'warmupInstances' | 'bullmq'
>;

async function addJobs(queue: Queue, cfg: Cfg, mode: BullmqMode, count: number, tag: string) {
  if (mode === 'add') {
    await pipelined(count, cfg.commandWindow, async (i) => {
      await queue.add('noop', { n: `${tag}${i}` });
    });
    return;
  }
  await pipelined(Math.ceil(count / cfg.bulkSize), cfg.bulkWindow, async (k) => {
    const jobs = [];
    for (let i = k * cfg.bulkSize; i < Math.min(count, (k + 1) * cfg.bulkSize); i++)
      jobs.push({ name: 'noop', data: { n: `${tag}${i}` } });
    await queue.addBulk(jobs);
  });
}

/**
 * BullMQ measured end to end the way the throughput suite measures jetsched: a fresh redis-server
 * without persistence, `workerCount` worker processes (concurrency `cfg.bullmq.concurrency` each,
 * no-op processor) and this process adding the jobs;
 * `cfg.warmupInstances` jobs first, not timed, then `instances` timed, from the first timed add to
 * the workers' last completion. Checked afterwards: every job completed, none failed.
 */
export async function bullmqTrial(
  redisBin: string,
  cfg: Cfg,
  mode: BullmqMode,
  workerCount: number,
  instances: number,
): Promise<BullmqResult> {
  return withRedisServer(redisBin, async (redis) => {
    const name = 'bench';
    const workers: BenchChild<BullmqWorkerStats>[] = [];
    const queue = new Queue(name, { connection: { host: redis.host, port: redis.port } });
    try {
      for (let index = 0; index < workerCount; index++) {
        const config: BullmqWorkerConfig = {
          host: redis.host,
          port: redis.port,
          queue: name,
          concurrency: cfg.bullmq.concurrency,
          index,
        };
        workers.push(
          await forkBenchChild(
            WORKER_MODULE,
            'BENCH_BULLMQ_CONFIG',
            config,
            `BullMQ worker ${index}`,
            `bullmq-${process.pid}-${index}`,
          ),
        );
      }
      const all = {
        completed: async () =>
          (await Promise.all(workers.map((w) => w.completed()))).reduce((a, b) => a + b, 0),
      };
      const total = cfg.warmupInstances + instances;
      const timeoutMs = Math.max(60_000, (total / 100) * 1000);
      const w0 = performance.now();
      await addJobs(queue, cfg, mode, cfg.warmupInstances, 'w');
      const warmupMs = (await completedAt(all, cfg.warmupInstances, timeoutMs)) - w0;
      const t0 = performance.now();
      await addJobs(queue, cfg, mode, instances, 'b');
      const tSent = performance.now();
      const tDone = await completedAt(all, total, timeoutMs);
      const counts = await queue.getJobCounts('completed', 'failed', 'wait', 'active');
      const rate = instances / ((tDone - t0) / 1000);
      const stats = await Promise.all(workers.splice(0).map((w) => w.stop()));
      const failed = stats.reduce((n, s) => n + s.failed, 0);
      if (counts['completed'] !== total || failed > 0)
        throw new Error(
          `BullMQ: ${counts['completed']} of ${total} jobs completed, ${failed} failed (${JSON.stringify(counts)})`,
        );
      const note = `BullMQ ${mode}, ${workerCount} worker(s) of concurrency ${cfg.bullmq.concurrency}, ${cfg.warmupInstances} warm-up jobs at ${fmt(cfg.warmupInstances / (warmupMs / 1000))}/s (not timed), then ${instances} jobs: ${fmt(rate)} jobs/s end to end, added at ${fmt(instances / ((tSent - t0) / 1000))}/s; completed per worker ${stats.map((s) => s.completed).join('+')}; in Redis: ${counts['completed']} completed, 0 failed`;
      return { rate, note };
    } finally {
      await Promise.allSettled(workers.map((w) => w.stop()));
      await queue.close();
    }
  });
}
