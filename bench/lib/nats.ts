import { randomBytes } from 'node:crypto';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { pino, type Logger } from 'pino';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import {
  startNatsServer,
  type NatsServerHandle,
  type StartNatsServerOptions,
} from '../../src/services/nats/index.js';
import type { JetschedEvent } from '../../src/events/event.js';
import { unbatched } from '../../src/events/batches.js';
import { installationStreams } from '../../src/events/subjects.js';

/** Benchmarks log nothing unless BENCH_LOG_LEVEL says so (logs go to stderr). */
export function benchLogger(): Logger {
  return pino({ level: process.env['BENCH_LOG_LEVEL'] ?? 'silent' }, pino.destination(2));
}

let counter = 0;
/** A prefix unique within the run, safe for subjects, streams and buckets. */
export function uniquePrefix(label: string): string {
  counter += 1;
  return `b${label}_${counter}_${randomBytes(2).toString('hex')}`;
}

/** A nats-server child process (JetStream, file storage in a temp dir, loopback) for one suite. */
export async function withNatsServer<T>(
  fn: (server: NatsServerHandle) => Promise<T>,
  opts: StartNatsServerOptions = {},
): Promise<T> {
  const server = await startNatsServer(opts);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

export async function openBenchRuntime(
  url: string,
  prefix: string,
  name: string,
): Promise<Runtime> {
  return openRuntime({ nats: { servers: url, name }, prefix, log: benchLogger() });
}

/** An event read back without schema validation (the benchmark is only a reader). */
export interface ReadEvent {
  seq: number;
  subject: string;
  storedAtMs: number;
  event: JetschedEvent;
}

/**
 * Reads the events matching `filters` from `fromSeq` up to the stream's current end, with plain
 * JSON.parse (no zod), so that reading results costs little next to what is measured.
 */
export async function readEvents(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  filters: string[],
  fromSeq = 1,
): Promise<ReadEvent[]> {
  let end = 0;
  for (const f of filters) {
    const last = await jsm.streams.getMessage(stream, { last_by_subj: f }).catch(() => null);
    end = Math.max(end, last?.seq ?? 0);
  }
  const out: ReadEvent[] = [];
  if (end < fromSeq) return out;
  const consumer = await js.consumers.get(stream, {
    filter_subjects: filters,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: fromSeq,
  });
  const messages = await consumer.consume({ max_messages: 4096 });
  for await (const m of messages) {
    // A JobFiredBatch as one JobFired per fire, as the suites count fires.
    for (const event of unbatched(m.json<JetschedEvent>()))
      out.push({
        seq: m.seq,
        subject: m.subject,
        storedAtMs: Math.floor(m.info.timestampNanos / 1e6),
        event,
      });
    if (m.seq >= end || m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

/**
 * Runs `fn` on a fresh installation (its own prefix, `label` in it) seen through a harness
 * runtime; afterwards, whatever `fn` did, the installation's streams and buckets are deleted and
 * the runtime closed.
 */
export async function withInstallation<T>(
  url: string,
  label: string,
  fn: (rt: Runtime, prefix: string) => Promise<T>,
): Promise<T> {
  const prefix = uniquePrefix(label);
  const rt = await openBenchRuntime(url, prefix, 'bench-harness');
  try {
    return await fn(rt, prefix);
  } finally {
    await dropInstallation(rt);
    await rt.close();
  }
}

/** The stream's last sequence (0 when empty). */
export async function lastStreamSeq(jsm: JetStreamManager, stream: string): Promise<number> {
  return (await jsm.streams.info(stream)).state.last_seq;
}

/** Deletes an installation's streams and buckets (the end of a trial). Errors are reported, not thrown. */
export async function dropInstallation(rt: Runtime): Promise<void> {
  for (const s of installationStreams(rt.names)) {
    await rt.jsm.streams.delete(s).catch((err: unknown) => {
      console.warn(`    ! could not delete stream ${s}: ${(err as Error).message}`);
    });
  }
}
