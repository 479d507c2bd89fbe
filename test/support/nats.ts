/**
 * NATS for integration tests. Call `useNats()` / `useNatsCluster()` at the top of a test file:
 * they register beforeAll/afterAll hooks and return an object whose fields are filled once
 * beforeAll has run. Everything they open is closed in afterAll, even when tests fail.
 *
 * - `useNats()`: $NATS_URL when set (isolate tests with `uniquePrefix()`); otherwise one embedded
 *   nats-server per test file; only when no nats-server binary exists and a Docker engine is
 *   reachable, a `nats:2.12 -js` container (testcontainers; port mapped by Docker, not loopback-only).
 * - `useNatsCluster()`: an embedded 3-node JetStream cluster, for fault tests that SIGKILL and
 *   restart nodes. Needs a nats-server binary (`npm run setup:nats`).
 */
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';
import { afterAll, beforeAll } from 'vitest';
import {
  NatsServerNotFoundError,
  findNatsServerBinary,
  startNatsCluster,
  startNatsServer,
  type NatsCluster,
  type NatsServerHandle,
  type StartNatsClusterOptions,
} from '../../src/services/nats/index.js';

export { waitFor, type WaitForOptions } from '../../src/services/nats/index.js';

let prefixCounter = 0;

/** A name part unique within the run and across runs, e.g. "t_m3x1k2_7_a9f3", safe for stream, bucket and subject names. */
export function uniquePrefix(label = 't'): string {
  prefixCounter += 1;
  return `${label}_${Date.now().toString(36)}_${prefixCounter}_${randomBytes(3).toString('hex')}`;
}

export interface NatsTestServer {
  /** Where the URL came from. */
  readonly source: 'env' | 'embedded' | 'container';
  /** Server URL(s) as NATS_URL takes them (comma-separated when several). */
  readonly url: string;
  readonly urls: string[];
  /** The embedded server (source "embedded"), e.g. to kill or restart it; undefined otherwise. */
  readonly server: NatsServerHandle | undefined;
  /** Opens a connection that afterAll closes. */
  connect(opts?: NodeConnectionOptions): Promise<NatsConnection>;
}

export interface NatsTestCluster {
  /** All node URLs, comma-separated. */
  readonly url: string;
  readonly urls: string[];
  /** Nodes n1…n3: kill('SIGKILL'), restart(), waitExit()… */
  readonly nodes: NatsServerHandle[];
  readonly cluster: NatsCluster;
  node(name: string): NatsServerHandle;
  /** Opens a connection to all nodes that reconnects forever (until afterAll closes it). */
  connect(opts?: NodeConnectionOptions): Promise<NatsConnection>;
}

interface Started {
  urls: string[];
  stop(): Promise<void>;
}

/** Connections opened through a fixture, closed before its servers stop. */
function connectionPool(defaults: () => NodeConnectionOptions) {
  const open = new Set<NatsConnection>();
  return {
    async connect(opts: NodeConnectionOptions = {}): Promise<NatsConnection> {
      const nc = await connect({ ...defaults(), ...opts });
      open.add(nc);
      void nc.closed().then(() => open.delete(nc));
      return nc;
    },
    async closeAll(): Promise<void> {
      await Promise.all([...open].map((nc) => nc.close()));
    },
  };
}

/** Runs every cleanup step even if one fails, then reports all failures. */
async function cleanUp(steps: readonly (() => Promise<void>)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, 'NATS test cleanup failed');
}

function notReady(what: string): never {
  throw new Error(
    `${what} is not started yet: use it inside tests or hooks, after useNats()/useNatsCluster()'s beforeAll`,
  );
}

/** One NATS server for this test file (see the module comment for where it comes from). */
export function useNats(): NatsTestServer {
  let started:
    (Started & { source: NatsTestServer['source']; server?: NatsServerHandle }) | undefined;
  const pool = connectionPool(() => ({ servers: fixture.urls }));
  const fixture: NatsTestServer = {
    get source() {
      return started?.source ?? notReady('NATS');
    },
    get url() {
      return this.urls.join(',');
    },
    get urls() {
      return started?.urls ?? notReady('NATS');
    },
    get server() {
      return started ? started.server : notReady('NATS');
    },
    connect: (opts) => pool.connect(opts),
  };
  beforeAll(async () => {
    started = await startTestServer();
  });
  afterAll(() => cleanUp([() => pool.closeAll(), async () => started?.stop()]));
  return fixture;
}

async function startTestServer(): Promise<
  Started & { source: NatsTestServer['source']; server?: NatsServerHandle }
> {
  const fromEnv = process.env['NATS_URL'];
  if (fromEnv) {
    const urls = fromEnv
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    return { source: 'env', urls, stop: () => Promise.resolve() };
  }
  let binary: string;
  try {
    binary = await findNatsServerBinary();
  } catch (err) {
    if (err instanceof NatsServerNotFoundError && (await dockerReachable()))
      return startContainer();
    throw err;
  }
  const server = await startNatsServer({ binary });
  return { source: 'embedded', urls: [server.url], server, stop: () => server.stop() };
}

async function dockerReachable(): Promise<boolean> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  try {
    await getContainerRuntimeClient();
    return true;
  } catch {
    // No container runtime: the caller reports the missing nats-server instead.
    return false;
  }
}

async function startContainer(): Promise<Started & { source: 'container' }> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('nats:2.12')
    .withCommand(['-js'])
    .withExposedPorts(4222)
    .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
    .start();
  return {
    source: 'container',
    urls: [`nats://${container.getHost()}:${container.getMappedPort(4222)}`],
    stop: async () => {
      await container.stop();
    },
  };
}

/** A 3-node (by default) embedded JetStream cluster for this test file. */
export function useNatsCluster(opts: StartNatsClusterOptions = {}): NatsTestCluster {
  let cluster: NatsCluster | undefined;
  const get = () => cluster ?? notReady('NATS cluster');
  const pool = connectionPool(() => ({
    servers: get().urls,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 100,
  }));
  beforeAll(async () => {
    cluster = await startNatsCluster(opts);
  });
  afterAll(() => cleanUp([() => pool.closeAll(), async () => cluster?.stop()]));
  return {
    get url() {
      return get().servers;
    },
    get urls() {
      return get().urls;
    },
    get nodes() {
      return get().nodes;
    },
    get cluster() {
      return get();
    },
    node: (name) => get().node(name),
    connect: (opts) => pool.connect(opts),
  };
}
