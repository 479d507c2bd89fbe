import { fork, type ChildProcess } from 'node:child_process';
import { openSync, mkdirSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SutConfig, SutProcessConfig, SutProcessStats, SutStats } from '../sut.js';

const SUT_MODULE = fileURLToPath(new URL('../sut.js', import.meta.url));
export const LOG_DIR = '.data/bench/logs';

export interface SutHandle {
  /** The scheduler's process id. */
  readonly pid: number;
  /** Every process of the system under test. */
  readonly processes: readonly { name: string; pid: number }[];
  /**
   * Attempts the workers have run and recorded the outcome of (its report acknowledged by the
   * stream), summed over the workers: asked over IPC, so that watching costs no NATS traffic.
   */
  completed(): Promise<number>;
  /** Graceful stop: drains the workers, then stops the scheduler; resolves with their counters. */
  stop(): Promise<SutStats>;
}

export interface BenchChild<S> {
  pid: number;
  /** A worker's count of recorded outcomes so far (0 for the scheduler). */
  completed(): Promise<number>;
  stop(): Promise<S>;
}

/**
 * Forks one benchmark child process: `module` runs with `config` as JSON in the environment
 * variable `configVar`, its output goes to LOG_DIR/<logName>.log, and it speaks this IPC: it sends
 * `{type:'ready'}` once started; answers `{type:'completed', id}` with its count of outcomes; on
 * `{type:'stop'}` stops and sends `{type:'stopped', stats}` before exiting. fork() passes this
 * process's execArgv on, so a harness run under `node --cpu-prof` profiles it too (its own file).
 */
export async function forkBenchChild<S>(
  module: string,
  configVar: string,
  config: object,
  label: string,
  logName: string,
): Promise<BenchChild<S>> {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFd = openSync(`${LOG_DIR}/${logName}.log`, 'a');
  const child: ChildProcess = fork(module, [], {
    env: { ...process.env, [configVar]: JSON.stringify(config) },
    stdio: ['ignore', logFd, logFd, 'ipc'],
  });
  closeSync(logFd);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  await new Promise<void>((resolve, reject) => {
    const onMsg = (m: { type?: string }) => {
      if (m.type === 'ready') {
        child.off('message', onMsg);
        resolve();
      }
    };
    child.on('message', onMsg);
    void exited.then((code) =>
      reject(
        new Error(
          `${label} exited (code ${code}) before it was ready; see ${LOG_DIR}/${logName}.log`,
        ),
      ),
    );
  });
  let asked = 0;
  return {
    pid: child.pid ?? -1,
    completed() {
      const id = ++asked;
      return new Promise<number>((resolve, reject) => {
        const onMsg = (m: { type?: string; id?: number; completed?: number }) => {
          if (m.type !== 'completed' || m.id !== id) return;
          child.off('message', onMsg);
          resolve(m.completed ?? 0);
        };
        child.on('message', onMsg);
        void exited.then((code) => reject(new Error(`${label} exited (code ${code})`)));
        child.send({ type: 'completed', id });
      });
    },
    async stop() {
      const stats = new Promise<S>((resolve, reject) => {
        child.on('message', (m: { type?: string; stats?: S }) => {
          if (m.type === 'stopped' && m.stats) resolve(m.stats);
        });
        void exited.then((code) =>
          reject(new Error(`${label} exited (code ${code}) while stopping`)),
        );
      });
      child.send({ type: 'stop' });
      const timeout = setTimeout(() => child.kill('SIGKILL'), 60_000);
      try {
        const s = await stats;
        await exited;
        return s;
      } finally {
        clearTimeout(timeout);
      }
    },
  };
}

/** Forks one process of the system under test (bench/sut.ts). */
function forkSut(cfg: SutProcessConfig, logName: string): Promise<BenchChild<SutProcessStats>> {
  return forkBenchChild(
    SUT_MODULE,
    'BENCH_SUT_CONFIG',
    cfg,
    `system under test (${cfg.role})`,
    logName,
  );
}

/**
 * Starts the system under test as deployed: the scheduler (with its command endpoint) in one
 * process and each worker in a process of its own.
 */
export async function startSut(cfg: SutConfig, logName: string): Promise<SutHandle> {
  const scheduler = await forkSut({ ...cfg, role: 'scheduler' }, `${logName}-scheduler`);
  const workers: BenchChild<SutProcessStats>[] = [];
  try {
    for (let index = 0; index < cfg.workers; index++)
      workers.push(await forkSut({ ...cfg, role: 'worker', index }, `${logName}-worker${index}`));
  } catch (err) {
    await Promise.allSettled([scheduler, ...workers].map((c) => c.stop()));
    throw err;
  }
  return {
    pid: scheduler.pid,
    processes: [
      { name: 'scheduler', pid: scheduler.pid },
      ...workers.map((w, i) => ({ name: `worker${i}`, pid: w.pid })),
    ],
    async completed() {
      const counts = await Promise.all(workers.map((w) => w.completed()));
      return counts.reduce((a, b) => a + b, 0);
    },
    async stop() {
      const ws = await Promise.all(workers.map((w) => w.stop()));
      const s = await scheduler.stop();
      return {
        scheduler:
          s.role === 'scheduler'
            ? s.scheduler
            : { fires: 0, dispatches: 0, conflicts: 0, errors: 0, agenda: 0 },
        workers: ws.flatMap((w) => (w.role === 'worker' ? [w.worker] : [])),
      };
    },
  };
}

/**
 * Resolves with performance.now() when the workers have recorded `n` outcomes, asking every
 * `everyMs` (so the time is that late at most, plus an IPC round trip); rejects after `timeoutMs`.
 */
export async function completedAt(
  sut: Pick<SutHandle, 'completed'>,
  n: number,
  timeoutMs: number,
  everyMs = 5,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const done = await sut.completed();
    const now = performance.now();
    if (done >= n) return now;
    if (now > deadline)
      throw new Error(`the workers recorded ${done} of ${n} outcomes within ${timeoutMs} ms`);
    // Asked rarely until the end is near: each question costs every worker an IPC round.
    await new Promise((resolve) => setTimeout(resolve, done < n * 0.9 ? 50 : everyMs));
  }
}
