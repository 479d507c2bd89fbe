/**
 * Real OS processes of the built `jetsched` CLI (dist/src/cli/main.js) for fault tests: schedulers
 * and workers that can be SIGKILLed, SIGSTOPped and SIGCONTed, with their pino JSON log lines
 * captured and awaitable. Every child is SIGKILLed when the test process exits, whatever happens;
 * call `killAll()` in afterAll to do it earlier.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  statSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const CLI_MAIN = join(PROJECT_ROOT, 'dist/src/cli/main.js');
/**
 * The processors module of the fault workers (`jetsched worker --processors <file>`): `noop`
 * returns at once; `work` takes about 200 ms and stops early (failing the attempt) when the attempt
 * is aborted. It is plain JS for Node to import, so it is written out at run time (a .mjs in the
 * repo would sit outside the type-checked project that the linter requires).
 */
export const FAULT_PROCESSORS_SOURCE = `import { setTimeout as sleep } from 'node:timers/promises';

export default {
  async noop() {
    return undefined;
  },
  async work(ctx) {
    await sleep(200, undefined, { signal: ctx.signal });
    return { ok: true };
  },
};
`;

/** Writes the fault processors module into `dir` and returns its path. */
export function writeFaultProcessors(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'fault-processors.mjs');
  writeFileSync(file, FAULT_PROCESSORS_SOURCE);
  return file;
}

/** One pino JSON line a child wrote (stderr or stdout). `time` is the child's Date.now(). */
export interface LogLine {
  level: number;
  time: number;
  msg: string;
  [field: string]: unknown;
}

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export type Role = 'scheduler' | 'worker';

export interface ChildHandle {
  readonly role: Role;
  /** The scheduler or worker id (`--id`), which is also the actor id of its events. */
  readonly id: string;
  readonly pid: number;
  /** Undefined while the process runs. */
  readonly exit: ChildExit | undefined;
  /** Every JSON log line so far, in order (bounded to the last 200 000). */
  readonly logs: readonly LogLine[];
  /** Signals sent through kill(), with when (Date.now()). */
  readonly signals: readonly { signal: NodeJS.Signals; atMs: number }[];
  /** Sends a signal (default SIGKILL). Does not wait. */
  kill(signal?: NodeJS.Signals): void;
  waitExit(): Promise<ChildExit>;
  /** SIGCONT (in case it is stopped), SIGTERM, and SIGKILL if it has not exited after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ChildExit>;
  /** The last lines of its stdout and stderr (raw text), for failure messages. */
  tail(lines?: number): string;
  /** Called with each JSON log line as it arrives; returns an unsubscribe function. */
  onLine(listener: (line: LogLine) => void): () => void;
  /** Where its whole output is written. */
  readonly logFile: string;
}

export interface CommonOptions {
  /** NATS URLs of the cluster's nodes. */
  urls: readonly string[];
  prefix: string;
  id: string;
  /** Extra environment variables for the child. */
  env?: Record<string, string>;
  /** Extra arguments after the subcommand's own. */
  args?: readonly string[];
  /** Directory for the children's full output. Default: $TMPDIR/jetsched-fault/<prefix>. */
  logDir?: string;
  logLevel?: 'info' | 'debug' | 'trace' | 'warn';
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // SIGKILL works on stopped processes too, so a SIGSTOPped child never outlives us.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

const MAX_LOG_LINES = 200_000;
const TAIL_CHARS = 24_000;

export function defaultLogDir(prefix: string): string {
  return join(process.env['TMPDIR'] ?? '/tmp', 'jetsched-fault', prefix);
}

function globalArgs(o: CommonOptions): string[] {
  return [
    CLI_MAIN,
    '--nats',
    o.urls.join(','),
    '--prefix',
    o.prefix,
    '--replicas',
    '3',
    '--log-level',
    o.logLevel ?? 'info',
  ];
}

function spawnCli(role: Role, o: CommonOptions, sub: string[]): ChildHandle {
  if (!existsSync(CLI_MAIN)) throw new Error(`${CLI_MAIN} is missing: run \`npm run build\``);
  installExitHook();
  const logDir = o.logDir ?? defaultLogDir(o.prefix);
  mkdirSync(logDir, { recursive: true });
  const logFile = join(logDir, `${o.id}.log`);
  const file: WriteStream = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [...globalArgs(o), ...sub, ...(o.args ?? [])], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`could not spawn ${role} ${o.id}`);
  live.add(child);

