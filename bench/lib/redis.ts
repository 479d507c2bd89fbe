import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts, LOOPBACK } from '../../src/services/nats/ports.js';
import { findProjectRoot } from '../../src/services/nats/project-root.js';

const run = promisify(execFile);

/**
 * A redis-server ≥ 6.2 for the BullMQ baseline, and its version: the path
 * infra/install-redis-server.sh prints last (it installs Debian's into .tools/ when none is found,
 * a few seconds the first time).
 * @throws naming what the script said, when it found or installed none.
 */
export async function findRedisServer(): Promise<{ bin: string; version: string }> {
  const root = findProjectRoot();
  if (root === undefined) throw new Error('the project root (package.json) was not found');
  try {
    const { stdout } = await run('bash', [join(root, 'infra', 'install-redis-server.sh')], {
      timeout: 300_000,
    });
    const path = stdout.trim().split('\n').at(-1);
    if (!path) throw new Error('infra/install-redis-server.sh printed no path');
    const version = (await run(path, ['--version'])).stdout.trim();
    return { bin: path, version: /v=(\S+)/.exec(version)?.[1] ?? version };
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`no redis-server for the BullMQ baseline: ${stderr || String(err)}`);
  }
}

export interface RedisServer {
  readonly host: string;
  readonly port: number;
}

/**
 * A redis-server child process on a free loopback port for `fn`, without persistence (no RDB
 * snapshots, no append-only file, its working folder a temp dir), stopped afterwards.
 */
export async function withRedisServer<T>(
  bin: string,
  fn: (server: RedisServer) => Promise<T>,
): Promise<T> {
  const [port = 0] = await freePorts(1);
  const dir = await mkdtemp(join(tmpdir(), 'jetsched-bench-redis-'));
  const args = ['--bind', LOOPBACK, '--port', String(port), '--save', '', '--appendonly', 'no'];
  const child = spawn(bin, [...args, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const stopOnExit = () => child.kill('SIGKILL');
  process.once('exit', stopOnExit);
  let output = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server was not ready within 10 s: ${output}`)),
        10_000,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (code ${code}) before it was ready: ${output}`));
      });
    });
    child.stdout.resume();
    return await fn({ host: LOOPBACK, port });
  } finally {
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
    process.off('exit', stopOnExit);
    await rm(dir, { recursive: true, force: true });
  }
}
