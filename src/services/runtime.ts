import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { createEventStore, type EventStore } from '../events/event-store.js';
import { createJsPublisher, type JsPublisher } from '../events/publisher.js';
import { ensureStore, type Buckets, type StoreOptions } from '../events/streams.js';
import { DEFAULT_PARTITIONS, names as makeNames, type Names } from '../events/subjects.js';
import { connectNats, type NatsOptions } from './connect.js';
import { NatsServerTooOldError } from './nats/errors.js';
import { announcedVersionVerdict } from './nats/server-binary.js';
import { createThreadReader } from './reader-thread/spawn.js';

/** How long a JetStream request or publish waits for its answer. */
const JS_TIMEOUT_MS = 10_000;

/** Everything a jetsched process needs to talk to its installation. */
export interface Runtime {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Pipelined JetStream publishes (events, tasks, logs). */
  publisher: JsPublisher;
  names: Names;
  store: EventStore;
  buckets: Buckets;
  partitions: number;
  log: Logger;
  close(): Promise<void>;
}

export interface RuntimeOptions extends StoreOptions {
  nats: NatsOptions & { servers: string };
  /** Subject/stream prefix of the installation. Default "jetsched". */
  prefix?: string;
  /** Number of partitions jobs are hashed into; fixed for an installation. Default 16. */
  partitions?: number;
  log: Logger;
}

/** Connects, makes sure streams and buckets exist, and returns the pieces. */
export async function openRuntime(opts: RuntimeOptions): Promise<Runtime> {
  const names = makeNames(opts.prefix);
  const nc = await connectNats(opts.nats);
  let js: JetStreamClient, jsm: JetStreamManager, buckets: Buckets;
  try {
    refuseOldServer(nc, opts);
    js = jetstream(nc, { timeout: JS_TIMEOUT_MS });
    jsm = await jetstreamManager(nc, { timeout: JS_TIMEOUT_MS });
    buckets = await ensureStore(js, jsm, names, opts);
  } catch (err) {
    await nc.close();
    throw err;
  }
  const publisher = createJsPublisher(nc, { timeoutMs: JS_TIMEOUT_MS });
  const readInThread = createThreadReader(opts.nats);
  const store = createEventStore({
    nc,
    js,
    jsm,
    publisher,
    names,
    log: opts.log,
    ...(readInThread && { readInThread }),
  });
  return {
    nc,
    js,
    jsm,
    publisher,
    names,
    store,
    buckets,
    partitions: opts.partitions ?? DEFAULT_PARTITIONS,
    log: opts.log,
    async close() {
      await nc.drain().catch(() => nc.close());
    },
  };
}

/**
 * Refuses a server older than 2.11 before anything is made on it: it makes the heartbeat and
 * lease buckets without the limit markers asked for (2.9 does, silently), so no watcher would see
 * a dead process's keys expire, and the store check would then blame the bucket. A version it
 * does not announce is logged and let be.
 */
function refuseOldServer(nc: NatsConnection, opts: RuntimeOptions): void {
  const version = nc.info?.version;
  const verdict = announcedVersionVerdict(version);
  if (verdict === 'too-old') throw new NatsServerTooOldError(version ?? '', opts.nats.servers);
  if (verdict === 'unknown')
    opts.log.warn(
      { serverVersion: version ?? null },
      'the nats-server did not announce a version this build can read; jetsched needs 2.11 or newer',
    );
}
