import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { BullmqWorkerConfig, BullmqWorkerStats } from '../bullmq-worker.js';
import type { BenchConfig } from './config.js';
import { findRedisServer, withRedisServer, type RedisServer } from './redis.js';
import { packageVersion } from './environment.js';
import { completedAt, forkBenchChild, type BenchChild } from './sut.js';
import { fmt, pipelined, sleep, spread, type Spread } from './stats.js';
import { paced } from './paced.js';

const WORKER_MODULE = fileURLToPath(new URL('../bullmq-worker.js', import.meta.url));
const QUEUE = 'bench';

/**
 * What a suite needs to measure BullMQ: the redis-server to run (undefined when none was found or
 * installed: `note` is told why, and the suite leaves its BullMQ rows empty) and BullMQ's version.
 */
export async function bullmqSetup(
  note: (line: string) => void,
): Promise<{ redis?: { bin: string; version: string }; version: string }> {
  const version = await packageVersion('bullmq');
  try {
    return { redis: await findRedisServer(), version };
  } catch (err) {
    note(`BullMQ not measured: ${err instanceof Error ? err.message : String(err)}`);
    return { version };
  }
}

/** Forks `count` BullMQ worker processes on the bench queue into `into` (so a caller stops them). */
async function startWorkers(
  into: BenchChild<BullmqWorkerStats>[],
  redis: RedisServer,
  count: number,
  concurrency: number,
  timing?: BullmqWorkerConfig['timing'],
): Promise<void> {
  for (let index = 0; index < count; index++) {
    const config: BullmqWorkerConfig = { ...redis, queue: QUEUE, concurrency, index, timing };
    into.push(
      await forkBenchChild(
        WORKER_MODULE,
        'BENCH_BULLMQ_CONFIG',
        config,
        `BullMQ worker ${index}`,
        `bullmq-${process.pid}-${index}`,
      ),
    );
  }
}

/** BullMQ as a suite measures it: a queue, and worker processes counted and stopped as one. */
interface Bullmq {
  queue: Queue;
  /** Jobs the workers have completed, summed (for completedAt). */
  completed: () => Promise<number>;
  /** Stops the workers (each finishes its active jobs) and resolves with what each counted. */
  stop: () => Promise<BullmqWorkerStats[]>;
}

/**
 * Runs `fn` on a fresh redis-server without persistence with `w.count` BullMQ worker processes
 * (concurrency `w.concurrency`, `w.timing` as bench/bullmq-worker.ts takes it) and a queue of
 * this process; stops what is left of them afterwards.
 */
async function withBullmq<T>(
  redisBin: string,
  w: { count: number; concurrency: number; timing?: BullmqWorkerConfig['timing'] },
  fn: (b: Bullmq) => Promise<T>,
): Promise<T> {
  return withRedisServer(redisBin, async (redis) => {
    const workers: BenchChild<BullmqWorkerStats>[] = [];
    const queue = new Queue(QUEUE, { connection: redis });
    try {
      await startWorkers(workers, redis, w.count, w.concurrency, w.timing);
      return await fn({
        queue,
        completed: async () =>
          (await Promise.all(workers.map((x) => x.completed()))).reduce((n, m) => n + m, 0),
        stop: () => Promise.all(workers.splice(0).map((x) => x.stop())),
      });
    } finally {
      await Promise.allSettled(workers.map((x) => x.stop()));
      await queue.close();
    }
  });
}

export interface BullmqResult {
  /** Jobs per second, first timed job added to the workers' last completion. */
  rate: number;
  note: string;
}

type Cfg = Pick<
  BenchConfig['throughput'],
  'bulkSize' | 'bulkWindow' | 'warmupInstances' | 'bullmq'
>;

/** Adds `count` no-op jobs with `addBulk` calls of `bulkSize`, `bulkWindow` in flight. */
async function addJobs(queue: Queue, cfg: Cfg, count: number, tag: string): Promise<void> {
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
 * no-op processor) and this process adding the jobs with `addBulk` (the shape of our best path);
 * `cfg.warmupInstances` jobs first, not timed, then `instances` timed, from the first timed add to
 * the workers' last completion. Checked afterwards: every job completed, none failed.
 */
