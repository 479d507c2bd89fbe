import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { KV } from '@nats-io/kv';
import { LOG_DIR } from './sut.js';
import { sleep } from './stats.js';

/**
 * `node dist/src/cli/main.js server` as a child process: what an operator runs. It logs at
 * `BENCH_SERVER_LOG_LEVEL` (default warn) to `<LOG_DIR>/cli-server-<prefix>-<id>.log`.
 */
export interface CliServer {
  readonly id: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const alive = new Set<ChildProcess>();
// Children must not outlive the harness, even when it fails.
process.once('exit', () => {
  for (const c of alive) c.kill('SIGKILL');
});

export function spawnCliServer(url: string, prefix: string, id: string): CliServer {
  mkdirSync(LOG_DIR, { recursive: true });
  const fd = openSync(`${LOG_DIR}/cli-server-${prefix}-${id}.log`, 'a');
  const child = spawn(
    process.execPath,
    [
      'dist/src/cli/main.js',
      '--nats',
      url,
      '--prefix',
      prefix,
      '--log-level',
      process.env['BENCH_SERVER_LOG_LEVEL'] ?? 'warn',
      'server',
      '--id',
      id,
    ],
    { stdio: ['ignore', fd, fd] },
  );
  closeSync(fd);
  alive.add(child);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      alive.delete(child);
      resolve();
    }),
  );
  return {
    id,
    pid: child.pid ?? -1,
    child,
    exited,
    async stop(graceMs = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** VmRSS and VmHWM of a process, in bytes, from /proc/<pid>/status. */
export async function memoryOf(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** What a scheduler's heartbeat says (see lease-ownership.ts and server.ts `describe`). */
export interface SchedulerBeat {
  id: string;
  partitions: number[];
  folded?: [number, number][];
}

/** Waits until `check` holds for the scheduler's heartbeat value. */
export async function waitForBeat(
  heartbeats: KV,
  id: string,
  check: (beat: SchedulerBeat) => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<SchedulerBeat> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const e = await heartbeats.get(`scheduler.${id}`).catch(() => null);
    if (e && e.operation === 'PUT') {
      const beat = e.json<SchedulerBeat>();
      if (await check(beat)) return beat;
    }
    if (Date.now() > deadline)
      throw new Error(`scheduler ${id}: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}
