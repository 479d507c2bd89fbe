import { randomUUID } from 'node:crypto';
import type { JetStreamManager } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { makeEvent, type EventContext } from '../../events/build.js';
import { decodeEvent } from '../../events/codec.js';
import { ConcurrencyError } from '../../events/errors.js';
import type { EventData, EventType } from '../../events/event.js';
import type { AppendResult, EventStore } from '../../events/event-store.js';
import { subjects, type Names } from '../../events/subjects.js';
import { msgIds, type TaskMessage } from '../../events/task.js';
import {
  AttemptAbortedError,
  AttemptEndedError,
  UnknownProcessorError,
  type AbortReason,
} from './errors.js';
import type { LogShipper } from './log-shipper.js';
import { isPayloadProblem, retrying } from './retry.js';
import { errorInfo } from './error-info.js';
import { createTaskLogger } from './task-logger.js';
import { nextTurn } from './next-turn.js';
import type { Processor, TaskContext } from './types.js';

export interface AttemptDeps {
  store: EventStore;
  jsm: JetStreamManager;
  names: Names;
  workerId: string;
  clock: { now(): number };
  processors: Record<string, Processor>;
  shipper: LogShipper;
  /** Bound to the task (workerId, group, instanceId, jobId, attempt). */
  log: Logger;
  /** False once the worker was stopped hard or its connection closed. */
  canRetry: () => boolean;
  /** True once the worker was stopped hard: nothing more is appended or acked. */
  abandoned: () => boolean;
}

export const StartOutcome = { Started: 'started', MovedOn: 'moved-on' } as const;
export type StartOutcome = (typeof StartOutcome)[keyof typeof StartOutcome];

export const RunOutcome = {
  Reported: 'reported',
  Refused: 'refused',
  Abandoned: 'abandoned',
} as const;
export type RunOutcome = (typeof RunOutcome)[keyof typeof RunOutcome];

/** One attempt of one instance held by this worker, from its start append to its final report. */
export interface Attempt {
  readonly instanceId: string;
  readonly attempt: number;
  /**
   * Appends InstanceStarted guarded by the dispatch's sequence: only one worker can start an
   * attempt. With `startsAtMs` (in the future) it is a claim: the attempt is this worker's to run
   * from then.
   */
  start(claim?: { startsAtMs: number }): Promise<StartOutcome>;
  /**
   * Runs the processor (with its timeout) and appends the final report. Call after `start` said
   * started. `onProcessorDone` is called as soon as the processor has returned or thrown, before
   * the report is appended.
   */
  run(onProcessorDone?: () => void): Promise<RunOutcome>;
  /** Aborted with the attempt (control message, timeout, shutdown). */
  readonly signal: AbortSignal;
  /** Aborts the processor's signal (control message, shutdown). Idempotent. */
  abort(reason: AbortReason): void;
}

/**
 * How long a worker keeps trying to record a start whose append fails transiently (a JetStream
 * leader election takes seconds) before it hands the task back: a nak sent during the election
 * may be lost with the old consumer leader, and the task would then wait out the whole ack wait.
 */
const START_RETRY_MS = 15_000;