export async function bullmqTrial(
  redisBin: string,
  cfg: Cfg,
  workerCount: number,
  instances: number,
): Promise<BullmqResult> {
  return withBullmq(
    redisBin,
    { count: workerCount, concurrency: cfg.bullmq.concurrency },
    async (all) => {
      const queue = all.queue;
      const total = cfg.warmupInstances + instances;
      const timeoutMs = Math.max(60_000, (total / 100) * 1000);
      const w0 = performance.now();
      await addJobs(queue, cfg, cfg.warmupInstances, 'w');
      const warmupMs = (await completedAt(all, cfg.warmupInstances, timeoutMs)) - w0;
      const t0 = performance.now();
      await addJobs(queue, cfg, instances, 'b');
      const tSent = performance.now();
      const tDone = await completedAt(all, total, timeoutMs);
      const counts = await queue.getJobCounts('completed', 'failed', 'wait', 'active');
      const rate = instances / ((tDone - t0) / 1000);
      const stats = await all.stop();
      const failed = stats.reduce((n, s) => n + s.failed, 0);
      if (counts['completed'] !== total || failed > 0)
        throw new Error(
          `BullMQ: ${counts['completed']} of ${total} jobs completed, ${failed} failed (${JSON.stringify(counts)})`,
        );
      const note = `BullMQ addBulk, ${workerCount} worker(s) of concurrency ${cfg.bullmq.concurrency}, ${cfg.warmupInstances} warm-up jobs at ${fmt(cfg.warmupInstances / (warmupMs / 1000))}/s (not timed), then ${instances} jobs: ${fmt(rate)} jobs/s end to end, added at ${fmt(instances / ((tSent - t0) / 1000))}/s; completed per worker ${stats.map((s) => s.completed).join('+')}; in Redis: ${counts['completed']} completed, 0 failed`;
      return { rate, note };
    },
  );
}

/** A precision scenario run on BullMQ's job schedulers, as the precision suite runs ours. */
export interface BullmqSchedulerScenario {
  /** Job schedulers registered (upsertJobScheduler), one per job of ours. */
  jobs: number;
  /** Their repeat options: `every` (ms, from registration, as our `every`) or a cron `pattern`. */
  repeat: { every: number } | { pattern: string };
  periodMs: number;
  /** From the last registration to the window's start. */
  windowAfterMs: number;
  runMs: number;
  /** upsertJobScheduler calls in flight while registering. */
  registerWindow: number;
  workers: number;
  concurrency: number;
}

export interface BullmqSchedulerResult {
  /** Start lateness (processor began − slot, ms) of each job whose slot is in the window. */
  start: number[];
  /** Slots in the window, from each scheduler's first slot on its period. */
  expected: number;
  /** Slots of the window no processor began (by the time the workers were stopped). */
  missing: number;
  /** Slots of the window begun more than once. */
  duplicated: number;
  /** Schedulers whose processor never began a job (their slots are not in `expected`). */
  silent: number;
  registerRate: number;
}

/**
 * BullMQ's job schedulers timed the way the precision suite times our jobs: a fresh redis-server
 * without persistence, `s.workers` worker processes noting when their processor began each job,
 * `s.jobs` schedulers registered from this process; the window is `s.runMs` from `s.windowAfterMs`
 * after the last registration; the workers are stopped a period and 5 s after it, so a start
 * later than that counts as missing.
 */
