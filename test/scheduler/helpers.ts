import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { startServer, type ServerOptions } from '../../src/services/server.js';
import { createWorker, type Worker } from '../../src/services/worker/index.js';
import { createClient } from '../../src/services/commands/client.js';
import type { Processor } from '../../src/services/worker/types.js';
import { uniquePrefix } from '../support/nats.js';
import type { JetschedEvent, StoredEvent } from '../../src/events/event.js';
import type { EventStore } from '../../src/events/event-store.js';
import { unbatched } from '../../src/events/batches.js';
import {
  taskBatchMessageSchema,
  taskMessageSchema,
  type TaskMessage,
} from '../../src/events/task.js';

export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/**
 * Registers the manual job `mail` (processor `mail`) and sends `count` TriggerJob commands for it,
 * trigger `m<i>` with params `{ to: 'user-<i>' }`, all due at one instant 3 s ahead so that the
 * scheduler finds them pending together. Returns their instance ids, in trigger order.
 */
export async function triggerBurst(rt: Runtime, count: number): Promise<string[]> {
  const client = createClient(rt);
  await client.send('RegisterJob', {
    spec: { name: 'mail', processor: 'mail', schedule: { manual: true } },
  });
  const at = Date.now() + 3000;
  const ids = await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const { result } = await client.send('TriggerJob', {
        jobId: 'mail',
        triggerId: `m${i}`,
        at,
        params: { to: `user-${i}` },
      });
      return String(result.instanceId);
    }),
  );
  if (Date.now() >= at) throw new Error('triggerBurst: the triggers fell due while being sent');
  return ids;
}

/**
 * A server (scheduler + command endpoint, `sched-1`, with `serverOptions`) and one worker (`w-1`,
 * group "default") on a fresh prefix, for the tests of one file: started in beforeAll, stopped in
 * afterAll. The returned object's `rt` and `server` are set once beforeAll has run. `storeOf`
 * gives the server an event store of its own over the runtime's (the worker keeps the runtime's).
 */
export function useServerAndWorker(
  nats: { readonly url: string },
  processors: Record<string, Processor>,
  serverOptions: Omit<ServerOptions, 'runtime'> = {},
  storeOf?: (rt: Runtime) => EventStore,
): { rt: Runtime; server: Awaited<ReturnType<typeof startServer>> } {
  const env = {} as { rt: Runtime; server: Awaited<ReturnType<typeof startServer>> };
  const stops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    const rt = await openRuntime({
      nats: { servers: nats.url },
      prefix: uniquePrefix(),
      log: silent,
    });
    env.rt = rt;
    const server = await startServer({
      runtime: storeOf ? { ...rt, store: storeOf(rt) } : rt,
      schedulerId: 'sched-1',
      log: silent,
      ...serverOptions,
    });
    env.server = server;
    stops.push(() => server.stop());
    const worker = createWorker({
      runtime: rt,
      group: 'default',
      processors,
      workerId: 'w-1',
      log: silent,
      pullExpiresMs: 1000,
    });
    await worker.start();
    stops.push(() => worker.stop());
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await env.rt?.close();
  });
  return env;
}

/**
 * A server (`sched-1`) on a fresh prefix for the tests of one file, and a worker (`w-1`, group
 * "default", concurrency 8) that a test starts when it wants its tasks run: the tasks published
 * before wait in the stream. Everything is stopped in afterAll.
 */
export function useServerThenWorker(
  nats: { readonly url: string },
  opts: { taskRepublishAfterMs?: number } = {},
): { readonly rt: Runtime; startWorker(processors: Record<string, Processor>): Promise<Worker> } {
  let rt: Runtime | undefined;
  const stops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
    const server = await startServer({
      runtime: rt,
      schedulerId: 'sched-1',
      log: silent,
      ...(opts.taskRepublishAfterMs !== undefined && {
        taskRepublishAfterMs: opts.taskRepublishAfterMs,
      }),
    });
    stops.push(() => server.stop());
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await rt?.close();
  });
  const runtime = (): Runtime => {
    if (!rt) throw new Error('the server is started in beforeAll: use it inside tests');
    return rt;
  };
  return {
    get rt() {
      return runtime();
    },
    async startWorker(processors) {
      const worker = createWorker({
        runtime: runtime(),
        group: 'default',
        processors,
        workerId: 'w-1',
        concurrency: 8,
        log: silent,
        pullExpiresMs: 1000,
      });
      await worker.start();
      stops.push(() => worker.stop());
      return worker;
    },
  };
}

/** Every decodable event in the stream, in order. */
export async function allEvents(rt: Runtime): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const raw of rt.store.replay()) {
    if (raw.decoded.ok)
      out.push({
        seq: raw.seq,
        subject: raw.subject,
        storedAtMs: raw.storedAtMs,
        event: raw.decoded.event,
      });
  }
  return out;
}

/** The events of one type (a JobFiredBatch counting as one JobFired per fire). */
export function ofType<T extends JetschedEvent['type']>(events: StoredEvent[], type: T) {
  return events
    .flatMap((e) => unbatched(e.event).map((event) => ({ ...e, event })))
    .filter((e) => e.event.type === type)
    .map((e) => e.event as Extract<JetschedEvent, { type: T }>);
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs}ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, i)]!;
}

import { createProjectionRunner } from '../../src/projections/runner.js';
import { scheduleProjection } from '../../src/projections/projection.js';

/** Waits until every one of `instanceIds` has succeeded, as a live fold of the stream sees it. */
export async function waitAllSucceeded(
  rt: Runtime,
  instanceIds: readonly string[],
  timeoutMs = 30_000,
): Promise<void> {
  const view = await watch(rt);
  try {
    await view.waitUntil(
      (s) => instanceIds.every((id) => s.instances.get(id)?.status === 'succeeded'),
      timeoutMs,
    );
  } finally {
    await view.stop();
  }
}

/** A live fold of everything, for awaiting conditions on jobs and instances. */
export async function watch(rt: Runtime) {
  const runner = createProjectionRunner({
    js: rt.js,
    store: rt.store,
    projection: scheduleProjection,
    log: silent,
  });
  await runner.start();
  return runner;
}

/** Every message in the task stream, as the tasks each carries. */
export async function taskMessages(rt: Runtime): Promise<TaskMessage[][]> {
  const info = await rt.jsm.streams.info(rt.names.taskStream);
  const out: TaskMessage[][] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await rt.jsm.streams.getMessage(rt.names.taskStream, { seq });
    const raw: unknown = m?.json();
    const batch = taskBatchMessageSchema.safeParse(raw);
    out.push(batch.success ? batch.data.tasks : [taskMessageSchema.parse(raw)]);
  }
  return out;
}
