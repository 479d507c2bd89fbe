import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { NatsServerNotFoundError } from './errors.js';
import { findProjectRoot } from './project-root.js';

const run = promisify(execFile);
const NOT_FOUND = 'not found';

/** Oldest nats-server jetsched supports (per-message TTLs arrived in 2.11). */
export const MIN_NATS_SERVER_VERSION = { major: 2, minor: 11 } as const;

export interface FindNatsServerOptions {
  /** Environment to read NATS_SERVER_BIN and PATH from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Project root holding `.tools/nats-server/bin/nats-server`. Default: found from this module's location. */
  projectRoot?: string;
}

/**
 * Path of a nats-server >= 2.11, looked for in this order:
 * 1. `$NATS_SERVER_BIN` (when set it must be usable: no silent fallback past an explicit choice);
 * 2. `<projectRoot>/.tools/nats-server/bin/nats-server`, as installed by `npm run setup:nats`;
 * 3. `nats-server` on PATH.
 * @throws {NatsServerNotFoundError} naming every place tried, and telling to run `npm run setup:nats`.
 */
export async function findNatsServerBinary(opts: FindNatsServerOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  const tried: string[] = [];
  const fromEnv = env['NATS_SERVER_BIN'];
  if (fromEnv) {
    const problem = await checkBinary(fromEnv);
    if (problem === undefined) return fromEnv;
    throw new NatsServerNotFoundError([`NATS_SERVER_BIN=${fromEnv}: ${problem}`]);
  }
  const root = opts.projectRoot ?? findProjectRoot();
  if (root !== undefined) {
    const local = join(root, '.tools', 'nats-server', 'bin', 'nats-server');
    const problem = await checkBinary(local);
    if (problem === undefined) return local;
    tried.push(`${local}: ${problem}`);
  }
  let seenOnPath = false;
  for (const dir of (env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'nats-server');
    const problem = await checkBinary(candidate);
    if (problem === undefined) return candidate;
    if (problem === NOT_FOUND) continue;
    seenOnPath = true;
    tried.push(`${candidate}: ${problem}`);
  }
  if (!seenOnPath) tried.push(`nats-server on PATH: ${NOT_FOUND}`);
  throw new NatsServerNotFoundError(tried);
}

/** Parses `nats-server --version` output ("nats-server: v2.15.1") into numbers. */
export function parseNatsServerVersion(
  output: string,
): { major: number; minor: number; patch: number } | undefined {
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(output);
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export function isSupportedNatsServerVersion(v: { major: number; minor: number }): boolean {
  const min = MIN_NATS_SERVER_VERSION;
  return v.major > min.major || (v.major === min.major && v.minor >= min.minor);
}

/**
 * Whether a connected server may hold an installation, from the version it announced (the
 * connection's `info.version`, e.g. "2.9.10" or "2.12.0-dev"): `too-old` below 2.11, `unknown`
 * when absent or not a version.
 */
export function announcedVersionVerdict(version: string | undefined): 'ok' | 'too-old' | 'unknown' {
  const parsed = version === undefined ? undefined : parseNatsServerVersion(`v${version}`);
  if (!parsed) return 'unknown';
  return isSupportedNatsServerVersion(parsed) ? 'ok' : 'too-old';
}

/** Undefined when `bin` is an executable nats-server new enough; otherwise why not. */
async function checkBinary(bin: string): Promise<string | undefined> {
  try {
    await access(bin, constants.X_OK);
  } catch {
    return NOT_FOUND;
  }
  let stdout: string;
  try {
    ({ stdout } = await run(bin, ['--version'], { timeout: 10_000 }));
  } catch (err) {
    return `\`--version\` failed (${err instanceof Error ? err.message : String(err)})`;
  }
  const version = parseNatsServerVersion(stdout);
  if (!version) return `unrecognised version output ${JSON.stringify(stdout.trim())}`;
  if (!isSupportedNatsServerVersion(version))
    return `v${version.major}.${version.minor}.${version.patch} is older than 2.11`;
  return undefined;
}
