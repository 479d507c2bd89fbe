/**
 * Benchmark sizes. `BENCH_QUICK=1` runs a smoke-sized version (one trial each, about 7 minutes);
 * `BENCH_TRIALS=n` overrides the number of trials (default 3, quick 1).
 */
export interface BenchConfig {
  quick: boolean;
  trials: number;
  publish: { messages: number; bytes: number; window: number };
  throughput: {
    /** Instances per trial when triggers are appended straight to the stream. */
    directInstances: number;
    /** Instances per trial through TriggerJob commands (request-reply to the server). */
    commandInstances: number;
    /** Manual jobs the triggers are spread over. */
    jobs: number;
    /** Instances per trial for the variant with a single manual job. */
    singleJobInstances: number;
    /** TriggerJob requests in flight. */
    commandWindow: number;
    /** Triggers per TriggerJobs command (the bulk variant, `directInstances` instances). */
    bulkSize: number;
    /** TriggerJobs requests in flight. */
    bulkWindow: number;
    workerConcurrency: number;
    /**
     * Instances run through each variant's fresh processes before its timed instances (same mode,
     * same jobs), not timed: the timed rate is the steady state's, not the start-up's.
     */
    warmupInstances: number;
    /**
     * The BullMQ baseline (bench/lib/bullmq.ts), on a redis-server without persistence, jobs added
     * the way the best path sends its triggers: measured once per count of worker processes in
     * `workers`, each worker with `concurrency`.
     */
    bullmq: { workers: number[]; concurrency: number };
  };
  precision: {
    everySecondJobs: number;
    everySecondRunMs: number;
    cronJobs: number;
    cronRunMs: number;
    registerWindow: number;
  };
  scale: {
    jobs: number;
    registerWindow: number;
    /** How long the server idles after registering before its RSS counts as "holding" the jobs. */
    idleMs: number;
  };
  takeover: {
    trials: number;
    /** Jobs of the idle variant. */
    jobs: number;
    /** The loaded variant: jobs `every: 1s`, killed this long after the victim's snapshots. */
    loaded: { jobs: number; killAfterSnapshotMs: number };
  };
  rebuild: { events: number; snapshotInstances: number };
  latency: {
    /** TriggerJob calls per second, each rate run in turn by the same processes. */
    rates: number[];
    /** How long each rate runs. */
    runMs: number;
    /** Instances the fresh processes run at full speed first, not measured. */
    warmupInstances: number;
  };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): BenchConfig {
  const quick = env['BENCH_QUICK'] === '1';
  const trials = Number(env['BENCH_TRIALS'] ?? (quick ? 1 : 3));
  if (!Number.isInteger(trials) || trials < 1)
    throw new Error('BENCH_TRIALS must be an integer ≥ 1');
  return quick
    ? {
        quick,
        trials,
        publish: { messages: 20_000, bytes: 256, window: 1000 },
        throughput: {
          directInstances: 2000,
          commandInstances: 500,
          jobs: 50,
          singleJobInstances: 300,
          commandWindow: 50,
          bulkSize: 100,
          bulkWindow: 4,
          workerConcurrency: 64,
          warmupInstances: 500,
          bullmq: { workers: [1, 2], concurrency: 50 },
        },
        precision: {
          everySecondJobs: 100,
          everySecondRunMs: 5000,
          cronJobs: 500,
          cronRunMs: 12_000,
          registerWindow: 100,
        },
        scale: { jobs: 2000, registerWindow: 200, idleMs: 10_000 },
        takeover: { trials: 1, jobs: 64, loaded: { jobs: 200, killAfterSnapshotMs: 5000 } },
        rebuild: { events: 40_000, snapshotInstances: 5000 },
        latency: { rates: [200, 1000], runMs: 2000, warmupInstances: 500 },
      }
    : {
        quick,
        trials,
        publish: { messages: 100_000, bytes: 256, window: 1000 },
        throughput: {
          directInstances: 40_000,
          commandInstances: 12_000,
          jobs: 100,
          singleJobInstances: 8000,
          commandWindow: 100,
          bulkSize: 100,
          bulkWindow: 4,
          workerConcurrency: 64,
          warmupInstances: 20_000,
          bullmq: { workers: [1, 2], concurrency: 50 },
        },
        precision: {
          everySecondJobs: 1000,
          everySecondRunMs: 20_000,
          cronJobs: 10_000,
          cronRunMs: 40_000,
          registerWindow: 200,
        },
        scale: { jobs: 100_000, registerWindow: 200, idleMs: 120_000 },
        takeover: { trials: 5, jobs: 160, loaded: { jobs: 1000, killAfterSnapshotMs: 27_000 } },
        rebuild: { events: 1_000_000, snapshotInstances: 100_000 },
        latency: { rates: [100, 1000, 5000], runMs: 10_000, warmupInstances: 20_000 },
      };
}