  const logs: LogLine[] = [];
  const signals: { signal: NodeJS.Signals; atMs: number }[] = [];
  const listeners = new Set<(line: LogLine) => void>();
  let tail = '';
  let exit: ChildExit | undefined;
  const exited = new Promise<ChildExit>((resolveExit) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      exit = { code, signal };
      file.end();
      resolveExit(exit);
    });
  });

  const attach = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      file.write(chunk);
      tail = (tail + chunk).slice(-TAIL_CHARS);
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) onText(text);
    });
    stream.on('end', () => {
      if (partial) onText(partial);
      partial = '';
    });
  };
  const onText = (text: string) => {
    const line = parseLogLine(text);
    if (!line) return;
    logs.push(line);
    if (logs.length > MAX_LOG_LINES) logs.splice(0, logs.length - MAX_LOG_LINES);
    for (const l of listeners) l(line);
  };
  attach(child.stdout);
  attach(child.stderr);

  const handle: ChildHandle = {
    role,
    id: o.id,
    pid: child.pid,
    logFile,
    get exit() {
      return exit;
    },
    logs,
    signals,
    kill(signal = 'SIGKILL') {
      if (exit) return;
      signals.push({ signal, atMs: Date.now() });
      child.kill(signal);
    },
    waitExit: () => exited,
    async stop(timeoutMs = 15_000) {
      if (exit) return exit;
      handle.kill('SIGCONT');
      handle.kill('SIGTERM');
      const timer = setTimeout(() => handle.kill('SIGKILL'), timeoutMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    tail(lines = 40) {
      return tail.trimEnd().split('\n').slice(-lines).join('\n');
    },
    onLine(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  return handle;
}

/** Parses one pino JSON line; undefined for anything else (plain text, partial JSON). */
export function parseLogLine(text: string): LogLine | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const v: unknown = JSON.parse(trimmed);
    if (
      v &&
      typeof v === 'object' &&
      typeof (v as LogLine).msg === 'string' &&
      typeof (v as LogLine).time === 'number'
    )
      return v as LogLine;
  } catch {
    return undefined; // not a log line (e.g. a stack trace line starting with "{")
  }
  return undefined;
}

/** `jetsched server --id <id>`: a scheduler replica and a command endpoint. */
export function startScheduler(o: CommonOptions): ChildHandle {
  return spawnCli('scheduler', o, ['server', '--id', o.id]);
}

/** `jetsched worker --group <group> --id <id> --processors <module>`. */
export function startWorker(
  o: CommonOptions & { group: string; processorsModule: string; concurrency?: number },
): ChildHandle {
  return spawnCli('worker', o, [
    'worker',
    '--group',
    o.group,
    '--id',
    o.id,
    '--processors',
    o.processorsModule,
    '--concurrency',
    String(o.concurrency ?? 32),
    // FAULT_CLAIM_AHEAD_MS runs the suite with workers that claim tasks ahead of their time.
    ...(process.env['FAULT_CLAIM_AHEAD_MS']
      ? ['--claim-ahead', process.env['FAULT_CLAIM_AHEAD_MS']]
      : []),
  ]);
}

export interface WaitForLogOptions {
  /** Only lines at or after this index of `handle.logs` count. Default 0 (the whole history). */
  fromIndex?: number;
  /** Only lines logged at or after this time (the child's clock). */
  sinceMs?: number;
  /** Named in the timeout error. */
  what?: string;
}

/**
 * Resolves with the first JSON log line of `handle` matching `predicate` (already logged, or as it
 * arrives). Rejects after `timeoutMs`, or at once if the process exits first; the error carries the
 * tail of its output.
 */
export function waitForLog(
  handle: ChildHandle,
  predicate: (line: LogLine) => boolean,
  timeoutMs: number,
  opts: WaitForLogOptions = {},
): Promise<LogLine> {
  const sinceMs = opts.sinceMs ?? -Infinity;
  const matches = (l: LogLine) => l.time >= sinceMs && predicate(l);
  for (let i = opts.fromIndex ?? 0; i < handle.logs.length; i++) {
    const l = handle.logs[i];
    if (l && matches(l)) return Promise.resolve(l);
  }
  const what = opts.what ?? 'a matching log line';
  return new Promise<LogLine>((resolveLine, reject) => {
    const done = () => {
      clearTimeout(timer);
      unsubscribe();
    };
    const unsubscribe = handle.onLine((l) => {
      if (!matches(l)) return;
      done();
      resolveLine(l);
    });
    const timer = setTimeout(() => {
      unsubscribe();
      reject(
        new Error(
          `${handle.role} ${handle.id} did not log ${what} within ${timeoutMs} ms; last output:\n${handle.tail()}`,
        ),
      );
    }, timeoutMs);
    void handle.waitExit().then((exit) => {
      if (!handle.logs.some(matches)) {
        done();
        reject(
          new Error(
            `${handle.role} ${handle.id} exited (${JSON.stringify(exit)}) before logging ${what}; last output:\n${handle.tail()}`,
          ),
        );
      }
    });
  });
}

/** A predicate on the log message (exact) and optionally some fields. */
export function logMsg(msg: string, fields: Record<string, unknown> = {}) {
  return (l: LogLine) => l.msg === msg && Object.entries(fields).every(([k, v]) => l[k] === v);
}

/** SIGKILLs every child still running and waits for them to go. */
export async function killAll(): Promise<void> {
  const children = [...live];
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(
    children
      .filter((c) => c.exitCode === null && c.signalCode === null)
      .map((c) => new Promise<void>((r) => c.once('exit', () => r()))),
  );
}

/** Runs a one-shot CLI command (e.g. `job apply -f f.json`) and returns its output. */
export async function runCli(
  o: Omit<CommonOptions, 'id' | 'logDir'>,
  sub: readonly string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...globalArgs({ ...o, id: 'cli' }), ...sub], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  installExitHook();
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearTimeout(timer);
  live.delete(child);
  return { code, stdout, stderr };
}

/**
 * Builds the CLI (`tsc -p tsconfig.build.json`) when dist/src/cli/main.js is missing or older than
 * any file under src/. Type errors do not stop tsc from emitting; they are returned as a warning.
 */
export function ensureBuilt(): { built: boolean; warning?: string } {
  if (existsSync(CLI_MAIN) && statSync(CLI_MAIN).mtimeMs >= newestMtime(join(PROJECT_ROOT, 'src')))
    return { built: false };
  const tsc = join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
  });
  if (!existsSync(CLI_MAIN)) throw new Error(`build failed:\n${r.stdout}${r.stderr}`);
  return r.status === 0
    ? { built: true }
    : { built: true, warning: `tsc reported errors (emitted anyway):\n${r.stdout.slice(0, 4000)}` };
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}