export async function bullmqSchedulerLateness(
  redisBin: string,
  s: BullmqSchedulerScenario,
): Promise<BullmqSchedulerResult> {
  return withBullmq(
    redisBin,
    { count: s.workers, concurrency: s.concurrency, timing: 'slot' },
    async ({ queue, stop }) => {
      const r0 = performance.now();
      await pipelined(s.jobs, s.registerWindow, async (i) => {
        await queue.upsertJobScheduler(`s${i}`, s.repeat, { name: 'tick' });
      });
      const registerRate = s.jobs / ((performance.now() - r0) / 1000);
      const from = Date.now() + s.windowAfterMs;
      const to = from + s.runMs;
      await sleep(to + s.periodMs + 5000 - Date.now());
      const stats = await stop();
      const failed = stats.reduce((n, x) => n + x.failed, 0);
      if (failed > 0) throw new Error(`BullMQ: ${failed} scheduled jobs failed`);
      const firstSlot = new Map<string, number>();
      const seen = new Set<string>();
      const start: number[] = [];
      let duplicated = 0;
      for (const [scheduler, slot, late] of stats.flatMap((x) => x.starts)) {
        firstSlot.set(scheduler, Math.min(slot, firstSlot.get(scheduler) ?? Infinity));
        if (slot < from || slot >= to) continue;
        const key = `${scheduler}@${slot}`;
        if (seen.has(key)) duplicated++;
        else start.push(late);
        seen.add(key);
      }
      let expected = 0;
      for (const first of firstSlot.values()) {
        const k0 = Math.max(0, Math.ceil((from - first) / s.periodMs));
        for (let t = first + k0 * s.periodMs; t < to; t += s.periodMs) expected++;
      }
      return {
        start,
        expected,
        missing: expected - seen.size,
        duplicated,
        silent: s.jobs - firstSlot.size,
        registerRate,
      };
    },
  );
}

/** What one rate of the latency suite measured on BullMQ (ms). */
export interface BullmqRateResult {
  /** add called → its processor began. */
  began: Spread;
  /** add called → add resolved (the job is in Redis). */
  answered: Spread;
  note: string;
}

/**
 * BullMQ timed the way the latency suite times our TriggerJob calls: a fresh redis-server without
 * persistence, `workers` worker processes (concurrency `concurrency`, no-op processor) noting
 * when their processor began each job; first `warmup` jobs added with addBulk as fast as they go
 * (not measured), then each rate in turn for `runMs`: `Queue.add` calls at that rate, each with its
 * call time (Date.now()) in the job's data, as our calls carry theirs in their params.
 */
export async function bullmqLatency(
  redisBin: string,
  o: {
    rates: number[];
    runMs: number;
    warmup: Cfg;
    workers: number;
    concurrency: number;
  },
): Promise<BullmqRateResult[]> {
  return withBullmq(
    redisBin,
    { count: o.workers, concurrency: o.concurrency, timing: 'sentAt' },
    async (all) => {
      const queue = all.queue;
      await addJobs(queue, o.warmup, o.warmup.warmupInstances, 'w');
      let done = o.warmup.warmupInstances;
      await completedAt(all, done, 120_000);
      const answered = new Map<number, number[]>();
      for (const rate of o.rates) {
        const count = Math.round((rate * o.runMs) / 1000);
        const waits: number[] = [];
        const calls: Promise<void>[] = [];
        await paced(count, rate, () => {
          const t = performance.now();
          calls.push(
            queue
              .add('noop', { sentAtMs: Date.now(), tag: String(rate) })
              .then(() => void waits.push(performance.now() - t)),
          );
        });
        await Promise.all(calls);
        done += count;
        await completedAt(all, done, 60_000);
        answered.set(rate, waits);
      }
      const stats = await all.stop();
      const failed = stats.reduce((n, x) => n + x.failed, 0);
      if (failed > 0) throw new Error(`BullMQ: ${failed} jobs failed`);
      const starts = stats.flatMap((x) => x.starts);
      return o.rates.map((rate) => {
        const began = starts.filter(([tag]) => tag === String(rate)).map(([, , late]) => late);
        const b = spread(began);
        const a = spread(answered.get(rate) ?? []);
        return {
          began: b,
          answered: a,
          note: `BullMQ, ${fmt(rate)} add calls/s: ${began.length} jobs began; add → run began p50 ${fmt(b.p50)} p99 ${fmt(b.p99)} max ${fmt(b.max)} ms, → add resolved p99 ${fmt(a.p99)} ms`,
        };
      });
    },
  );
}
