import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer } from '@nats-io/jetstream';
import type { Msg, Status, Subscription } from '@nats-io/transport-node';
import { tokenSchema } from '../../domain/job-spec.js';
import { ValidationError } from '../../events/errors.js';
import { subjects } from '../../events/subjects.js';
import { controlMessageSchema, MAX_RECORD_START_AFTER_MS } from '../../events/task.js';
import { createAbortsHeard } from './aborts-heard.js';
import { createActiveAttempts } from './active-attempts.js';
import { createHeartbeat, workerHeartbeatKey, type HeartbeatLoop } from './heartbeat.js';
import { createPresence, type Presence } from './presence.js';
import { createLogShipper } from './log-shipper.js';
import { ensureTaskConsumer } from './task-consumer.js';
import { handleTaskMessage, warmTaskParsers, type TaskHandlerDeps } from './task-handler.js';
import { createRunGate } from './run-gate.js';
import { createTaskPuller, type TaskPuller } from './task-puller.js';
import { emptyWorkerStats, type RunBegan, type Worker, type WorkerOptions } from './types.js';
import { packageVersion } from './version.js';

const WORKER_ID = /^[A-Za-z0-9_-]{1,200}$/;

const State = { New: 'new', Running: 'running', Draining: 'draining', Stopped: 'stopped' } as const;
type State = (typeof State)[keyof typeof State];

