/**
 * The system under test, run as a child process by the harness (`fork`, IPC): one scheduler with
 * its command endpoint (startServer) and two workers of group "bench" with a no-op processor, each
 * on its own connection, all in this one Node process. Config in BENCH_SUT_CONFIG (JSON).
 * Answers `{type:'ready'}` once started; on `{type:'stop'}` drains the workers, stops the server
 * and answers `{type:'stopped', stats}` before exiting (so that --cpu-prof is written).
 */
import { openRuntime, type Runtime } from '../src/services/runtime.js';
import { startServer } from '../src/services/server.js';
import { createWorker, type Worker } from '../src/services/worker/index.js';
import { benchLogger } from './lib/nats.js';

export interface SutConfig {
  url: string;
  prefix: string;
  schedulerId: string;
  workers: number;
  workerConcurrency: number;
}

export interface SutStats {
  scheduler: {
    fires: number;
    dispatches: number;
    conflicts: number;
    errors: number;
    agenda: number;
  };
  workers: { completed: number; skipped: number; refusedReports: number }[];
}

const cfg = JSON.parse(process.env['BENCH_SUT_CONFIG'] ?? '{}') as SutConfig;
const log = benchLogger();
const open = (name: string) =>
  openRuntime({ nats: { servers: cfg.url, name }, prefix: cfg.prefix, log });

const runtimes: Runtime[] = [];
const serverRt = await open('bench-sut-scheduler');
runtimes.push(serverRt);
const server = await startServer({ runtime: serverRt, schedulerId: cfg.schedulerId, log });
const workers: Worker[] = [];
for (let i = 0; i < cfg.workers; i++) {
  const rt = await open(`bench-sut-worker-${i}`);
  runtimes.push(rt);
  const w = createWorker({
    runtime: rt,
    group: 'bench',
    processors: { noop: async () => undefined },
    workerId: `${cfg.schedulerId}-w${i}`,
    concurrency: cfg.workerConcurrency,
    log,
  });
  await w.start();
  workers.push(w);
}
// The harness is gone (crashed or killed): do not linger.
process.on('disconnect', () => process.exit(1));
process.send?.({ type: 'ready' });

process.on('message', (m: { type?: string }) => {
  if (m.type !== 'stop') return;
  void (async () => {
    await Promise.all(workers.map((w) => w.drain()));
    const stats: SutStats = {
      scheduler: server.scheduler.stats(),
      workers: workers.map((w) => {
        const s = w.stats();
        return { completed: s.completed, skipped: s.skipped, refusedReports: s.refusedReports };
      }),
    };
    await server.stop();
    for (const rt of runtimes) await rt.close();
    process.send?.({ type: 'stopped', stats }, () => process.exit(0));
  })();
});
