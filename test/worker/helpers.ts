import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { makeEvent } from '../../src/events/build.js';
import type { JetschedEvent } from '../../src/events/event.js';
import { instanceIdFor, partitionOf, subjects } from '../../src/events/subjects.js';
import {
  msgIds,
  taskMessageFor,
  type ControlMessage,
  type TaskMessage,
} from '../../src/events/task.js';
import type { Runtime } from '../../src/services/runtime.js';

export const silent = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
const scheduler = { kind: 'scheduler', id: 'test-scheduler' } as const;

export interface Dispatched {
  instanceId: string;
  jobId: string;
  partition: number;
  subject: string;
  dispatchSeq: number;
  task: TaskMessage;
}

export interface DispatchOptions {
  group: string;
  processor: string;
  params?: unknown;
  timeoutMs?: number;
  /** Fire time this far ahead (a fire made ahead, as the scheduler's fireAheadMs does). Default 0. */
  fireInMs?: number;
  /**
   * The task says when it was dispatched, as the scheduler's tasks do (a worker may then run it
   * before recording its start). Default: it does not (as an older scheduler's), so its start is
   * recorded first.
   */
  stamped?: boolean;
}

/** Plays the scheduler: appends InstanceDispatched (attempt 1) and returns the task it would publish. */
export async function dispatchInstance(rt: Runtime, o: DispatchOptions): Promise<Dispatched> {
  const jobId = `job-${randomBytes(3).toString('hex')}`;
  const instanceId = instanceIdFor(jobId, randomBytes(4).toString('hex'));
  const partition = partitionOf(jobId, rt.partitions);
  const subject = subjects.instance(rt.names, partition, instanceId);
  const fireTimeMs = Date.now() + (o.fireInMs ?? 0);
  const data = {
    instanceId,
    jobId,
    attempt: 1,
    group: o.group,
    processor: o.processor,
    fireTimeMs,
    priority: 5,
    ...(o.params !== undefined && { params: o.params }),
    ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
  };
  const event = makeEvent(
    'InstanceDispatched',
    data,
    { actor: scheduler, nowMs: Date.now() },
    msgIds.dispatch(instanceId, 1),
  );
  const ack = await rt.store.append(subject, event, { expectedLastSubjectSeq: 0 });
  const task: TaskMessage = {
    v: 1,
    instanceId,
    jobId,
    partition,
    attempt: 1,
    processor: o.processor,
    fireTimeMs,
    priority: 5,
    dispatchSeq: ack.seq,
    ...(o.stamped && { dispatchedAtMs: event.atMs }),
    ...(o.params !== undefined && { params: o.params }),
    ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
  };
  return { instanceId, jobId, partition, subject, dispatchSeq: ack.seq, task };
}

/** Publishes a task to its group; `copy` gives a second copy its own message id (so both are stored). */
export async function publishTask(
  rt: Runtime,
  group: string,
  task: TaskMessage,
  copy = '',
): Promise<void> {
  await rt.js.publish(subjects.task(rt.names, group), JSON.stringify(task), {
    msgID: `${msgIds.task(task.instanceId, task.attempt)}${copy}`,
  });
}

/** Publishes several tasks as one message, as the scheduler does with a burst's first attempts. */
export async function publishTasks(
  rt: Runtime,
  group: string,
  tasks: TaskMessage[],
  copy = '',
): Promise<void> {
  const { payload, msgId } = taskMessageFor(tasks);
  await rt.js.publish(subjects.task(rt.names, group), payload, {
    msgID: `${msgId}${copy}`,
  });
}

/** Dispatches and publishes in one go. */
export async function dispatch(rt: Runtime, o: DispatchOptions): Promise<Dispatched> {
  const d = await dispatchInstance(rt, o);
  await publishTask(rt, o.group, d.task);
  return d;
}

/** Plays the scheduler cancelling an instance: the event first, then the abort signal to its worker. */
export async function cancel(rt: Runtime, d: Dispatched, opts: { signal: boolean }): Promise<void> {
  const last = await rt.store.lastSeq(d.subject);
  const event = makeEvent(
    'InstanceCancelled',
    { instanceId: d.instanceId, reason: 'test' },
    { actor: scheduler, nowMs: Date.now() },
    msgIds.cancelled(d.instanceId),
  );
  await rt.store.append(d.subject, event, { expectedLastSubjectSeq: last });
  if (opts.signal) {
    const msg: ControlMessage = {
      v: 1,
      action: 'abort',
      instanceId: d.instanceId,
      attempt: 1,
      reason: 'cancelled',
    };
    rt.nc.publish(subjects.control(rt.names, d.instanceId), JSON.stringify(msg));
    await rt.nc.flush();
  }
}

export async function history(rt: Runtime, d: Dispatched): Promise<JetschedEvent[]> {
  return (await rt.store.readHistory(d.subject)).events.map((e) => e.event);
}

export const types = (events: JetschedEvent[]): string[] => events.map((e) => e.type);

/** A promise with its resolve handle, for processors that block until the test lets them go. */
export function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}
