import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { NatsServerStartError } from './errors.js';
import { getJsz, healthProblem } from './monitor.js';
import { freePorts } from './ports.js';
import { trackTempDir, untrackTempDir } from './reaper.js';
import { findNatsServerBinary } from './server-binary.js';
import { routeUrl } from './server-config.js';
import { launchNatsServer, type NatsServerHandle, type Readiness } from './server-process.js';
import { waitFor } from './wait.js';

export type { NatsServerExit, NatsServerHandle, Readiness } from './server-process.js';

const PORT_ATTEMPTS = 3;

export interface StartNatsServerOptions {
  /** Client port. Default: a free loopback port. */
  port?: number;
  /** HTTP monitoring port. Default: a free loopback port. */
  monitorPort?: number;
  /** Holds the generated config and the JetStream data (`<storeDir>/jetstream`); created if missing, kept on stop(). Default: a new temp dir that stop() removes. */
  storeDir?: string;
  /** server_name. Default "jetsched-<port>". */
  serverName?: string;
  /** Makes the server a cluster member. `port` defaults to a free port; `routes` are "nats-route://127.0.0.1:<port>" URLs of all members. */
  cluster?: { name: string; port?: number; routes: readonly string[] };
  /** Log to this file instead of stderr (stderr is captured in memory, never printed). */
  logFile?: string;
  /** Serve Go's CPU and heap profiles (`/debug/pprof/…`) on this loopback port (for benchmarks). */
  profPort?: number;
  /** nats-server binary. Default: {@link findNatsServerBinary}. */
  binary?: string;
  /** When start() returns. Default `healthy`, or `listening` for a cluster member (its peers may not be up yet). */
  ready?: Readiness;
  /** Default 15_000 ms. */
  startTimeoutMs?: number;
  /** Grace after SIGTERM before SIGKILL. Default 10_000 ms. */
  stopTimeoutMs?: number;
}

/** Starts a nats-server child process with JetStream on loopback and waits until it is ready. */
export async function startNatsServer(
  opts: StartNatsServerOptions = {},
): Promise<NatsServerHandle> {
  const binary = opts.binary ?? (await findNatsServerBinary());
  const autoPorts =
    opts.port === undefined ||
    opts.monitorPort === undefined ||
    (opts.cluster !== undefined && opts.cluster.port === undefined);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce({ ...opts, binary });
    } catch (err) {
      if (!(autoPorts && attempt < PORT_ATTEMPTS && isPortConflict(err))) throw err;
    }
  }
}

async function startOnce(
  opts: StartNatsServerOptions & { binary: string },
): Promise<NatsServerHandle> {
  const [port = 0, monitorPort = 0, clusterPort = 0] = await freePorts(3);
  const ownsStoreDir = opts.storeDir === undefined;
  const storeDir =
    opts.storeDir === undefined
      ? await mkdtemp(join(tmpdir(), 'jetsched-nats-'))
      : resolve(opts.storeDir);
  if (ownsStoreDir) trackTempDir(storeDir);
  const clientPort = opts.port ?? port;
  const { cluster } = opts;
  return launchNatsServer({
    binary: opts.binary,
    config: {
      serverName: opts.serverName ?? `jetsched-${clientPort}`,
      port: clientPort,
      monitorPort: opts.monitorPort ?? monitorPort,
      storeDir,
      ...(opts.logFile !== undefined && { logFile: resolve(opts.logFile) }),
      ...(opts.profPort !== undefined && { profPort: opts.profPort }),
      ...(cluster && {
        cluster: { name: cluster.name, port: cluster.port ?? clusterPort, routes: cluster.routes },
      }),
    },
    ownsStoreDir,
    ready: opts.ready ?? (cluster ? 'listening' : 'healthy'),
    startTimeoutMs: opts.startTimeoutMs ?? 15_000,
    stopTimeoutMs: opts.stopTimeoutMs ?? 10_000,
  });
}

function isPortConflict(err: unknown): boolean {
  return err instanceof NatsServerStartError && /address already in use/i.test(err.stderrTail);
}

export interface StartNatsClusterOptions {
  /** Number of nodes. Default 3. */
  size?: number;
  /** Node stores go in `<baseDir>/<node name>` and are kept. Default: a temp dir that stop() removes. */
  baseDir?: string;
  /** Cluster name. Default "jetsched". */
  clusterName?: string;
  binary?: string;
  /** Until every node is up and agrees on a JetStream meta leader. Default 30_000 ms. */
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
}

export interface NatsCluster {
  /** Client URLs of all nodes, in node order. */
  readonly urls: string[];
  /** The same, comma-separated, as NATS_URL takes them. */
  readonly servers: string;
  /** Nodes n1…nN; their `name` is what JetStream reports as leader or replica. */
  readonly nodes: NatsServerHandle[];
  /** The node with this server name. */
  node(name: string): NatsServerHandle;
  /** Waits until all running nodes are healthy and agree on a meta leader that sees every running peer current. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Stops every node (in parallel) and removes the temp dir, if one was made. Idempotent. */
  stop(): Promise<void>;
}

