import type { Runtime } from '../runtime.js';
import { JetschedError } from '../../events/errors.js';
import type { EventContext } from '../../events/build.js';
import { makeEvent } from '../../events/build.js';
import type { EventData, JetschedEvent, StoredEvent } from '../../events/event.js';
import { MAX_FIRES_PER_BATCH } from '../../events/job-events.js';
import { instanceIdFor, parseEventSubject, partitionOf, subjects } from '../../events/subjects.js';
import { msgIds, taskMessageFor, type TaskMessage } from '../../events/task.js';
import type { FireReason } from '../../events/job-events.js';
import type { DispatchSpec } from '../../events/instance-events.js';
import type { JobView } from '../../projections/job-view.js';
import type { InstanceView } from '../../projections/instance-view.js';
import { createTaskCoalescer } from './task-coalescer.js';

/** This replica does not (or no longer) hold the partition: it must not append there. */
export class NotOwnerError extends JetschedError {
  constructor(readonly partition: number) {
    super(
      'NOT_OWNER',
      `partition ${partition} is not held by this scheduler (lease lost or never taken)`,
    );
  }
}

/**
 * The scheduler's appends. Each is guarded by the aggregate's last folded sequence, so a
 * stale writer is refused (ConcurrencyError) and nothing is written twice.
 */
