/**
 * One process of the system under test, forked by the harness (bench/lib/sut.ts, IPC).
 * Role `scheduler`: one scheduler with its command endpoint (startServer). Role `worker`: one
 * worker of group "bench" with a no-op processor. As deployed, each runs in its own Node process
 * (each on its own connection). Config in BENCH_SUT_CONFIG (JSON).
 * Answers `{type:'ready'}` once started; on `{type:'stop'}` drains / stops and answers
 * `{type:'stopped', stats}` before exiting (so that --cpu-prof is written).
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { openRuntime } from '../src/services/runtime.js';
import { startServer } from '../src/services/server.js';
import { createWorker } from '../src/services/worker/index.js';
import { benchLogger } from './lib/nats.js';
import { startAllocSampling } from './lib/alloc-sampling.js';

export interface SutConfig {
  url: string;
  prefix: string;
  schedulerId: string;
  workers: number;
  workerConcurrency: number;
  /** The scheduler's fireAheadMs; unset: its default. */
  fireAheadMs?: number;
  /** The scheduler's maxFireAheadMs; unset: its default. */
  maxFireAheadMs?: number;
  /** The workers' claimAheadMs; unset: their default. */
  claimAheadMs?: number;
  /** Watch the workers' event loops too (a 5 ms timer and a GC observer each); the scheduler's always is. */
  monitorWorkers?: boolean;
}

export interface SutProcessConfig extends SutConfig {
  role: 'scheduler' | 'worker';
  /** For role `worker`: its index. */
  index?: number;
}

/** How a process's event loop fared while it ran, and what its NATS connection carried. */
export interface LoopStats {
  /** Messages this process's connection sent and received (protocol messages, acks included). */
  messages?: { out: number; in: number };
  /** Event loop delay, ms. */
  loopDelayMs?: { p50: number; p99: number; max: number };
  /** Garbage collections: how many, their total and longest pause (ms). */
  gc?: { count: number; totalMs: number; maxMs: number; over10ms: number };
}
export interface SchedulerStats extends LoopStats {
  fires: number;
  dispatches: number;
  conflicts: number;
  errors: number;
  agenda: number;
}
export interface WorkerStats extends LoopStats {
  completed: number;
  skipped: number;
  refusedReports: number;
  /** Tasks of a message of several handed on to the group (more than the worker took on). */
  handedOn: number;
}
export interface SutStats {
  scheduler: SchedulerStats;
  workers: WorkerStats[];
}
export type SutProcessStats =
  { role: 'scheduler'; scheduler: SchedulerStats } | { role: 'worker'; worker: WorkerStats };

const cfg = JSON.parse(process.env['BENCH_SUT_CONFIG'] ?? '{}') as SutProcessConfig;
const log = benchLogger();
const rt = await openRuntime({
  nats: { servers: cfg.url, name: `bench-sut-${cfg.role}-${cfg.index ?? 0}` },
  prefix: cfg.prefix,
  log,
});

/** Watches this process's event loop delay and GC pauses from now until `read()`. */
function monitorLoop(): { read(): LoopStats } {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const gc = { count: 0, totalMs: 0, maxMs: 0, over10ms: 0 };
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.totalMs += e.duration;
      gc.maxMs = Math.max(gc.maxMs, e.duration);
      if (e.duration > 10) gc.over10ms++;
      if (process.env['BENCH_GC_TRACE'] && e.duration > 10)
        console.error(
          'GC',
          // Where in a 10-s period the pause began (the cron scenarios tick at 0).
          `at ${Math.round((performance.timeOrigin + e.startTime) % 10_000)} ms of 10 s`,
          (e as { detail?: { kind?: number } }).detail?.kind,
          e.duration.toFixed(1),
          process.memoryUsage().heapUsed >> 20,
        );
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  return {
    read() {
      loop.disable();
      gcObserver.disconnect();
      const ms = (ns: number) => Math.round(ns / 1e5) / 10;
      return {
        loopDelayMs: {
          p50: ms(loop.percentile(50)),
          p99: ms(loop.percentile(99)),
          max: ms(loop.max),
        },
        gc: { ...gc, totalMs: Math.round(gc.totalMs), maxMs: Math.round(gc.maxMs) },
      };
    },
  };
}