function defaultWorkerId(): string {
  const host =
    hostname()
      .replace(/[^A-Za-z0-9_-]/g, '_')
      .slice(0, 100) || 'host';
  return `${host}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/** See WorkerOptions.recordStartAfterMs. */
export const DEFAULT_RECORD_START_AFTER_MS = 200;
/** See WorkerOptions.maxClockSkewMs. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 1_000;

function checkOptions(o: WorkerOptions, workerId: string): void {
  const issues: { path: string; message: string }[] = [];
  if (!tokenSchema.safeParse(o.group).success)
    issues.push({ path: 'group', message: 'use 1–80 letters, digits, "-" or "_"' });
  if (!WORKER_ID.test(workerId))
    issues.push({ path: 'workerId', message: 'use 1–200 letters, digits, "-" or "_"' });
  const positiveInt = (path: string, v: number | undefined, min = 1) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min))
      issues.push({ path, message: `must be an integer ≥ ${min}` });
  };
  positiveInt('concurrency', o.concurrency);
  positiveInt('maxAhead', o.maxAhead);
  positiveInt('ackWaitMs', o.ackWaitMs, 1000);
  positiveInt('heartbeatMs', o.heartbeatMs);
  positiveInt('pullExpiresMs', o.pullExpiresMs, 1000);
  positiveInt('maxClockSkewMs', o.maxClockSkewMs, 0);
  const r = o.recordStartAfterMs;
  if (r !== undefined && !(Number.isInteger(r) && r >= 0 && r <= MAX_RECORD_START_AFTER_MS))
    issues.push({
      path: 'recordStartAfterMs',
      message: `must be an integer from 0 to ${MAX_RECORD_START_AFTER_MS}`,
    });
  if (issues.length) throw new ValidationError('worker options', issues);
}

/**
 * A worker of one group: pulls tasks from the group's shared durable consumer (competing with the
 * group's other workers), records each attempt's start, runs its processor, and records the outcome.
 * See docs/protocol.md for the wire protocol it speaks.
 */
export function createWorker(opts: WorkerOptions): Worker {
  const workerId = opts.workerId ?? defaultWorkerId();
  checkOptions(opts, workerId);
  const { runtime, group, processors } = opts;
  const { nc, js, jsm, names, store } = runtime;
  const concurrency = opts.concurrency ?? 16;
  const maxAhead = opts.maxAhead ?? 10_000;
  const claimAheadMs = opts.claimAheadMs ?? 0;
  if (!(Number.isInteger(claimAheadMs) && claimAheadMs >= 0))
    throw new RangeError(`claimAheadMs must be an integer ≥ 0, got ${claimAheadMs}`);
  const pullExpiresMs = opts.pullExpiresMs ?? 5000;
  const clock = opts.clock ?? { now: () => Date.now() };
  const log = opts.log.child({ workerId, group });
  const { onRunBegan } = opts;

  const stats = emptyWorkerStats();
  const shipper = createLogShipper({ publisher: runtime.publisher, log });
  const active = createActiveAttempts();
  const aborts = createAbortsHeard();
  /** The connection's status events, while the worker runs (they tell when it may miss control messages). */
  let statuses: (AsyncIterable<Status> & { stop?: () => void }) | undefined;
  /** Tasks received and not yet settled: waiting for their fire time, for a run slot, or running. */
  const held = new Set<Promise<void>>();
  const gate = createRunGate({ concurrency, clock, onWaiting: () => wake() });
  /** Tasks that count against `concurrency`: all held ones but those waiting for their fire time. */
  const busy = () => held.size - gate.waiting;
  let state: State = State.New;
  let startedAtMs = 0;
  /** Pulls over one subscription for the worker's life (made with the first pull). */
  let puller: TaskPuller | undefined;
  let pulling: Promise<void> = Promise.resolve();
  let control: Subscription | undefined;
  let heartbeat: HeartbeatLoop | undefined;
  /** Made by the first acknowledged beat, before any task is pulled. */
  let presence: Presence | undefined;
  let draining: Promise<void> | undefined;
  let wakeSlot: (() => void) | undefined;
  let starting: Promise<void> | undefined;
  /** True once start() succeeded: there is something to release. */
  let started = false;

  const abandoned = () => state === State.Stopped;
  const canRetry = () => !abandoned() && !nc.isClosed();

  function wake(): void {
    const w = wakeSlot;
    wakeSlot = undefined;
    w?.();
  }

  /** Resolves when a slot is free or the worker stops pulling. */
  async function freeSlot(): Promise<void> {
    while (state === State.Running && (busy() >= concurrency || gate.waiting >= maxAhead)) {
      await new Promise<void>((resolve) => (wakeSlot = resolve));
    }
  }

  function hold(p: Promise<void>): void {
    held.add(p);
    void p
      .catch((err: unknown) => log.error({ err }, 'task handler failed'))
      .finally(() => {
        held.delete(p);
        wake();
      });
  }

  async function pullLoop(consumerName: string, workingEveryMs: number): Promise<void> {
    let failures = 0;
    let consumer: Consumer | undefined;
    /** Tasks per received message, to size pulls by: the largest lately, easing back to the mean. */
    let tasksPerMessage = 1;
    // One for all tasks of the loop: a worker may hold a second's worth of tasks.
    const taskDeps: TaskHandlerDeps = {
      store,
      jsm,
      names,
      workerId,
      clock,
      processors,
      shipper,
      log,
      canRetry,
      abandoned,
      aborts,
      maxClockSkewMs: opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS,
      presenceEpoch: (nowMs) => presence?.epoch(nowMs),
      workingEveryMs,
      retryStartAfterMs: 1000,
      stats,
      active,
      gate,
      claimAheadMs,
      recordStartAfterMs: opts.recordStartAfterMs ?? DEFAULT_RECORD_START_AFTER_MS,
      ...(onRunBegan && {
        onRunBegan: (run: RunBegan) => {
          try {
            onRunBegan(run);
          } catch (err) {
            log.warn({ err, instanceId: run.instanceId }, 'onRunBegan failed; the run goes on');
          }
        },
      }),
      // A message of several tasks may fill the run slots and queue as many again behind them.
      room: () => 2 * concurrency - busy(),
      handOn: async (subject, payload, msgId) => {
        await runtime.publisher.publish(subject, payload, { msgId });
      },
    };
    while (state === State.Running) {
      await freeSlot();
      if (state !== State.Running) break;
      try {
        // Looked up again after a failure: a deleted consumer fails here, and the loop backs off.
        consumer ??= await js.consumers.get(names.taskStream, consumerName);
        puller ??= createTaskPuller(
          nc,
          { stream: names.taskStream, consumer: consumerName },
          (expiresMs) =>
            log.warn({ pullExpiresMs: expiresMs }, 'task pull outlived its expiry; pulling again'),
        );
        // drain() or stop() may have come while the consumer was being looked up, before there was
        // a puller for them to close.
        if (state !== State.Running) {
          puller.close();
          break;
        }
        const pull = puller.pull({
          // At least one: tasks waiting for their fire time may have come due since freeSlot().
          // A message may carry several tasks (a burst of one job): ask for about as many
          // messages as the free slots take, going by the tasks per message seen lately.
          batch: Math.max(1, Math.floor((concurrency - busy()) / tasksPerMessage)),
          expiresMs: pullExpiresMs,
        });
        for await (const m of pull) {
          if (state !== State.Running) {
            // Received as drain or stop closed the pull: hand it straight back to the group.
            m.nak();
            continue;
          }
          const tasks = handleTaskMessage(m, taskDeps);
          for (const t of tasks) hold(t);
          // Up at once to a larger message (a burst has begun), back down gently.
          const n = Math.max(1, tasks.length);
          tasksPerMessage = n > tasksPerMessage ? n : tasksPerMessage + (n - tasksPerMessage) / 8;
        }
        failures = 0;
      } catch (err) {
        if (state !== State.Running) break;
        consumer = undefined;
        failures++;
        const delayMs = Math.min(5000, 250 * 2 ** Math.min(failures, 5));
        log.warn({ err, failures, delayMs }, 'pulling tasks failed; retrying');
        await sleep(delayMs);
      }
    }
  }

  function onControl(err: Error | null, msg: Msg): void {
    if (err) {
      log.error({ err }, 'control subscription failed');
      return;
    }
    let raw: unknown;
    try {
      raw = msg.json();
    } catch (parseErr) {
      stats.badControls++;
      log.warn({ err: parseErr, subject: msg.subject }, 'control message is not JSON; ignored');
      return;
    }
    const parsed = controlMessageSchema.safeParse(raw);
    if (!parsed.success) {
      stats.badControls++;
      log.warn(
        {
          subject: msg.subject,
          detail: ValidationError.fromZod('control message', parsed.error).message,
        },
        'invalid control message; ignored',
      );
      return;
    }
    const c = parsed.data;
    aborts.heard(c.instanceId, clock.now());
    for (const a of active.of(c.instanceId)) {
      if (c.attempt === undefined || c.attempt === a.attempt) a.abort(c.reason);
    }
  }

  let released: Promise<void> | undefined;
  /** Flushes log lines, unsubscribes, and stops heartbeats (deleting the key). Runs once. */
  function release(): Promise<void> {
    released ??= doRelease();
    return released;
  }

  async function doRelease(): Promise<void> {
    const problems: unknown[] = [];
    await shipper.flush();
    control?.unsubscribe();
    control = undefined;
    statuses?.stop?.();
    statuses = undefined;
    aborts.deaf();
    try {
      await heartbeat?.stop();
    } catch (err) {
      problems.push(err);
      log.error({ err }, 'deleting the heartbeat key failed; it expires with its TTL');
    }
    log.info({ ...stats, droppedLogLines: shipper.dropped }, 'worker stopped');
    if (problems.length) throw problems[0];
  }

  return {
    workerId,

    start() {
      if (state !== State.New)
        return Promise.reject(new Error(`worker ${workerId} was already started`));
      state = State.Running;
      startedAtMs = clock.now();
      starting = doStart();
      return starting;
    },

    drain() {
      if (draining) return draining;
      draining = (async () => {
        await settledStart();
        if (state !== State.Running) {
          state = State.Stopped;
          return;
        }
        state = State.Draining;
        gate.close(); // unclaimed tasks waiting for their fire time go back to the group
        log.info(
          { running: busy() },
          'draining: no more pulls; waiting for running attempts to report',
        );
        wake();
        // Closing the puller unsubscribes its inbox, so the server drops the request; tasks already
        // received are handed back (nak) by the loop. A task in flight at that very moment is
        // redelivered after the ack wait.
        puller?.close();
        await pulling;
        while (held.size > 0) await Promise.allSettled([...held]);
        state = State.Stopped;
        await release();
      })();
      return draining;
    },

    async stop() {
      await settledStart();
      if (state === State.New) {
        state = State.Stopped;
        return;
      }
      if (state !== State.Stopped) {
        state = State.Stopped;
        log.warn(
          { running: active.size },
          'stopping now: running attempts are aborted and left unreported',
        );
        wake();
        gate.close();
        puller?.close();
        for (const a of active) a.abort('shutdown');
        await pulling;
      }
      if (started) await release();
    },

    running: () => busy(),
    stats: () => ({ ...stats, droppedLogLines: shipper.dropped }),
  };

  /** Waits for a start in progress; its failure belongs to start()'s caller, who has received it. */
  async function settledStart(): Promise<void> {
    await starting?.then(
      () => undefined,
      () => undefined,
    );
  }

  /** While disconnected, control messages are lost: tasks then record their starts first. */
  function watchConnection(): void {
    const it = nc.status() as AsyncIterable<Status> & { stop?: () => void };
    statuses = it;
    void (async () => {
      for await (const s of it) {
        if (s.type === 'disconnect') aborts.deaf();
        // Resubscribed as it reconnected; flushed, the server has the subscription again.
        else if (s.type === 'reconnect')
          await nc.flush().then(
            () => aborts.listening(clock.now()),
            () => undefined,
          );
      }
    })().catch((err: unknown) => log.warn({ err }, 'connection status watch ended'));
  }

  async function doStart(): Promise<void> {
    try {
      warmTaskParsers(); // compiled now, not while the first task message waits
      const consumer = await ensureTaskConsumer(jsm, names, group, opts.ackWaitMs ?? 30_000, log);
      control = nc.subscribe(subjects.control(names, '*'), { callback: onControl });
      watchConnection();
      await nc.flush(); // the server has the subscription: from now on, every abort is heard
      aborts.listening(clock.now());
      const ttlMs = runtime.buckets.ttls.heartbeatMs;
      heartbeat = createHeartbeat({
        kv: runtime.buckets.heartbeats,
        key: workerHeartbeatKey(workerId),
        intervalMs: opts.heartbeatMs ?? 1000,
        log,
        clock,
        onBeat: (sentAtMs) => {
          if (presence) presence.beat(sentAtMs);
          else presence = createPresence({ ttlMs, firstSentAtMs: sentAtMs });
        },
        value: () => ({
          kind: 'worker',
          id: workerId,
          group,
          processors: Object.keys(processors),
          capacity: concurrency,
          running: busy(),
          startedAtMs,
          version: opts.version ?? packageVersion(),
        }),
      });
      await heartbeat.start();
      started = true;
      const workingEveryMs = Math.max(100, Math.floor(consumer.ackWaitMs / 3));
      pulling = pullLoop(consumer.name, workingEveryMs);
      log.info(
        {
          consumer: consumer.name,
          concurrency,
          ackWaitMs: consumer.ackWaitMs,
          processors: Object.keys(processors),
        },
        'worker started',
      );
    } catch (err) {
      state = State.Stopped;
      control?.unsubscribe();
      statuses?.stop?.();
      throw err;
    }
  }
}
