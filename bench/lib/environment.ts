import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus, totalmem, release, platform } from 'node:os';
import { promisify } from 'node:util';
import { findNatsServerBinary } from '../../src/services/nats/index.js';

export interface Environment {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  natsServer: string;
  client: string;
  /** The competitor's client libraries the suites measure beside us (their BullMQ rows). */
  baselineClients: string;
  /** The commit the code was built from, and whether src/ had uncommitted changes (others edit it). */
  source: string;
}

async function sourceState(): Promise<string> {
  const git = (...args: string[]) =>
    promisify(execFile)('git', args).then(
      (r) => r.stdout.trim(),
      () => '',
    );
  const commit = (await git('rev-parse', '--short', 'HEAD')) || 'unknown commit';
  const dirty = (await git('status', '--porcelain', '--', 'src')).split('\n').filter(Boolean);
  return dirty.length
    ? `${commit} with ${dirty.length} uncommitted change(s) in src/ (${dirty.map((l) => l.slice(3)).join(', ')})`
    : `${commit}, src/ clean`;
}

export async function packageVersion(name: string): Promise<string> {
  try {
    const pkg = JSON.parse(await readFile(`node_modules/${name}/package.json`, 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '?';
  } catch {
    return 'unknown (package.json not found)';
  }
}

export async function describeEnvironment(): Promise<Environment> {
  const cpu = cpus();
  let natsServer = 'unknown';
  try {
    const bin = await findNatsServerBinary();
    const { stdout } = await promisify(execFile)(bin, ['--version']);
    natsServer = stdout.trim().replace(/^nats-server:\s*/, '');
  } catch (err) {
    natsServer = `not found (${(err as Error).message})`;
  }
  const [jetstream, transport, bullmq, ioredis] = await Promise.all([
    packageVersion('@nats-io/jetstream'),
    packageVersion('@nats-io/transport-node'),
    packageVersion('bullmq'),
    packageVersion('ioredis'),
  ]);
  return {
    date: new Date().toISOString(),
    cores: cpu.length,
    cpuModel: cpu[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()}`,
    node: process.version,
    natsServer,
    client: `@nats-io/jetstream ${jetstream}, @nats-io/transport-node ${transport}`,
    baselineClients: `bullmq ${bullmq}, ioredis ${ioredis}`,
    source: await sourceState(),
  };
}