/** Starts a JetStream cluster of `size` nodes routed over loopback and waits for its meta leader. */
export async function startNatsCluster(opts: StartNatsClusterOptions = {}): Promise<NatsCluster> {
  const binary = opts.binary ?? (await findNatsServerBinary());
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce({ ...opts, binary });
    } catch (err) {
      if (!(opts.baseDir === undefined && attempt < PORT_ATTEMPTS && isPortConflict(err)))
        throw err;
    }
  }
}

async function startClusterOnce(
  opts: StartNatsClusterOptions & { binary: string },
): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const clusterName = opts.clusterName ?? 'jetsched';
  const ports = await freePorts(size * 3);
  const portOf = (i: number, kind: 0 | 1 | 2) => ports[i * 3 + kind] ?? 0;
  const ownsBaseDir = opts.baseDir === undefined;
  const baseDir =
    opts.baseDir === undefined
      ? await mkdtemp(join(tmpdir(), 'jetsched-nats-cluster-'))
      : resolve(opts.baseDir);
  if (ownsBaseDir) trackTempDir(baseDir);
  const routes = Array.from({ length: size }, (_, i) => routeUrl(portOf(i, 2)));
  const removeBaseDir = async () => {
    if (!ownsBaseDir) return;
    await rm(baseDir, { recursive: true, force: true, maxRetries: 3 });
    untrackTempDir(baseDir);
  };

  const started = await Promise.allSettled(
    Array.from({ length: size }, (_, i) =>
      startNatsServer({
        binary: opts.binary,
        serverName: `n${i + 1}`,
        port: portOf(i, 0),
        monitorPort: portOf(i, 1),
        storeDir: join(baseDir, `n${i + 1}`),
        cluster: { name: clusterName, port: portOf(i, 2), routes },
        ready: 'listening',
        startTimeoutMs: opts.startTimeoutMs ?? 30_000,
        ...(opts.stopTimeoutMs !== undefined && { stopTimeoutMs: opts.stopTimeoutMs }),
      }),
    ),
  );
  const nodes = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= Promise.all(nodes.map((n) => n.stop())).then(removeBaseDir);
    return stopping;
  };
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }

  const cluster: NatsCluster = {
    urls: nodes.map((n) => n.url),
    servers: nodes.map((n) => n.url).join(','),
    nodes,
    node(name) {
      const found = nodes.find((n) => n.name === name);
      if (!found)
        throw new Error(`no node named "${name}" (have ${nodes.map((n) => n.name).join(', ')})`);
      return found;
    },
    waitReady: (timeoutMs = 30_000) =>
      waitFor(
        async () => {
          const problem = await clusterProblem(nodes.filter((n) => n.running));
          if (problem !== undefined) throw new Error(problem);
          return true;
        },
        { what: `cluster "${clusterName}" to agree on a JetStream meta leader`, timeoutMs },
      ).then(() => undefined),
    stop,
  };
  try {
    await cluster.waitReady(opts.startTimeoutMs ?? 30_000);
  } catch (err) {
    const tails = nodes.map((n) => `[${n.name}]\n${n.logTail(10)}`).join('\n');
    await stop();
    throw new NatsServerStartError(
      `cluster ${clusterName}`,
      err instanceof Error ? err.message : String(err),
      tails,
      { cause: err },
    );
  }
  return cluster;
}

/** Undefined when every given node is healthy and they agree on a meta leader that sees them all current; else why not. */
async function clusterProblem(nodes: readonly NatsServerHandle[]): Promise<string | undefined> {
  const views = await Promise.all(
    nodes.map(async (n) => ({
      node: n,
      health: await healthProblem(n.monitorPort, false),
      jsz: await getJsz(n.monitorPort),
    })),
  );
  for (const v of views) if (v.health !== undefined) return `${v.node.name}: ${v.health}`;
  const leaders = new Set(views.map((v) => v.jsz.meta_cluster?.leader ?? ''));
  const [leader] = leaders;
  if (leaders.size !== 1 || !leader)
    return `no agreed meta leader (nodes report: ${[...leaders].map((l) => l || 'none').join(', ')})`;
  const leaderView = views.find((v) => v.node.name === leader);
  if (!leaderView) return `meta leader ${leader} is not among the running nodes`;
  const current = new Set(
    (leaderView.jsz.meta_cluster?.replicas ?? [])
      .filter((r) => r.current && !r.offline)
      .map((r) => r.name),
  );
  const behind = nodes.filter((n) => n.name !== leader && !current.has(n.name)).map((n) => n.name);
  return behind.length > 0
    ? `meta leader ${leader} does not see ${behind.join(', ')} current`
    : undefined;
}
