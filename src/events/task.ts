import { z } from 'zod';
import { tokenSchema } from '../domain/job-spec.js';
import { utf8 } from './utf8.js';

/**
 * What a worker receives on `<prefix>.task.<group>` (stream `<PREFIX>_TASKS`, work-queue retention,
 * one shared durable pull consumer per group). It is not an event: the matching
 * `InstanceDispatched` event on the instance's subject (or, for a first attempt, the `JobFired`
 * that dispatched it) is the record.
 */
export const taskMessageSchema = z.strictObject({
  v: z.literal(1),
  instanceId: z.string().min(1),
  jobId: tokenSchema,
  partition: z.number().int().nonnegative(),
  attempt: z.number().int().positive(),
  processor: z.string().min(1),
  params: z.unknown().optional(),
  /**
   * Intended fire time. The scheduler may hand a scheduled tick out ahead of it (`fireAheadMs`);
   * a worker starts no attempt before this time.
   */
  fireTimeMs: z.number().int(),
  timeoutMs: z.number().int().positive().optional(),
  priority: z.number().int().min(0).max(9),
  /**
   * Stream sequence of the InstanceDispatched event, or 0 for a first attempt dispatched with its
   * fire (`JobFired.dispatch`: the instance's subject is still empty). The worker appends
   * InstanceStarted with `Nats-Expected-Last-Subject-Sequence` set to it, so only one worker can
   * start an attempt and a cancelled or timed-out instance cannot be started.
   */
  dispatchSeq: z.number().int().nonnegative(),
  /**
   * When the attempt was dispatched (the scheduler's clock): a worker runs a task before recording
   * its start only while it is fresh (see UNRECORDED_RUN_MAX_AGE_MS). Absent: the start is
   * recorded first.
   */
  dispatchedAtMs: z.number().int().optional(),
});
export type TaskMessage = z.infer<typeof taskMessageSchema>;

/**
 * A worker may run a task before its start is recorded (see the worker's `recordStartAfterMs`)
 * only while the task is younger than this: its own clock against the task's `dispatchedAtMs`, or
 * its `fireTimeMs` when that is later (a task handed out ahead waits for it; the scheduler counts
 * a task's age for {@link SECOND_COPY_MIN_AGE_MS} from the later of the two as well).
 */
export const UNRECORDED_RUN_MAX_AGE_MS = 5_000;

/** The longest `recordStartAfterMs` a worker takes. */
export const MAX_RECORD_START_AFTER_MS = 1_000;

/**
 * The scheduler hands out a second copy of a dispatched task (under a new message id: its worker
 * was found lost, or a pull may have been lost) only once the task is at least this old. A worker
 * runs a task this old only after recording its start, and the copy's start and any run of the
 * first copy not recorded yet are guarded by the same sequence: so the first copy cannot still be
 * running unrecorded (it began before {@link UNRECORDED_RUN_MAX_AGE_MS} and recorded its start at
 * most {@link MAX_RECORD_START_AFTER_MS} later), as long as the clocks of the scheduler and the
 * worker are within a few seconds of each other.
 */
export const SECOND_COPY_MIN_AGE_MS = 10_000;

/** The most tasks one task message carries. */
export const MAX_TASKS_PER_MESSAGE = 32;

/**
 * Several tasks in one message on the group's subject: the first attempts of a burst of fires
 * recorded by one `JobFiredBatch`, or of the fires of several jobs made in one turn of the
 * scheduler's event loop (a tick shared by many jobs). A worker handles each task as if it had
 * come alone, and acks the message once every task in it is settled (started and reported, or
 * found moved on); should any of them need to be offered again, it hands the whole message back
 * instead, and the tasks already started are refused on redelivery by their expected sequence.
 */
export const taskBatchMessageSchema = z.strictObject({
  v: z.literal(1),
  tasks: z.array(taskMessageSchema).min(2).max(MAX_TASKS_PER_MESSAGE),
  /**
   * Set by a worker that handed these tasks on (more than it took on): whoever receives the
   * message keeps all of them, so that a task is handed on at most once.
   */
  handedOn: z.literal(true).optional(),
});
export type TaskBatchMessage = z.infer<typeof taskBatchMessageSchema>;

/**
 * The message that carries `tasks` (at least one, at most {@link MAX_TASKS_PER_MESSAGE}), encoded,
 * and its deterministic message id: a task on its own for one, else a batch.
 */
export function taskMessageFor(
  tasks: readonly TaskMessage[],
  opts: { handedOn?: true } = {},
): { payload: Uint8Array; msgId: string } {
  const [head, second] = tasks;
  if (!head) throw new RangeError('taskMessageFor: no tasks');
  const body: TaskMessage | TaskBatchMessage = second ? { v: 1, tasks: [...tasks], ...opts } : head;
  return {
    payload: utf8(JSON.stringify(body)),
    msgId: second
      ? msgIds.tasks(head.instanceId, tasks.length)
      : msgIds.task(head.instanceId, head.attempt),
  };
}

/** Published (core NATS) on `<prefix>.ctl.<instanceId>` to make the running worker abort the attempt. */
export const controlMessageSchema = z.strictObject({
  v: z.literal(1),
  action: z.literal('abort'),
  instanceId: z.string().min(1),
  attempt: z.number().int().positive().optional(),
  reason: z.enum(['cancelled', 'timeout', 'superseded']),
});
export type ControlMessage = z.infer<typeof controlMessageSchema>;

/** Deterministic message ids for appends that may be repeated after a crash. */
export const msgIds = {
  fire: (jobId: string, fireTimeMs: number) => `fire:${jobId}:${fireTimeMs}`,
  trigger: (jobId: string, triggerId: string) => `trigger:${jobId}:${triggerId}`,
  triggerFire: (instanceId: string) => `fire:${instanceId}`,
  /** A JobFiredBatch: its first fire's instance and how many fires it holds. */
  fireBatch: (firstInstanceId: string, count: number) => `fires:${firstInstanceId}:${count}`,
  dispatch: (instanceId: string, attempt: number) => `dispatch:${instanceId}:${attempt}`,
  task: (instanceId: string, attempt: number) => `task:${instanceId}:${attempt}`,
  /** A task message of several first attempts: its first task's instance and how many it holds. */
  tasks: (firstInstanceId: string, count: number) => `tasks:${firstInstanceId}:${count}`,
  start: (instanceId: string, attempt: number) => `start:${instanceId}:${attempt}`,
  succeed: (instanceId: string, attempt: number) => `succeed:${instanceId}:${attempt}`,
  attemptFailed: (instanceId: string, attempt: number) => `fail:${instanceId}:${attempt}`,
  timeout: (instanceId: string, attempt: number) => `timeout:${instanceId}:${attempt}`,
  workerLost: (instanceId: string, attempt: number) => `lost:${instanceId}:${attempt}`,
  retry: (instanceId: string, attempt: number) => `retry:${instanceId}:${attempt}`,
  failed: (instanceId: string) => `failed:${instanceId}`,
  cancelled: (instanceId: string) => `cancelled:${instanceId}`,
} as const;
