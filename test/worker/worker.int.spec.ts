import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  InstanceAttemptFailed,
  InstanceStarted,
  InstanceSucceeded,
} from '../../src/events/instance-events.js';
import { subjects } from '../../src/events/subjects.js';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import {
  AttemptAbortedError,
  createWorker,
  readInstanceLogs,
  taskConsumerName,
  workerHeartbeatKey,
  type Processor,
  type TaskContext,
  type Worker,
  type WorkerOptions,
} from '../../src/services/worker/index.js';
import { uniquePrefix, useNats, waitFor } from '../support/nats.js';
import {
  cancel,
  dispatch,
  dispatchInstance,
  gate,
  history,
  publishTask,
  publishTasks,
  silent,
  types,
  type Dispatched,
} from './helpers.js';
import type { z } from 'zod';

const nats = useNats();
const group = 'g1';

let rt: Runtime;
const workers: Worker[] = [];

beforeEach(async () => {
  rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix('w'), log: silent });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await rt.close();
});

async function startWorker(
  processors: Record<string, Processor>,
  o: Partial<WorkerOptions> = {},
): Promise<Worker> {
  const w = createWorker({
    runtime: rt,
    group,
    processors,
    pullExpiresMs: 1000,
    heartbeatMs: 200,
    log: silent,
    ...o,
  });
  workers.push(w);
  await w.start();
  return w;
}

/** Waits until the instance's history holds an event of `type`, and returns the whole history. */
function historyWith(d: Dispatched, type: string, timeoutMs = 10_000) {
  return waitFor(
    async () => {
      const events = await history(rt, d);
      return events.some((e) => e.type === type) ? events : undefined;
    },
    { what: `${type} on ${d.instanceId}`, timeoutMs },
  );
}

async function consumerCounts() {
  const info = await rt.jsm.consumers.info(rt.names.taskStream, taskConsumerName(group));
  return { pending: info.num_pending, ackPending: info.num_ack_pending, waiting: info.num_waiting };
}

type Started = z.infer<typeof InstanceStarted>;
type Succeeded = z.infer<typeof InstanceSucceeded>;
type AttemptFailed = z.infer<typeof InstanceAttemptFailed>;