export function createAttempt(task: TaskMessage, deps: AttemptDeps): Attempt {
  const { store, workerId, log } = deps;
  const { instanceId, attempt } = task;
  const subject = subjects.instance(deps.names, task.partition, instanceId);
  /**
   * Made when first asked for (a processor that reads its signal, a claim, an abort): most attempts
   * never need one, and making one is a measurable share of a no-op attempt's cost.
   */
  let controller: AbortController | undefined;
  const signal = (): AbortSignal => (controller ??= new AbortController()).signal;
  /** Sequence of this worker's own last append on the instance: the expectation of the next one. */
  let lastSeq = task.dispatchSeq;
  /** Set once this worker knows the attempt is over (timeout recorded or an append refused). */
  let ended = false;
  let chain: Promise<unknown> = Promise.resolve();

  /** Appends of one instance go one after another, so each expects the sequence of the one before. */
  function serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = chain.then(fn);
    // The chain only orders; each caller receives its own outcome (and error) through `next`.
    chain = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** Builds the event once, so a retried append carries the same message id and is stored once. */
  function append<T extends EventType>(
    type: T,
    data: EventData<T>,
    msgId?: string,
  ): Promise<AppendResult> {
    const ctx: EventContext = { actor: { kind: 'worker', id: workerId }, nowMs: deps.clock.now() };
    const event = makeEvent(type, data, ctx, msgId ?? randomUUID());
    const expectedLastSubjectSeq = lastSeq;
    // Built here from typed data: encoded without validating it again (`trusted`).
    return retrying(() => store.append(subject, event, { expectedLastSubjectSeq, trusted: true }), {
      what: type,
      log,
      canRetry: deps.canRetry,
    });
  }

  /**
   * A duplicate ack for the start id means the stream already holds an InstanceStarted for this
   * attempt. It is ours to continue only if it names this worker and nothing has been appended
   * since (e.g. our earlier append was stored but its ack was lost); otherwise another worker, or an
   * earlier run of ours that already went further, owns the attempt.
   */
  async function startedByUsAndUntouched(seq: number): Promise<boolean> {
    const stored = await deps.jsm.streams.getMessage(deps.names.eventStream, { seq });
    if (!stored) return false;
    const decoded = decodeEvent(stored.data);
    const ours =
      decoded.ok &&
      decoded.event.type === 'InstanceStarted' &&
      decoded.event.data.workerId === workerId &&
      decoded.event.data.attempt === attempt;
    return ours && (await store.lastSeq(subject)) === seq;
  }

  /** Set by a claim: the report then says when the processor really began. */
  let claimed = false;

  async function start(claim?: { startsAtMs: number }): Promise<StartOutcome> {
    claimed = claim !== undefined;
    // Built for each try (the message id is the attempt's), so that `atMs` is when it started.
    const tryStart = () =>
      store.append(
        subject,
        makeEvent(
          'InstanceStarted',
          { instanceId, attempt, workerId, ...(claim && { startsAtMs: claim.startsAtMs }) },
          { actor: { kind: 'worker', id: workerId }, nowMs: deps.clock.now() },
          msgIds.start(instanceId, attempt),
        ),
        { expectedLastSubjectSeq: task.dispatchSeq, trusted: true },
      );
    try {
      const ack = await retrying(tryStart, {
        what: 'InstanceStarted',
        log,
        canRetry: deps.canRetry,
        forMs: START_RETRY_MS,
      });
      if (ack.duplicate && !(await startedByUsAndUntouched(ack.seq))) {
        log.info(
          { seq: ack.seq },
          'the attempt was already started (by another worker or an earlier delivery); not running it',
        );
        return StartOutcome.MovedOn;
      }
      lastSeq = ack.seq;
      if (claimed) context();
      log.debug({ seq: ack.seq, duplicate: ack.duplicate }, 'attempt started');
      return StartOutcome.Started;
    } catch (err) {
      if (err instanceof ConcurrencyError) {
        log.info(
          { dispatchSeq: task.dispatchSeq },
          'instance moved on before start (cancelled, timed out or taken); not running it',
        );
        return StartOutcome.MovedOn;
      }
      throw err;
    }
  }

  function abort(reason: AbortReason): void {
    if (signal().aborted) return;
    log.info({ reason }, 'aborting the attempt');
    controller?.abort(new AttemptAbortedError(instanceId, attempt, reason));
  }

  function onTimeout(timeoutMs: number): void {
    if (deps.abandoned()) return; // stopped hard: the supervisor times the attempt out
    log.warn({ timeoutMs }, 'attempt ran past its timeout; aborting it and recording the timeout');
    abort('timeout');
    void serial(async () => {
      try {
        const ack = await append(
          'InstanceTimedOut',
          { instanceId, attempt, timeoutMs },
          msgIds.timeout(instanceId, attempt),
        );
        log.info({ seq: ack.seq, duplicate: ack.duplicate }, 'timeout recorded');
      } catch (err) {
        if (err instanceof ConcurrencyError)
          log.info('attempt already ended elsewhere; timeout not recorded by this worker');
        else
          log.error(
            { err },
            'recording the timeout failed; the supervisor will time the attempt out',
          );
      }
      // Our chain does not advance: the processor's late report must be refused.
      ended = true;
    });
  }

  function progress(fraction?: number, note?: string): Promise<void> {
    return serial(async () => {
      if (ended) throw new AttemptEndedError(instanceId, attempt);
      const data: EventData<'InstanceProgressed'> = { instanceId, attempt, workerId };
      if (fraction !== undefined) data.progress = fraction;
      if (note !== undefined) data.note = note;
      try {
        lastSeq = (await append('InstanceProgressed', data)).seq;
      } catch (err) {
        if (err instanceof ConcurrencyError) {
          ended = true;
          throw new AttemptEndedError(instanceId, attempt, err);
        }
        throw err;
      }
    });
  }

  async function report(
    outcome: { ok: true; result: unknown } | { ok: false; error: unknown },
    startedAtMs: number,
  ): Promise<RunOutcome> {
    const ranFrom = claimed ? { startedAtMs } : {};
    try {
      if (outcome.ok) {
        try {
          const ack = await append(
            'InstanceSucceeded',
            {
              instanceId,
              attempt,
              workerId,
              ...(outcome.result !== undefined && { result: outcome.result }),
              ...ranFrom,
            },
            msgIds.succeed(instanceId, attempt),
          );
          log.info({ seq: ack.seq, duplicate: ack.duplicate }, 'attempt succeeded');
          return RunOutcome.Reported;
        } catch (err) {
          if (!isPayloadProblem(err)) throw err;
          log.warn({ err }, 'the result cannot be recorded; reporting the attempt as failed');
          outcome = { ok: false, error: err };
        }
      }
      const error = errorInfo(outcome.error);
      const ack = await append(
        'InstanceAttemptFailed',
        { instanceId, attempt, workerId, error, ...ranFrom },
        msgIds.attemptFailed(instanceId, attempt),
      );
      log.info(
        {
          seq: ack.seq,
          duplicate: ack.duplicate,
          error: { name: error.name, message: error.message },
        },
        'attempt failed',
      );
      return RunOutcome.Reported;
    } catch (err) {
      if (err instanceof ConcurrencyError) {
        log.warn(
          { expectedSeq: err.expectedSeq, outcome: outcome.ok ? 'succeeded' : 'failed' },
          'late report refused: the attempt was ended meanwhile (timed out or cancelled)',
        );
        ended = true;
        return RunOutcome.Refused;
      }
      throw err;
    }
  }

  /**
   * The processor's context, made once. A claim makes it when the start is recorded, ahead of the
   * tick: a tick of thousands of claimed attempts then allocates little but the processors' own
   * promises, and what it allocates is copied by every scavenge until the reports are written.
   */
  let madeContext: TaskContext | undefined;
  function context(): TaskContext {
    if (madeContext) return madeContext;
    // The logger is made when the processor first uses it.
    let taskLog: TaskContext['log'] | undefined;
    madeContext = {
      instanceId,
      jobId: task.jobId,
      attempt,
      params: task.params,
      fireTimeMs: task.fireTimeMs,
      idempotencyKey: `${instanceId}:${attempt}`,
      get signal() {
        return signal();
      },
      progress,
      get log() {
        taskLog ??= createTaskLogger({
          log,
          shipper: deps.shipper,
          subject: subjects.log(deps.names, task.partition, instanceId),
          attempt,
          workerId,
          clock: deps.clock,
        });
        return taskLog;
      },
    };
    return madeContext;
  }

  async function run(onProcessorDone?: () => void): Promise<RunOutcome> {
    let startedAtMs = deps.clock.now();
    const timer =
      task.timeoutMs !== undefined
        ? setTimeout(onTimeout, task.timeoutMs, task.timeoutMs)
        : undefined;
    const ctx = context();
    let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
    try {
      if (!Object.hasOwn(deps.processors, task.processor)) {
        throw new UnknownProcessorError(task.processor, Object.keys(deps.processors));
      }
      const processor = deps.processors[task.processor] as Processor;
      startedAtMs = deps.clock.now();
      outcome = { ok: true, result: await processor(ctx) };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      clearTimeout(timer);
      onProcessorDone?.();
    }
    // The report waits for the event loop's next turn: tasks let through together (a tick shared
    // by many jobs) all call their processors first, and then report.
    await nextTurn();
    if (deps.abandoned()) {
      log.warn(
        { outcome: outcome.ok ? 'succeeded' : 'failed' },
        'worker stopped; attempt left unreported',
      );
      return RunOutcome.Abandoned;
    }
    const settled = outcome;
    return serial(() => report(settled, startedAtMs));
  }

  return {
    instanceId,
    attempt,
    start,
    run,
    abort,
    get signal() {
      return signal();
    },
  };
}
