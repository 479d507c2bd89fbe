import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { JetschedError } from '../../events/errors.js';
import { NatsServerStartError, WaitTimeoutError } from './errors.js';
import { createLogTail, type LogTail } from './log-tail.js';
import { getMonitorJson, healthProblem } from './monitor.js';
import { LOOPBACK } from './ports.js';
import { trackChild, untrackTempDir } from './reaper.js';
import { renderNatsConfig, type NatsServerConfig } from './server-config.js';
import { waitFor } from './wait.js';

/**
 * When a started server counts as ready:
 * - `listening`: the client port accepts connections and JetStream is enabled
 *   (`/healthz?js-enabled-only=true`); right for a cluster node whose peers are not up yet;
 * - `healthy`: full `/healthz` — JetStream has a meta leader and this server's streams and
 *   consumers are current (for a restarted cluster node: it has rejoined and caught up).
 */
export type Readiness = 'listening' | 'healthy';

export interface NatsServerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A running (or killed, restartable) nats-server child process. */
export interface NatsServerHandle {
  /** server_name; for cluster nodes what JetStream reports as leader/replica names. */
  readonly name: string;
  /** Client URL, e.g. "nats://127.0.0.1:40123". */
  readonly url: string;
  readonly port: number;
  readonly monitorPort: number;
  /** e.g. "http://127.0.0.1:40124" — /healthz, /jsz, /varz… */
  readonly monitorUrl: string;
  readonly clusterPort: number | undefined;
  readonly storeDir: string;
  readonly configFile: string;
  /** Pid of the current process; changes on restart(). */
  readonly pid: number;
  /** False once the current process has exited (killed, crashed or stopped). */
  readonly running: boolean;
  /** SIGTERM, wait for exit (SIGKILL after the stop timeout), remove the store dir if it was a temp dir. Final and idempotent. */
  stop(): Promise<void>;
  /** Sends a signal to the current process (default SIGKILL), e.g. to simulate a crash. Does not wait. */
  kill(signal?: NodeJS.Signals): void;
  /** Stops the current process if it still runs, starts a new one on the same ports and store, waits until ready (default `healthy`). */
  restart(opts?: { ready?: Readiness; timeoutMs?: number }): Promise<void>;
  /** Resolves when the current process has exited. */
  waitExit(): Promise<NatsServerExit>;
  /** GETs a monitoring endpoint (e.g. "jsz", "healthz") as JSON. */
  monitor(path: string): Promise<unknown>;
  /** The last lines the current process logged (its stderr, or its log file). */
  logTail(lines?: number): string;
}

export interface LaunchSpec {
  binary: string;
  config: NatsServerConfig;
  /** The store dir is a temp dir made for this server: stop() removes it. */
  ownsStoreDir: boolean;
  ready: Readiness;
  startTimeoutMs: number;
  stopTimeoutMs: number;
}

interface Running {
  child: ChildProcess;
  exited: Promise<NatsServerExit>;
  exit: NatsServerExit | undefined;
  tail: LogTail;
}

/** Writes the config into the store dir, spawns nats-server there and waits until it is ready. */
export async function launchNatsServer(spec: LaunchSpec): Promise<NatsServerHandle> {
  const { config, binary } = spec;
  const configFile = join(config.storeDir, 'nats-server.conf');
  await mkdir(config.storeDir, { recursive: true });
  await writeFile(configFile, renderNatsConfig(config));

  const spawnServer = (): Running => {
    const tail = createLogTail(config.logFile);
    const child = spawn(binary, ['-c', configFile], {
      cwd: config.storeDir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    trackChild(child);
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => tail.push(chunk));
    const running: Running = {
      child,
      tail,
      exit: undefined,
      exited: Promise.resolve({ code: null, signal: null }),
    };
    running.exited = new Promise((resolve) => {
      const done = (exit: NatsServerExit) => {
        running.exit ??= exit;
        resolve(running.exit);
      };
      child.once('close', (code, signal) => done({ code, signal }));
      child.once('error', (err) => {
        tail.push(`spawn ${binary}: ${err.message}\n`);
        if (child.pid === undefined) done({ code: null, signal: null });
      });
    });
    return running;
  };

  const terminate = async (running: Running): Promise<void> => {
    if (running.exit) return;
    running.child.kill('SIGTERM');
    const timer = setTimeout(() => running.child.kill('SIGKILL'), spec.stopTimeoutMs);
    try {
      await running.exited;
    } finally {
      clearTimeout(timer);
    }
  };

  const waitReady = async (
    running: Running,
    ready: Readiness,
    timeoutMs: number,
  ): Promise<void> => {
    try {
      await waitFor(
        async () => {
          await probeTcp(config.port);
          const problem = await healthProblem(config.monitorPort, ready === 'listening');
          if (problem !== undefined) throw new Error(`/healthz: ${problem}`);
          return true;
        },
        {
          what: `nats-server "${config.serverName}" to be ${ready}`,
          timeoutMs,
          intervalMs: 50,
          abort: () =>
            running.exit &&
            new NatsServerStartError(
              config.serverName,
              `exited while starting (${describeExit(running.exit)})`,
              running.tail.lines(),
            ),
        },
      );
    } catch (err) {
      if (!(err instanceof WaitTimeoutError)) throw err;
      running.child.kill('SIGKILL');
      await running.exited;
      const last = err.cause instanceof Error ? ` (last check: ${err.cause.message})` : '';
      throw new NatsServerStartError(
        config.serverName,
        `was not ${ready} within ${timeoutMs} ms${last}`,
        running.tail.lines(),
        { cause: err },
      );
    }
  };

  let current = spawnServer();
  let stopping: Promise<void> | undefined;
  const removeStore = async () => {
    if (!spec.ownsStoreDir) return;
    await rm(config.storeDir, { recursive: true, force: true, maxRetries: 3 });
    untrackTempDir(config.storeDir);
  };
  try {
    await waitReady(current, spec.ready, spec.startTimeoutMs);
  } catch (err) {
    await terminate(current);
    await removeStore();
    throw err;
  }

  return {
    name: config.serverName,
    url: `nats://${LOOPBACK}:${config.port}`,
    port: config.port,
    monitorPort: config.monitorPort,
    monitorUrl: `http://${LOOPBACK}:${config.monitorPort}`,
    clusterPort: config.cluster?.port,
    storeDir: config.storeDir,
    configFile,
    get pid() {
      return current.child.pid ?? -1;
    },
    get running() {
      return current.exit === undefined;
    },
    stop() {
      stopping ??= terminate(current).then(removeStore);
      return stopping;
    },
    kill(signal = 'SIGKILL') {
      if (!current.exit) current.child.kill(signal);
    },
    async restart(opts = {}) {
      if (stopping)
        throw new JetschedError(
          'NATS_SERVER_STOPPED',
          `nats-server "${config.serverName}" was stopped and cannot be restarted`,
        );
      await terminate(current);
      current = spawnServer();
      await waitReady(current, opts.ready ?? 'healthy', opts.timeoutMs ?? spec.startTimeoutMs);
    },
    waitExit: () => current.exited,
    monitor: (path) => getMonitorJson(config.monitorPort, path),
    logTail: (lines) => current.tail.lines(lines),
  };
}

function probeTcp(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: LOOPBACK, port, timeout: 1_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`connect to ${LOOPBACK}:${port} timed out`));
    });
    socket.once('error', reject);
  });
}

function describeExit(exit: NatsServerExit): string {
  if (exit.signal) return `signal ${exit.signal}`;
  return exit.code === null ? 'could not be spawned' : `exit code ${exit.code}`;
}