describe('worker', () => {
  it('records start, progress and success with the result', async () => {
    const seen: TaskContext[] = [];
    const w = await startWorker({
      add: async (ctx) => {
        seen.push(ctx);
        const { progress } = ctx; // taken out of the context, it still reports this attempt's progress
        await progress(0.5, 'half way');
        const p = ctx.params as { a: number; b: number };
        return { sum: p.a + p.b };
      },
    });
    const d = await dispatch(rt, { group, processor: 'add', params: { a: 2, b: 3 } });

    const events = await historyWith(d, 'InstanceSucceeded');
    expect(types(events)).toEqual([
      'InstanceDispatched',
      'InstanceStarted',
      'InstanceProgressed',
      'InstanceSucceeded',
    ]);
    const [, started, , succeeded] = events as [unknown, Started, unknown, Succeeded];
    expect(started.data.workerId).toBe(w.workerId);
    expect(started.actor).toEqual({ kind: 'worker', id: w.workerId });
    expect(succeeded.data.result).toEqual({ sum: 5 });
    expect(seen[0]?.idempotencyKey).toBe(`${d.instanceId}:1`);
    expect(seen[0]?.fireTimeMs).toBe(d.task.fireTimeMs);
    await waitFor(async () => (await consumerCounts()).ackPending === 0 && w.running() === 0, {
      what: 'task acked',
    });
    expect(w.stats()).toMatchObject({ completed: 1, refusedReports: 0 });
  });

  it('records a throwing processor as a failed attempt with its error', async () => {
    await startWorker({
      explode: async () => {
        throw new RangeError('boom at step 3');
      },
    });
    const d = await dispatch(rt, { group, processor: 'explode' });

    const events = await historyWith(d, 'InstanceAttemptFailed');
    expect(types(events)).toEqual([
      'InstanceDispatched',
      'InstanceStarted',
      'InstanceAttemptFailed',
    ]);
    const failed = events[2] as AttemptFailed;
    expect(failed.data.error).toMatchObject({ name: 'RangeError', message: 'boom at step 3' });
    expect(failed.data.error.stack).toContain('boom at step 3');
  });

  it('fails the attempt with UnknownProcessor when the worker lacks the processor', async () => {
    await startWorker({ known: async () => 'ok' });
    const d = await dispatch(rt, { group, processor: 'unknown' });

    const events = await historyWith(d, 'InstanceAttemptFailed');
    expect((events.at(-1) as AttemptFailed).data.error.name).toBe('UnknownProcessor');
  });

  it('aborts a hanging processor at its timeout, records the timeout and refuses its late report', async () => {
    const release = gate();
    let signal: AbortSignal | undefined;
    const w = await startWorker({
      stubborn: async (ctx) => {
        signal = ctx.signal;
        await release.promise; // ignores the signal on purpose
        return 'too late';
      },
    });
    const d = await dispatch(rt, { group, processor: 'stubborn', timeoutMs: 300 });

    const events = await historyWith(d, 'InstanceTimedOut');
    expect(events.at(-1)?.data).toMatchObject({ attempt: 1, timeoutMs: 300 });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(AttemptAbortedError);
    expect((signal?.reason as AttemptAbortedError).reason).toBe('timeout');

    release.open();
    await waitFor(() => w.stats().refusedReports === 1, { what: 'late report refused' });
    expect(types(await history(rt, d))).toEqual([
      'InstanceDispatched',
      'InstanceStarted',
      'InstanceTimedOut',
    ]);
    await waitFor(async () => (await consumerCounts()).ackPending === 0, { what: 'task acked' });
  });

  it('stops a running processor through its AbortSignal when the instance is cancelled', async () => {
    const running = gate();
    let reason: unknown;
    const w = await startWorker({
      patient: (ctx) =>
        new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            reason = ctx.signal.reason;
            reject(ctx.signal.reason as Error);
          });
          running.open();
        }),
    });
    const d = await dispatch(rt, { group, processor: 'patient' });
    await running.promise;
    await historyWith(d, 'InstanceStarted');

    await cancel(rt, d, { signal: true });

    await waitFor(() => w.stats().refusedReports === 1, { what: 'report after cancel refused' });
    expect(reason).toBeInstanceOf(AttemptAbortedError);
    expect((reason as AttemptAbortedError).reason).toBe('cancelled');
    expect(types(await history(rt, d))).toEqual([
      'InstanceDispatched',
      'InstanceStarted',
      'InstanceCancelled',
    ]);
  });

  it('keeps a long task from redelivery with in-progress acks', async () => {
    let runs = 0;
    const long: Processor = async () => {
      runs++;
      await sleep(2500); // the work itself: 2.5 ack waits
      return 'done';
    };
    const a = await startWorker({ long }, { ackWaitMs: 1000 });
    const b = await startWorker({ long }, { ackWaitMs: 1000 });
    const d = await dispatch(rt, { group, processor: 'long' });

    await historyWith(d, 'InstanceSucceeded');
    expect(runs).toBe(1);
    expect(a.stats().skipped + b.stats().skipped).toBe(0);
    const info = await rt.jsm.consumers.info(rt.names.taskStream, taskConsumerName(group));
    expect(info.config.ack_wait).toBe(1000 * 1_000_000);
    expect(info.num_redelivered).toBe(0);
  });

  it('lets exactly one of two racing workers start an attempt', async () => {
    let runs = 0;
    const slow: Processor = async () => {
      runs++;
      return 'done';
    };
    const a = await startWorker({ slow }, { workerId: 'worker-a', concurrency: 1 });
    const b = await startWorker({ slow }, { workerId: 'worker-b', concurrency: 1 });
    const d = await dispatchInstance(rt, { group, processor: 'slow' });
    // Two copies of the same task (as after a re-publish past the dedup window): both get delivered.
    await Promise.all([
      publishTask(rt, group, d.task, ':copy-1'),
      publishTask(rt, group, d.task, ':copy-2'),
    ]);

    await waitFor(
      () => a.stats().completed + b.stats().completed + a.stats().skipped + b.stats().skipped === 2,
      {
        what: 'both copies handled',
      },
    );
    const events = await history(rt, d);
    expect(types(events).filter((t) => t === 'InstanceStarted')).toHaveLength(1);
    expect(types(events)).toEqual(['InstanceDispatched', 'InstanceStarted', 'InstanceSucceeded']);
    expect(runs).toBe(1);
    expect(a.stats().skipped + b.stats().skipped).toBe(1);
    await waitFor(
      async () => {
        const c = await consumerCounts();
        return c.ackPending === 0 && c.pending === 0;
      },
      { what: 'both copies acked' },
    );
  });

  it('does not run a task whose instance was cancelled before it started', async () => {
    let runs = 0;
    const w = await startWorker({ job: async () => runs++ });
    const d = await dispatchInstance(rt, { group, processor: 'job' });
    await cancel(rt, d, { signal: false });
    await publishTask(rt, group, d.task);

    await waitFor(() => w.stats().skipped === 1, { what: 'task skipped' });
    expect(runs).toBe(0);
    expect(types(await history(rt, d))).toEqual(['InstanceDispatched', 'InstanceCancelled']);
    await waitFor(async () => (await consumerCounts()).ackPending === 0, { what: 'task acked' });
  });

  it('terminates a malformed task, counts it, and keeps working', async () => {
    const w = await startWorker({ ok: async () => 'fine' });
    await rt.js.publish(subjects.task(rt.names, group), '{"v":1,"instanceId":42}');
    await rt.js.publish(subjects.task(rt.names, group), 'not json');
    const d = await dispatch(rt, { group, processor: 'ok' });

    await historyWith(d, 'InstanceSucceeded');
    await waitFor(() => w.stats().malformed === 2, { what: 'malformed tasks counted' });
    await waitFor(
      async () => {
        const c = await consumerCounts();
        return c.ackPending === 0 && c.pending === 0;
      },
      { what: 'malformed tasks terminated' },
    );
  });

  it('ships ctx.log lines to the instance log, readable in order', async () => {
    const w = await startWorker({
      chatty: async (ctx) => {
        ctx.log.info('starting', { step: 1 });
        for (let i = 0; i < 20; i++) ctx.log.debug(`line ${i}`);
        ctx.log.warn('almost done');
        ctx.log.error('not really an error', { code: 'E1' });
        return 'ok';
      },
    });
    const d = await dispatch(rt, { group, processor: 'chatty' });
    await historyWith(d, 'InstanceSucceeded');

    const lines = await waitFor(
      async () => {
        const ls = await readInstanceLogs(rt, d.instanceId, d.partition);
        return ls.length === 23 ? ls : undefined;
      },
      { what: 'all log lines stored' },
    );
    expect(lines.map((l) => l.msg)).toEqual([
      'starting',
      ...Array.from({ length: 20 }, (_, i) => `line ${i}`),
      'almost done',
      'not really an error',
    ]);
    expect(lines[0]).toMatchObject({
      level: 'info',
      fields: { step: 1 },
      attempt: 1,
      workerId: w.workerId,
    });
    expect(lines.at(-1)).toMatchObject({ level: 'error', fields: { code: 'E1' } });
    expect(await readInstanceLogs(rt, d.instanceId)).toHaveLength(23);
    expect(await readInstanceLogs(rt, `${d.instanceId}-none`, d.partition)).toEqual([]);
  });

  it('keeps a heartbeat key while running and deletes it on drain', async () => {
    const w = await startWorker({ a: async () => 1, b: async () => 2 }, { concurrency: 4 });
    const key = workerHeartbeatKey(w.workerId);

    const entry = await waitFor(async () => (await rt.buckets.heartbeats.get(key)) ?? undefined, {
      what: 'heartbeat key',
    });
    expect(entry.json()).toMatchObject({
      kind: 'worker',
      id: w.workerId,
      group,
      processors: ['a', 'b'],
      capacity: 4,
      running: 0,
    });
    const firstRevision = entry.revision;
    await waitFor(
      async () => ((await rt.buckets.heartbeats.get(key))?.revision ?? 0) > firstRevision,
      {
        what: 'heartbeat refreshed',
      },
    );

    await w.drain();
    const after = await rt.buckets.heartbeats.get(key);
    expect(after === null || after.operation !== 'PUT').toBe(true);
  });

  it('drains: stops pulling, waits for the running processor to report, then stops', async () => {
    const entered = gate();
    const release = gate();
    const w = await startWorker({
      long: async () => {
        entered.open();
        await release.promise;
        return 'finished';
      },
    });
    const first = await dispatch(rt, { group, processor: 'long' });
    await entered.promise;

    let drained = false;
    const draining = w.drain().then(() => {
      drained = true;
    });
    const second = await dispatch(rt, { group, processor: 'long' });
    // The worker's last pull has ended and the second task waits in the stream, untaken.
    await waitFor(
      async () => {
        const c = await consumerCounts();
        return c.waiting === 0 && c.pending === 1;
      },
      { what: 'pulling stopped' },
    );
    expect(drained).toBe(false);
    expect(w.running()).toBe(1);

    release.open();
    await draining;
    expect(types(await history(rt, first))).toEqual([
      'InstanceDispatched',
      'InstanceStarted',
      'InstanceSucceeded',
    ]);
    expect(types(await history(rt, second))).toEqual(['InstanceDispatched']);
    expect(await consumerCounts()).toMatchObject({ pending: 1, ackPending: 0 });
    expect(w.running()).toBe(0);
  });

  describe('a fresh task, run before its start is recorded (recordStartAfterMs)', () => {
    /** The test's clocks are one: a worker may trust a dispatch made after it began listening. */
    const sameClock = { maxClockSkewMs: 0 };

    it('records a run that ends sooner by its report alone, saying who ran it and when it began', async () => {
      const w = await startWorker({ ok: async () => 'fine' }, sameClock);
      const before = Date.now();
      const d = await dispatch(rt, { group, processor: 'ok', stamped: true });

      const events = await historyWith(d, 'InstanceSucceeded');
      expect(types(events)).toEqual(['InstanceDispatched', 'InstanceSucceeded']);
      const succeeded = events[1] as Succeeded;
      expect(succeeded.data).toMatchObject({ workerId: w.workerId, result: 'fine' });
      expect(succeeded.data.startedAtMs).toBeGreaterThanOrEqual(before);
      expect(succeeded.data.startedAtMs).toBeLessThanOrEqual(succeeded.atMs);
      await waitFor(async () => (await consumerCounts()).ackPending === 0, { what: 'task acked' });
      expect(w.stats()).toMatchObject({ completed: 1, refusedReports: 0, skipped: 0 });
    });

    it('runs a task handed out ahead at its fire time, recorded by its report alone', async () => {
      let ranAtMs: number | undefined;
      await startWorker({ job: async () => void (ranAtMs = Date.now()) }, sameClock);
      const d = await dispatch(rt, { group, processor: 'job', fireInMs: 1500, stamped: true });

      const events = await historyWith(d, 'InstanceSucceeded');
      expect(types(events)).toEqual(['InstanceDispatched', 'InstanceSucceeded']);
      const succeeded = events[1] as Succeeded;
      expect(ranAtMs).toBeGreaterThanOrEqual(d.task.fireTimeMs);
      expect(succeeded.data.startedAtMs).toBeGreaterThanOrEqual(d.task.fireTimeMs);
      expect(succeeded.data.startedAtMs).toBeLessThanOrEqual(ranAtMs ?? 0);
      await waitFor(async () => (await consumerCounts()).ackPending === 0, { what: 'task acked' });
    });

    it('records the start of a run still going after recordStartAfterMs, then its outcome', async () => {
      const release = gate();
      let beganAt = 0;
      const w = await startWorker(
        {
          slow: async () => {
            beganAt = Date.now();
            await release.promise;
            return 'late';
          },
        },
        { ...sameClock, recordStartAfterMs: 150 },
      );
      const d = await dispatch(rt, { group, processor: 'slow', stamped: true });

      const started = (await historyWith(d, 'InstanceStarted'))[1] as Started;
      expect(started.data.workerId).toBe(w.workerId);
      expect(started.atMs - beganAt).toBeGreaterThanOrEqual(149);
      // It says when the processor began.
      expect(started.data.beganAtMs).toBeLessThanOrEqual(beganAt);
      expect(beganAt - started.data.beganAtMs!).toBeLessThan(50);
      release.open();
      const events = await historyWith(d, 'InstanceSucceeded');
      expect(types(events)).toEqual(['InstanceDispatched', 'InstanceStarted', 'InstanceSucceeded']);
    });

    it('records the start before the first progress report', async () => {
      await startWorker(
        {
          steps: async (ctx) => {
            await ctx.progress(0.5);
            return 'done';
          },
        },
        sameClock,
      );
      const d = await dispatch(rt, { group, processor: 'steps', stamped: true });

      const events = await historyWith(d, 'InstanceSucceeded');
      expect(types(events)).toEqual([
        'InstanceDispatched',
        'InstanceStarted',
        'InstanceProgressed',
        'InstanceSucceeded',
      ]);
    });

    it('does not run a task whose instance it heard cancelled while the task was on its way', async () => {
      let runs = 0;
      const w = await startWorker({ job: async () => runs++ }, sameClock);
      const d = await dispatchInstance(rt, { group, processor: 'job', stamped: true });
      await cancel(rt, d, { signal: true });
      await publishTask(rt, group, d.task);

      await waitFor(() => w.stats().skipped === 1, { what: 'task skipped' });
      expect(runs).toBe(0);
      expect(types(await history(rt, d))).toEqual(['InstanceDispatched', 'InstanceCancelled']);
    });

    it('aborts a run when its late start is refused: the instance was cancelled, unannounced', async () => {
      const began = gate();
      let reason: unknown;
      const w = await startWorker(
        {
          waits: async (ctx) => {
            began.open();
            await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
            reason = ctx.signal.reason;
            throw ctx.signal.reason;
          },
        },
        { ...sameClock, recordStartAfterMs: 300 },
      );
      const d = await dispatch(rt, { group, processor: 'waits', stamped: true });
      await began.promise;
      await cancel(rt, d, { signal: false });

      await waitFor(() => w.stats().refusedReports === 1, { what: 'report refused' });
      expect(reason).toBeInstanceOf(AttemptAbortedError);
      expect((reason as AttemptAbortedError).reason).toBe('moved-on');
      expect(types(await history(rt, d))).toEqual(['InstanceDispatched', 'InstanceCancelled']);
    });

    it('records its start first when it began hearing cancels less than maxClockSkewMs before the dispatch', async () => {
      await startWorker({ ok: async () => 'fine' }, { maxClockSkewMs: 60_000 });
      const d = await dispatch(rt, { group, processor: 'ok', stamped: true });

      const events = await historyWith(d, 'InstanceSucceeded');
      expect(types(events)).toEqual(['InstanceDispatched', 'InstanceStarted', 'InstanceSucceeded']);
    });

    it('lets only one of two workers given copies of one fresh task record it; both may run it', async () => {
      let runs = 0;
      const job: Processor = async () => ++runs;
      const a = await startWorker({ job }, { ...sameClock, workerId: 'worker-a', concurrency: 1 });
      const b = await startWorker({ job }, { ...sameClock, workerId: 'worker-b', concurrency: 1 });
      const d = await dispatchInstance(rt, { group, processor: 'job', stamped: true });
      await Promise.all([
        publishTask(rt, group, d.task, ':copy-1'),
        publishTask(rt, group, d.task, ':copy-2'),
      ]);

      const handled = () =>
        a.stats().completed + b.stats().completed + a.stats().skipped + b.stats().skipped;
      await waitFor(() => handled() === 2, { what: 'both copies handled' });
      expect(types(await history(rt, d))).toEqual(['InstanceDispatched', 'InstanceSucceeded']);
      // Each copy ran, or found the attempt held by its own worker or recorded and did not. Of
      // two runs, the second's report (the same outcome, under the same id) is answered as a
      // duplicate of the first: the outcome is recorded once.
      expect(runs).toBeGreaterThanOrEqual(1);
      expect(runs).toBeLessThanOrEqual(2);
      expect(a.stats().completed + b.stats().completed).toBe(runs);
      expect(a.stats().skipped + b.stats().skipped).toBe(2 - runs);
    });
  });

  describe('messages of several tasks (a burst of one job)', () => {
    /** Dispatches `n` instances (each its own subject) and returns them. */
    const dispatchMany = (n: number, processor: string) =>
      Promise.all(Array.from({ length: n }, () => dispatchInstance(rt, { group, processor })));
    const startsOf = async (ds: Dispatched[]) =>
      Promise.all(
        ds.map(async (d) => types(await history(rt, d)).filter((t) => t === 'InstanceStarted')),
      );

    it('runs each task of the message once and acks the message only when the last is reported', async () => {
      const ran: string[] = [];
      const last = gate();
      const w = await startWorker({
        job: async (ctx) => {
          ran.push(ctx.instanceId);
          if (ctx.instanceId === ds[4]!.instanceId) await last.promise;
          return 'ok';
        },
      });
      const ds = await dispatchMany(5, 'job');
      await publishTasks(
        rt,
        group,
        ds.map((d) => d.task),
      );

      await waitFor(() => w.stats().completed === 4, { what: 'four of five reported' });
      // Four tasks are settled, the fifth runs: the one message is still held.
      expect(await consumerCounts()).toMatchObject({ ackPending: 1, pending: 0 });
      last.open();
      await historyWith(ds[4]!, 'InstanceSucceeded');
      await waitFor(async () => (await consumerCounts()).ackPending === 0, {
        what: 'message acked',
      });
      expect([...ran].sort()).toEqual(ds.map((d) => d.instanceId).sort());
      for (const d of ds)
        expect(types(await history(rt, d))).toEqual([
          'InstanceDispatched',
          'InstanceStarted',
          'InstanceSucceeded',
        ]);
      expect(w.stats()).toMatchObject({ completed: 5, skipped: 0, handedOn: 0 });
    });

    it('skips a task whose instance moved on before it started, and runs the others', async () => {
      const ran: string[] = [];
      const w = await startWorker({ job: async (ctx) => ran.push(ctx.instanceId) });
      const ds = await dispatchMany(3, 'job');
      await cancel(rt, ds[1]!, { signal: false });
      await publishTasks(
        rt,
        group,
        ds.map((d) => d.task),
      );

      await waitFor(() => w.stats().completed === 2 && w.stats().skipped === 1, {
        what: 'two run, one skipped',
      });
      expect([...ran].sort()).toEqual([ds[0]!.instanceId, ds[2]!.instanceId].sort());
      expect(types(await history(rt, ds[1]!))).toEqual(['InstanceDispatched', 'InstanceCancelled']);
      await waitFor(async () => (await consumerCounts()).ackPending === 0, {
        what: 'message acked',
      });
    });

    it('starts each task once when the message comes twice (a re-publish under another id)', async () => {
      let runs = 0;
      const w = await startWorker({ job: async () => runs++ });
      const ds = await dispatchMany(3, 'job');
      const tasks = ds.map((d) => d.task);
      await Promise.all([
        publishTasks(rt, group, tasks, ':copy-1'),
        publishTasks(rt, group, tasks, ':copy-2'),
      ]);

      await waitFor(() => w.stats().completed + w.stats().skipped === 6, {
        what: 'both copies handled',
      });
      expect(runs).toBe(3);
      expect(w.stats()).toMatchObject({ completed: 3, skipped: 3 });
      expect(await startsOf(ds)).toEqual([
        ['InstanceStarted'],
        ['InstanceStarted'],
        ['InstanceStarted'],
      ]);
      await waitFor(
        async () => {
          const c = await consumerCounts();
          return c.ackPending === 0 && c.pending === 0;
        },
        { what: 'both copies acked' },
      );
    });

    it('hands the tasks beyond what it takes on to the group once, where another worker runs them', async () => {
      const by = new Map<string, string>();
      const held = gate();
      // Worker a takes on twice its concurrency (1): it runs one task, queues one, and hands on
      // the other four as a message of their own. Its processor holds until b has run two.
      const a = await startWorker(
        {
          job: async (ctx) => {
            by.set(ctx.instanceId, 'a');
            await held.promise;
          },
        },
        { workerId: 'worker-a', concurrency: 1 },
      );
      const ds = await dispatchMany(6, 'job');
      await publishTasks(
        rt,
        group,
        ds.map((d) => d.task),
      );
      await waitFor(() => a.stats().handedOn === 4, { what: 'a hands four tasks on' });
      const b = await startWorker(
        { job: async (ctx) => void by.set(ctx.instanceId, 'b') },
        { workerId: 'worker-b', concurrency: 1 },
      );
      await waitFor(() => b.stats().completed >= 2, { what: 'b runs tasks a handed on' });
      held.open();

      await waitFor(() => a.stats().completed + b.stats().completed === 6, {
        what: 'all six reported',
      });
      expect(await startsOf(ds)).toEqual(ds.map(() => ['InstanceStarted']));
      expect([...by.keys()].sort()).toEqual(ds.map((d) => d.instanceId).sort());
      expect(a.stats().completed).toBeGreaterThanOrEqual(2);
      expect(b.stats().completed).toBeGreaterThanOrEqual(2);
      expect(a.stats().skipped + b.stats().skipped).toBe(0);
      // b kept all four, though it takes on two: a task is handed on at most once.
      expect(a.stats().handedOn).toBe(4);
      expect(b.stats().handedOn).toBe(0);
      await waitFor(
        async () => {
          const c = await consumerCounts();
          return c.ackPending === 0 && c.pending === 0;
        },
        { what: 'every message acked' },
      );
    });
  });

  describe('claiming tasks ahead of their fire time (claimAheadMs)', () => {
    const CLAIM = { claimAheadMs: 5000 };

    it('records the start when the task arrives, with the time it starts at, and runs the processor at that time', async () => {
      let ranAtMs: number | undefined;
      await startWorker({ job: async () => void (ranAtMs = Date.now()) }, CLAIM);
      const d = await dispatch(rt, { group, processor: 'job', fireInMs: 1500 });

      const claimed = await historyWith(d, 'InstanceStarted');
      const started = claimed.find((e): e is Started => e.type === 'InstanceStarted')!;
      expect(started.atMs).toBeLessThan(d.task.fireTimeMs);
      expect(started.data.startsAtMs).toBe(d.task.fireTimeMs);
      expect(ranAtMs, 'not run before its fire time').toBeUndefined();

      const events = await historyWith(d, 'InstanceSucceeded');
      expect(types(events)).toEqual(['InstanceDispatched', 'InstanceStarted', 'InstanceSucceeded']);
      const succeeded = events.at(-1) as Succeeded;
      expect(ranAtMs).toBeGreaterThanOrEqual(d.task.fireTimeMs);
      expect(succeeded.data.startedAtMs).toBeGreaterThanOrEqual(d.task.fireTimeMs);
      expect(succeeded.data.startedAtMs).toBeLessThanOrEqual(ranAtMs!);
    });

    it('does not run a claimed attempt that is cancelled before its fire time, and acks its task', async () => {
      let runs = 0;
      const w = await startWorker({ job: async () => runs++ }, CLAIM);
      const d = await dispatch(rt, { group, processor: 'job', fireInMs: 3000 });
      await historyWith(d, 'InstanceStarted');

      await cancel(rt, d, { signal: true });

      await waitFor(() => w.stats().skipped === 1, { what: 'claimed attempt dropped' });
      await waitFor(async () => (await consumerCounts()).ackPending === 0, { what: 'task acked' });
      expect(Date.now()).toBeLessThan(d.task.fireTimeMs);
      expect(runs).toBe(0);
      expect(w.running()).toBe(0);
      expect(types(await history(rt, d))).toEqual([
        'InstanceDispatched',
        'InstanceStarted',
        'InstanceCancelled',
      ]);
    });

    it('has a draining worker run its claimed attempts at their time before it stops', async () => {
      let ranAtMs: number | undefined;
      const w = await startWorker({ job: async () => void (ranAtMs = Date.now()) }, CLAIM);
      const d = await dispatch(rt, { group, processor: 'job', fireInMs: 1500 });
      await historyWith(d, 'InstanceStarted');

      await w.drain();

      expect(ranAtMs).toBeGreaterThanOrEqual(d.task.fireTimeMs);
      expect(types(await history(rt, d))).toEqual([
        'InstanceDispatched',
        'InstanceStarted',
        'InstanceSucceeded',
      ]);
      expect(await consumerCounts()).toMatchObject({ pending: 0, ackPending: 0 });
    });

    it('starts an unclaimed task as before when its fire time is already due', async () => {
      await startWorker({ job: async () => 'ok' }, CLAIM);
      const d = await dispatch(rt, { group, processor: 'job' });
      const events = await historyWith(d, 'InstanceSucceeded');
      const started = events.find((e): e is Started => e.type === 'InstanceStarted')!;
      expect(started.data.startsAtMs).toBeUndefined();
      expect((events.at(-1) as Succeeded).data.startedAtMs).toBeUndefined();
    });
  });
});
