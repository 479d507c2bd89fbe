import { fork, type ChildProcess } from 'node:child_process';
import { openSync, mkdirSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SutConfig, SutStats } from '../sut.js';

const SUT_MODULE = fileURLToPath(new URL('../sut.js', import.meta.url));
export const LOG_DIR = '.data/bench/logs';

export interface SutHandle {
  readonly pid: number;
  /** Graceful stop: drains workers, stops the scheduler; resolves with its counters. */
  stop(): Promise<SutStats>;
}

/**
 * Forks the system under test (bench/sut.ts). fork() passes this process's execArgv on, so a
 * harness run under `node --cpu-prof` profiles the scheduler and workers too (their own file).
 */
export async function startSut(cfg: SutConfig, logName: string): Promise<SutHandle> {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFd = openSync(`${LOG_DIR}/${logName}.log`, 'a');
  const child: ChildProcess = fork(SUT_MODULE, [], {
    env: { ...process.env, BENCH_SUT_CONFIG: JSON.stringify(cfg) },
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
          `system under test exited (code ${code}) before it was ready; see ${LOG_DIR}/${logName}.log`,
        ),
      ),
    );
  });
  return {
    pid: child.pid ?? -1,
    async stop() {
      const stats = new Promise<SutStats>((resolve, reject) => {
        child.on('message', (m: { type?: string; stats?: SutStats }) => {
          if (m.type === 'stopped' && m.stats) resolve(m.stats);
        });
        void exited.then((code) =>
          reject(new Error(`system under test exited (code ${code}) while stopping`)),
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