export function createWriter(
  rt: Runtime,
  apply: (stored: StoredEvent) => void,
  holds: (partition: number) => boolean = () => true,
) {
  const { store, names, partitions } = rt;

  /** Fencing: checked right before each write, so a replica whose lease lapsed writes nothing. */
  function guard(subject: string): void {
    const p = parseEventSubject(names, subject)?.partition;
    if (p === undefined || !holds(p)) throw new NotOwnerError(p ?? -1);
  }

  async function append(
    subject: string,
    event: JetschedEvent,
    expected: number,
  ): Promise<StoredEvent | undefined> {
    guard(subject);
    const ack = await store.append(subject, event, {
      expectedLastSubjectSeq: expected,
      trusted: true,
    });
    if (ack.duplicate) return undefined; // written before (by us, before a crash or retry): the fold will bring it
    const stored: StoredEvent = { seq: ack.seq, subject, storedAtMs: event.atMs, event };
    apply(stored);
    return stored;
  }

  /**
   * What a worker is handed for one attempt. Built field by field (no spreads: a burst builds
   * thousands a second, and a conditional spread takes V8's slow path).
   */
  function taskOf(
    d: Omit<TaskSource, 'group'>,
    dispatchSeq: number,
    partition = partitionOf(d.jobId, partitions),
  ): TaskMessage {
    const task: TaskMessage = {
      v: 1,
      instanceId: d.instanceId,
      jobId: d.jobId,
      partition,
      attempt: d.attempt,
      processor: d.processor,
      fireTimeMs: d.fireTimeMs,
      priority: d.priority,
      dispatchSeq,
      dispatchedAtMs: d.dispatchedAtMs,
    };
    if (d.params !== undefined) task.params = d.params;
    if (d.timeoutMs !== undefined) task.timeoutMs = d.timeoutMs;
    return task;
  }

  /** The task of a fire's first attempt, dispatched with the fire (`dispatch`, the fire's own). */
  function firstTaskOf(
    jobId: string,
    partition: number,
    fire: FiredData,
    dispatch: DispatchSpec,
    dispatchedAtMs: number,
  ) {
    const { processor, priority, params, timeoutMs } = dispatch;
    const { instanceId, fireTimeMs } = fire;
    const source = {
      instanceId,
      jobId,
      attempt: 1,
      fireTimeMs,
      processor,
      priority,
      params,
      timeoutMs,
      dispatchedAtMs,
    };
    return taskOf(source, 0, partition);
  }

  /**
   * Publishes tasks of one group as one task message; a fresh `reofferSuffix` re-offers it under a
   * new message id (else a repeat is a no-op).
   */
  async function publishTasks(group: string, tasks: TaskMessage[], reofferSuffix?: string) {
    const { payload, msgId } = taskMessageFor(tasks);
    await rt.publisher.publish(subjects.task(names, group), payload, {
      msgId: reofferSuffix ? `${msgId}:${reofferSuffix}` : msgId,
    });
  }
  const coalescer = createTaskCoalescer((group, tasks) => publishTasks(group, tasks));

  return {
    jobSubject: (jobId: string) => subjects.job(names, partitionOf(jobId, partitions), jobId),
    instanceSubject: (jobId: string, instanceId: string) =>
      subjects.instance(names, partitionOf(jobId, partitions), instanceId),

    /**
     * Records one fire of a job (at most once per (job, fireTime), whoever races for it). With
     * `dispatch`, its first attempt is dispatched in the same event: one append instead of a fire
     * and an InstanceDispatched. Its task is then published; `task` settles with that publish,
     * which the caller does not have to wait for before its next fire (a task that was not
     * published is published again by the instance's supervision).
     */
    async fire(job: JobView, fire: FireRequest, ctx: EventContext): Promise<Fired> {
      const data = firedData(job, fire, job.runs + 1);
      const event = makeEvent(
        'JobFired',
        { jobId: job.jobId, ...data },
        ctx,
        fire.instanceSuffix
          ? msgIds.triggerFire(data.instanceId)
          : msgIds.fire(job.jobId, fire.fireTimeMs),
      );
      const stored = await append(this.jobSubject(job.jobId), event, job.lastSeq);
      return {
        instanceId: data.instanceId,
        stored,
        task: this.firstTask(job.jobId, data, event.atMs),
      };
    },

    /**
     * Records the first of `fires` (triggered ones, each with its `instanceSuffix`, all dispatched
     * with the fire) that fit in one append: a JobFired for one, else a JobFiredBatch of up to
     * {@link MAX_FIRES_PER_BATCH} fires and {@link BATCH_BUDGET_CHARS} of JSON. Publishes their
     * tasks as {@link fire} does. `taken`: how many of `fires` were recorded (at least one).
     */
    async fireMany(
      job: JobView,
      fires: readonly FireRequest[],
      ctx: EventContext,
    ): Promise<{ fired: Fired[]; taken: number }> {
      const [first, ...more] = fires;
      if (!first) throw new RangeError('fireMany: no fires');
      const batch = more.length > 0 ? fitting(job, firedData(job, first, job.runs + 1), more) : [];
      const head = batch[0];
      if (!head || batch.length === 1)
        return { fired: [await this.fire(job, first, ctx)], taken: 1 };
      const event = makeEvent(
        'JobFiredBatch',
        { jobId: job.jobId, fires: batch },
        ctx,
        msgIds.fireBatch(head.instanceId, batch.length),
      );
      const stored = await append(this.jobSubject(job.jobId), event, job.lastSeq);
      const tasks = this.firstTasks(job.jobId, batch, event.atMs);
      const fired = batch.map((data) => ({
        instanceId: data.instanceId,
        stored,
        task: tasks.get(data.instanceId),
      }));
      return { fired, taken: batch.length };
    },

    /**
     * Publishes the task of a fire's first attempt when it was dispatched with the fire, with the
     * other such tasks of this turn (see {@link createTaskCoalescer}).
     */
    firstTask(jobId: string, data: FiredData, firedAtMs: number): Promise<boolean> | undefined {
      const dispatch = data.dispatch;
      if (!dispatch) return undefined;
      const task = firstTaskOf(jobId, partitionOf(jobId, partitions), data, dispatch, firedAtMs);
      return coalescer.publish(dispatch.group, task);
    },

    /**
     * Publishes the tasks of a batch's first attempts (those dispatched with their fire), with the
     * other first attempts of this turn (see {@link createTaskCoalescer}). For each fire
     * dispatched: the publish that carries its task.
     */
    firstTasks(jobId: string, batch: readonly FiredData[], firedAtMs: number) {
      const sent = new Map<string, Promise<boolean>>();
      const partition = partitionOf(jobId, partitions);
      for (const data of batch) {
        if (!data.dispatch) continue;
        const task = firstTaskOf(jobId, partition, data, data.dispatch, firedAtMs);
        sent.set(data.instanceId, coalescer.publish(data.dispatch.group, task));
      }
      return sent;
    },

    async skipped(
      job: JobView,
      reason: 'misfire' | 'overlap' | 'max-concurrent',
      ticks: { count: number; firstMs: number; lastMs: number },
      ctx: EventContext,
    ) {
      const event = makeEvent(
        'JobFiresSkipped',
        {
          jobId: job.jobId,
          reason,
          count: ticks.count,
          firstFireTimeMs: ticks.firstMs,
          lastFireTimeMs: ticks.lastMs,
        },
        ctx,
        `skip:${job.jobId}:${ticks.firstMs}:${ticks.lastMs}`,
      );
      return append(this.jobSubject(job.jobId), event, job.lastSeq);
    },

    /** Appends InstanceDispatched for an attempt and hands the task to the job's worker group. */
    async dispatch(
      job: JobView,
      a: {
        instanceId: string;
        attempt: number;
        fireTimeMs: number;
        params?: unknown;
        expectedSeq: number;
      },
      ctx: EventContext,
    ) {
      const event = makeEvent(
        'InstanceDispatched',
        {
          instanceId: a.instanceId,
          jobId: job.jobId,
          attempt: a.attempt,
          fireTimeMs: a.fireTimeMs,
          ...dispatchOf(job, a.params),
        },
        ctx,
        msgIds.dispatch(a.instanceId, a.attempt),
      );
      const subject = this.instanceSubject(job.jobId, a.instanceId);
      guard(subject);
      const ack = await store.append(subject, event, {
        expectedLastSubjectSeq: a.expectedSeq,
        trusted: true,
      });
      if (!ack.duplicate) apply({ seq: ack.seq, subject, storedAtMs: event.atMs, event });
      await this.publishTask({ ...event.data, dispatchedAtMs: event.atMs }, ack.seq);
      return ack;
    },

    /** (Re)publishes the task of a dispatched attempt; the same message id makes repeats harmless. */
    async publishTask(
      d: TaskSource,
      dispatchSeq: number,
      /** A fresh suffix re-offers the task under a new message id (after a worker loss). */
      reofferSuffix?: string,
    ) {
      await publishTasks(d.group, [taskOf(d, dispatchSeq)], reofferSuffix);
    },

    /** Appends a supervisor decision (timeout, retry, failure, cancel) to an instance. */
    async instanceEvent(inst: InstanceView, event: JetschedEvent) {
      return append(this.instanceSubject(inst.jobId, inst.instanceId), event, inst.lastSeq);
    },

    /** Tells whichever worker runs the instance to abort it (core NATS; best effort, the record is the event). */
    abort(instanceId: string, attempt: number, reason: 'cancelled' | 'timeout' | 'superseded') {
      rt.nc.publish(
        subjects.control(names, instanceId),
        JSON.stringify({ v: 1, action: 'abort', instanceId, attempt, reason }),
      );
    },
  };
}
export type Writer = ReturnType<typeof createWriter>;