/** Messages on this process's connection since it started the role. */
const messages = (() => {
  const at = rt.nc.stats();
  return () => {
    const now = rt.nc.stats();
    return { out: now.outMsgs - at.outMsgs, in: now.inMsgs - at.inMsgs };
  };
})();

/**
 * The no-op processor, also printing (BENCH_GC_TRACE) when in a 10-s period each burst of calls
 * began and ended, beside the GC lines: whether a pause fell within a tick's starts.
 */
function tracedNoop() {
  let burst: { first: number; last: number; n: number } | undefined;
  return async () => {
    const at = Date.now();
    if (burst && at - burst.last < 200) {
      burst.last = at;
      burst.n++;
      return;
    }
    if (burst)
      console.error(
        'CALLS',
        `from ${burst.first % 10_000} to ${burst.last % 10_000} ms of 10 s`,
        burst.n,
      );
    burst = { first: at, last: at, n: 1 };
  };
}

let stop: () => Promise<SutProcessStats>;
/** A worker's count of attempts whose outcome it recorded (see the harness's `completed()`). */
let completed = () => 0;
if (cfg.role === 'scheduler') {
  const server = await startServer({
    runtime: rt,
    schedulerId: cfg.schedulerId,
    log,
    ...(cfg.fireAheadMs !== undefined && { fireAheadMs: cfg.fireAheadMs }),
    ...(cfg.maxFireAheadMs !== undefined && { maxFireAheadMs: cfg.maxFireAheadMs }),
  });
  const monitor = monitorLoop();
  stop = async () => {
    const scheduler = { ...server.scheduler.stats(), ...monitor.read(), messages: messages() };
    await server.stop();
    return { role: 'scheduler', scheduler };
  };
} else {
  const w = createWorker({
    runtime: rt,
    group: 'bench',
    processors: { noop: process.env['BENCH_GC_TRACE'] ? tracedNoop() : async () => undefined },
    workerId: `${cfg.schedulerId}-w${cfg.index ?? 0}`,
    concurrency: cfg.workerConcurrency,
    ...(cfg.claimAheadMs !== undefined && { claimAheadMs: cfg.claimAheadMs }),
    log,
  });
  await w.start();
  completed = () => w.stats().completed;
  const monitor = cfg.monitorWorkers ? monitorLoop() : undefined;
  stop = async () => {
    const loop = monitor?.read();
    await w.drain();
    const s = w.stats();
    const carried = messages();
    return {
      role: 'worker',
      worker: {
        completed: s.completed,
        skipped: s.skipped,
        refusedReports: s.refusedReports,
        handedOn: s.handedOn,
        ...loop,
        messages: carried,
      },
    };
  };
}

const allocDir = process.env['BENCH_ALLOC_PROFILE'];
const liveAtMs = Number(process.env['BENCH_ALLOC_LIVE_AT_MS'] ?? 0);
if (allocDir && liveAtMs > 0) {
  const sampling = await startAllocSampling(allocDir, `${cfg.role}-${cfg.index ?? 0}`, {
    live: true,
  });
  setTimeout(() => {
    void sampling.stop().then((file) => log.info({ file }, 'live allocation profile written'));
  }, liveAtMs).unref();
} else if (allocDir) {
  const sampling = await startAllocSampling(allocDir, `${cfg.role}-${cfg.index ?? 0}`);
  const stopSut = stop;
  stop = async () => {
    const stats = await stopSut();
    log.info({ file: await sampling.stop() }, 'allocation profile written');
    return stats;
  };
}

// The harness is gone (crashed or killed): do not linger.
process.on('disconnect', () => process.exit(1));
process.send?.({ type: 'ready' });

process.on('message', (m: { type?: string; id?: number }) => {
  if (m.type === 'completed')
    process.send?.({ type: 'completed', id: m.id, completed: completed() });
  if (m.type !== 'stop') return;
  void (async () => {
    const stats = await stop();
    await rt.close();
    process.send?.({ type: 'stopped', stats }, () => process.exit(0));
  })();
});