/** What a task is made from: an instance's dispatched attempt. */
type TaskSource = Pick<
  InstanceView,
  | 'instanceId'
  | 'jobId'
  | 'attempt'
  | 'processor'
  | 'params'
  | 'fireTimeMs'
  | 'timeoutMs'
  | 'priority'
  | 'group'
  | 'dispatchedAtMs'
>;

/** A fire recorded (or found recorded: `stored` undefined for a repeated append), with its task. */
export interface Fired {
  instanceId: string;
  stored: StoredEvent | undefined;
  /**
   * The publish of its first attempt's task, when it was dispatched with the fire; resolves with
   * whether the task went out in a message with others (under that message's id).
   */
  task?: Promise<boolean> | undefined;
}

/** One fire to record: its tick (or trigger), and whether its first attempt is dispatched with it. */
export interface FireRequest {
  fireTimeMs: number;
  reason: FireReason;
  /** Set for triggered fires: the instance id is `<jobId>~<suffix>` instead of the fire time. */
  instanceSuffix?: string;
  params?: unknown;
  rerunOf?: string;
  dispatch?: boolean;
}

/** A fire as a JobFired records it (and a JobFiredBatch each of its fires), without the job id. */
type FiredData = Omit<EventData<'JobFired'>, 'jobId'>;

/**
 * JSON characters of fires one JobFiredBatch takes: at most 3 bytes a character in UTF-8, the
 * batch stays well under the event size cap (256 KiB).
 */
const BATCH_BUDGET_CHARS = 64 * 1024;

/** `head` and as many of the fires after it as one JobFiredBatch takes, numbered on from it. */
function fitting(job: JobView, head: FiredData, more: readonly FireRequest[]): FiredData[] {
  const batch = [head];
  let chars = JSON.stringify(head).length;
  for (const fire of more) {
    if (batch.length === MAX_FIRES_PER_BATCH) break;
    const data = firedData(job, fire, head.runNumber + batch.length);
    chars += JSON.stringify(data).length;
    if (chars > BATCH_BUDGET_CHARS) break;
    batch.push(data);
  }
  return batch;
}

function firedData(job: JobView, fire: FireRequest, runNumber: number): FiredData {
  const instanceId = instanceIdFor(job.jobId, fire.instanceSuffix ?? String(fire.fireTimeMs));
  const data: FiredData = {
    instanceId,
    fireTimeMs: fire.fireTimeMs,
    reason: fire.reason,
    runNumber,
  };
  if (fire.params !== undefined) data.params = fire.params;
  if (fire.rerunOf !== undefined) data.rerunOf = fire.rerunOf;
  if (fire.dispatch) data.dispatch = dispatchOf(job, fire.params);
  return data;
}

/** What an attempt of the job runs: its group, processor, priority, timeout, and params (given ones, else the job's). */
function dispatchOf(job: JobView, params: unknown): DispatchSpec {
  const spec = job.spec;
  const runWith = params !== undefined ? params : spec.params;
  const dispatch: DispatchSpec = {
    group: spec.group,
    processor: spec.processor,
    priority: spec.priority,
  };
  if (runWith !== undefined) dispatch.params = runWith;
  if (spec.timeoutMs !== undefined) dispatch.timeoutMs = spec.timeoutMs;
  return dispatch;
}
