import { randomUUID } from 'node:crypto';
import type { JetStreamManager } from '@nats-io/jetstream';
import { makeEvent, type EventContext } from '../../events/build.js';
import { decodeEvent } from '../../events/codec.js';
import { ConcurrencyError } from '../../events/errors.js';
import type { EventData, EventType } from '../../events/event.js';
import type { AppendResult, EventStore } from '../../events/event-store.js';
import { subjects, type Names } from '../../events/subjects.js';
import { msgIds, type TaskMessage } from '../../events/task.js';
import {
  AbortReason,
  AttemptAbortedError,
  AttemptEndedError,
  UnknownProcessorError,
  WorkerAbsentError,
} from './errors.js';
import type { LogShipper } from './log-shipper.js';
import { isPayloadProblem, retrying } from './retry.js';
import { errorInfo } from './error-info.js';
import { createTaskLogger } from './task-logger.js';
import type { TaskLog } from './task-log.js';
import { inNextTurn } from './next-turn.js';
import { sharedDelay, type DelayGroup, type SharedDelay } from './shared-delay.js';
import type { Processor, RunBegan, TaskContext, TaskLogger } from './types.js';

export interface AttemptDeps {
  store: EventStore;
  jsm: JetStreamManager;
  names: Names;
  workerId: string;
  clock: { now(): number };
  processors: Record<string, Processor>;
  shipper: LogShipper;
  /** False once the worker was stopped hard or its connection closed. */
  canRetry: () => boolean;
  /** True once the worker was stopped hard: nothing more is appended or acked. */
  abandoned: () => boolean;
  /**
   * This worker's presence epoch at `nowMs` (see Presence): undefined while its heartbeat may have
   * lapsed. A claimed attempt runs only in the epoch it was claimed in.
   */
  presenceEpoch: (nowMs: number) => number | undefined;
  /**
   * A task run as soon as it is received (a first delivery, younger than
   * UNRECORDED_RUN_MAX_AGE_MS) defers its start ({@link Attempt.deferStart}) and records it only if
   * its processor is still running this long (ms) after it began. 0: the start is always recorded
   * before the processor runs.
   */
  recordStartAfterMs: number;
  /** See WorkerOptions.onRunBegan (here it never throws). */
  onRunBegan?: (run: RunBegan) => void;
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
   * Instead of {@link start}: the attempt runs without its start recorded first. The start is
   * recorded, guarded by the dispatch's sequence as {@link start} records it, once the processor
   * has run `recordStartAfterMs`, or before it reports progress or is timed out; if that is refused
   * (the instance moved on), the processor is aborted (`moved-on`). A run that ends sooner records
   * its start and outcome as one event: the report, with `startedAtMs`, guarded by that same
   * sequence, so of two workers running one attempt only one can record it.
   */
  deferStart(): void;
  /**
   * Makes now what a run needs (the processor's context), for a run at a tick shared by many
   * attempts to find it made (a claim makes it too).
   */
  prepare(): void;
  /**
   * Runs the processor (with its timeout) and appends the final report. Call after `start` said
   * started. `onProcessorDone` is called as soon as the processor has returned or thrown, before
   * the report is appended.
   */
  run(onProcessorDone?: () => void): Promise<RunOutcome>;
  /**
   * {@link run} with callbacks: `reported` gets what run resolves with, `failed` what it rejects
   * with. Made ahead (a claim's), they let a tick of thousands of attempts allocate little more
   * than each processor's promise.
   */
  runThen(
    onProcessorDone: (() => void) | undefined,
    reported: (outcome: RunOutcome) => void,
    failed: (err: unknown) => void,
  ): void;
  /** Aborted with the attempt (control message, timeout, shutdown). */
  readonly signal: AbortSignal;
  /** Aborts the processor's signal (control message, shutdown). Idempotent. */
  abort(reason: AbortReason): void;
  /**
   * Calls `fn` once when the attempt is aborted (at once if it was): lighter than a listener on
   * {@link signal} for a wait that thousands of claimed attempts hold. Replaces an earlier `fn`.
   */
  onAbort(fn: () => void): void;
}

/**
 * How long a worker keeps trying to record a start whose append fails transiently (a JetStream
 * leader election takes seconds) before it hands the task back: a nak sent during the election
 * may be lost with the old consumer leader, and the task would then wait out the whole ack wait.
 */
const START_RETRY_MS = 15_000;

/** The deferred starts due after each worker's `recordStartAfterMs`, a timer per millisecond. */
const lateStarts = new Map<number, SharedDelay<HeldAttempt>>();

function lateStartsAfter(ms: number): SharedDelay<HeldAttempt> {
  let delay = lateStarts.get(ms);
  if (!delay) lateStarts.set(ms, (delay = sharedDelay(ms, (a: HeldAttempt) => a.startLate())));
  return delay;
}

/**
 * An attempt's state and behaviour, one object each: the methods live on the prototype, so an
 * attempt costs its fields only. A worker claiming ahead holds thousands of them until a tick, and
 * every scavenge at the tick copies what they hold (a closure per behaviour made them four times
 * larger).
 */
class HeldAttempt implements Attempt {
  readonly instanceId: string;
  readonly attempt: number;
  private readonly subject: string;
  /**
   * Made when first asked for (a processor that reads its signal, a claim, an abort): most attempts
   * never need one, and making one is a measurable share of a no-op attempt's cost.
   */
  private controller: AbortController | undefined;
  /** Sequence of this worker's own last append on the instance: the expectation of the next one. */
  private lastSeq: number;
  /** Set once this worker knows the attempt is over (timeout recorded or an append refused). */
  private ended = false;
  /** The attempt's appends in order; undefined until the first. */
  private chain: Promise<unknown> | undefined;
  /** Set by a claim: the report then says when the processor really began. */
  private claimed = false;
  /** Running with its start not recorded yet ({@link deferStart}); the report then says when it began. */
  private deferred = false;
  /** Records a deferred start once the processor has run `recordStartAfterMs` (see lateStarts). */
  private lateStart: DelayGroup<HeldAttempt> | undefined;
  /** The worker's presence epoch when the claim was recorded. */
  private claimEpoch: number | undefined;
  private madeContext: TaskContext | undefined;
  private abortHook: (() => void) | undefined;
  // What a run was given and what its processor did: an attempt runs once.
  private startedAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private onProcessorDone: (() => void) | undefined;
  private reported: ((outcome: RunOutcome) => void) | undefined;
  private failed: ((err: unknown) => void) | undefined;
  private outcome: Outcome | undefined;

  constructor(
    readonly task: TaskMessage,
    private readonly deps: AttemptDeps,
    /** Bound to the task (workerId, group, instanceId, jobId, attempt). */
    private readonly log: TaskLog,
  ) {
    this.instanceId = task.instanceId;
    this.attempt = task.attempt;
    this.subject = subjects.instance(deps.names, task.partition, task.instanceId);
    this.lastSeq = task.dispatchSeq;
  }

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  /** Appends of one instance go one after another, so each expects the sequence of the one before. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = (this.chain ?? Promise.resolve()).then(fn);
    // The chain only orders; each caller receives its own outcome (and error) through `next`.
    this.chain = next.then(ignore, ignore);
    return next;
  }

  /** Builds the event once, so a retried append carries the same message id and is stored once. */
  private append<T extends EventType>(
    type: T,
    data: EventData<T>,
    msgId?: string,
  ): Promise<AppendResult> {
    const { deps, subject } = this;
    const ctx: EventContext = {
      actor: { kind: 'worker', id: deps.workerId },
      nowMs: deps.clock.now(),
    };
    const event = makeEvent(type, data, ctx, msgId ?? randomUUID());
    const expectedLastSubjectSeq = this.lastSeq;
    // Built here from typed data: encoded without validating it again (`trusted`). The expectation
    // is this worker's own last ack, never read afresh, so no message id is registered (`dedup`).
    return retrying(
      () =>
        deps.store.append(subject, event, { expectedLastSubjectSeq, trusted: true, dedup: false }),
      { what: type, log: this.log, canRetry: deps.canRetry },
    );
  }

  /**
   * A duplicate ack for the start id means the stream already holds an InstanceStarted for this
   * attempt. It is ours to continue only if it names this worker and nothing has been appended
   * since (e.g. our earlier append was stored but its ack was lost); otherwise another worker, or an
   * earlier run of ours that already went further, owns the attempt.
   */
  private async startedByUsAndUntouched(seq: number): Promise<boolean> {
    const { deps } = this;
    const stored = await deps.jsm.streams.getMessage(deps.names.eventStream, { seq });
    if (!stored) return false;
    const decoded = decodeEvent(stored.data);
    const ours =
      decoded.ok &&
      decoded.event.type === 'InstanceStarted' &&
      decoded.event.data.workerId === deps.workerId &&
      decoded.event.data.attempt === this.attempt;
    return ours && (await deps.store.lastSeq(this.subject)) === seq;
  }

  start(claim?: { startsAtMs: number }): Promise<StartOutcome> {
    this.claimed = claim !== undefined;
    // Taken before the append: a lapse while it is on its way counts against the claim.
    this.claimEpoch = this.claimed ? this.deps.presenceEpoch(this.deps.clock.now()) : undefined;
    return this.recordStart(claim);
  }

  deferStart(): void {
    this.deferred = true;
  }

  prepare(): void {
    this.context();
  }

  /**
   * Due `recordStartAfterMs` after the processor began, unless it ended first: the processor of a
   * deferred start still runs, and its start is recorded now.
   */
  startLate(): void {
    this.lateStart = undefined;
    this.serial(() => this.startIfDeferred()).catch((err: unknown) =>
      this.log.error(
        { err },
        'could not record the start of a running attempt; its report will say when it began',
      ),
    );
  }

  /**
   * Within the attempt's appends: records a deferred start if it is not recorded yet. False when
   * that was refused: the attempt is then ended and its processor aborted.
   */
  private async startIfDeferred(): Promise<boolean> {
    if (!this.deferred) return !this.ended;
    this.lateStart?.delete(this);
    this.lateStart = undefined;
    const started = await this.recordStart({ beganAtMs: this.startedAtMs });
    this.deferred = false;
    if (started === StartOutcome.Started) return true;
    this.ended = true;
    this.abort(AbortReason.MovedOn);
    return false;
  }

  /**
   * Appends InstanceStarted guarded by the dispatch's sequence (see {@link start}): a claim's, or
   * (`beganAtMs`) a deferred one's.
   */
  private async recordStart(
    claim?: { startsAtMs: number } | { beganAtMs: number },
  ): Promise<StartOutcome> {
    const { deps, task, instanceId, attempt, log } = this;
    const workerId = deps.workerId;
    // Built for each try (the message id is the attempt's), so that `atMs` is when it started.
    const tryStart = () =>
      deps.store.append(
        this.subject,
        makeEvent(
          'InstanceStarted',
          { instanceId, attempt, workerId, ...claim },
          { actor: { kind: 'worker', id: workerId }, nowMs: deps.clock.now() },
          msgIds.start(instanceId, attempt),
        ),
        { expectedLastSubjectSeq: task.dispatchSeq, trusted: true, dedup: false },
      );
    try {
      const ack = await retrying(tryStart, {
        what: 'InstanceStarted',
        log,
        canRetry: deps.canRetry,
        forMs: START_RETRY_MS,
      });
      if (ack.duplicate && !(await this.startedByUsAndUntouched(ack.seq))) {
        log.info(
          { seq: ack.seq },
          'the attempt was already started (by another worker or an earlier delivery); not running it',
        );
        return StartOutcome.MovedOn;
      }
      this.lastSeq = ack.seq;
      if (this.claimed) this.context();
      log.debug({ seq: ack.seq, duplicate: ack.duplicate }, 'attempt started');
      return StartOutcome.Started;
    } catch (err) {
      if (err instanceof ConcurrencyError) {
        log.info(
          { dispatchSeq: task.dispatchSeq },
          'instance moved on before the start was recorded (cancelled, timed out or taken)',
        );
        return StartOutcome.MovedOn;
      }
      throw err;
    }
  }

  abort(reason: AbortReason): void {
    if (this.signal.aborted) return;
    this.log.info({ reason }, 'aborting the attempt');
    this.controller?.abort(new AttemptAbortedError(this.instanceId, this.attempt, reason));
    const hook = this.abortHook;
    this.abortHook = undefined;
    hook?.();
  }

  onAbort(fn: () => void): void {
    if (this.controller?.signal.aborted) fn();
    else this.abortHook = fn;
  }

  private onTimeout(timeoutMs: number): void {
    const { instanceId, attempt, log } = this;
    if (this.deps.abandoned()) return; // stopped hard: the supervisor times the attempt out
    log.warn({ timeoutMs }, 'attempt ran past its timeout; aborting it and recording the timeout');
    this.abort('timeout');
    void this.serial(async () => {
      try {
        // A timeout ends a started attempt: one not recorded yet records its start first.
        if (!(await this.startIfDeferred())) return;
        const ack = await this.append(
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
      this.ended = true;
    });
  }

  /** `ctx.progress`: see TaskContext. */
  progress(fraction?: number, note?: string): Promise<void> {
    const { instanceId, attempt } = this;
    return this.serial(async () => {
      if (this.ended || !(await this.startIfDeferred()))
        throw new AttemptEndedError(instanceId, attempt);
      const data: EventData<'InstanceProgressed'> = {
        instanceId,
        attempt,
        workerId: this.deps.workerId,
      };
      if (fraction !== undefined) data.progress = fraction;
      if (note !== undefined) data.note = note;
      try {
        this.lastSeq = (await this.append('InstanceProgressed', data)).seq;
      } catch (err) {
        if (err instanceof ConcurrencyError) {
          this.ended = true;
          throw new AttemptEndedError(instanceId, attempt, err);
        }
        throw err;
      }
    });
  }

  private async report(outcome: Outcome, startedAtMs: number): Promise<RunOutcome> {
    const { instanceId, attempt, log } = this;
    const workerId = this.deps.workerId;
    const ranFrom = this.claimed || this.deferred ? { startedAtMs } : {};
    try {
      if (outcome.ok) {
        try {
          const ack = await this.append(
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
          // Debug: at thousands of attempts a second, a line each would cost a worker a tenth of
          // its CPU (bench/stages.ts, 2026-12-06); the event is the record.
          log.debug({ seq: ack.seq, duplicate: ack.duplicate }, 'attempt succeeded');
          return RunOutcome.Reported;
        } catch (err) {
          if (!isPayloadProblem(err)) throw err;
          log.warn({ err }, 'the result cannot be recorded; reporting the attempt as failed');
          outcome = { ok: false, error: err };
        }
      }
      const error = errorInfo(outcome.error);
      const ack = await this.append(
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
          'late report refused: the attempt was ended meanwhile (timed out, cancelled, or its worker found lost)',
        );
        this.ended = true;
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
  private context(): TaskContext {
    return (this.madeContext ??= new AttemptContext(this));
  }

  /** The processor's `ctx.log`: made when the processor first uses it. */
  taskLogger(): TaskLogger {
    const { task, deps } = this;
    return createTaskLogger({
      log: this.log,
      shipper: deps.shipper,
      subject: subjects.log(deps.names, task.partition, this.instanceId),
      attempt: this.attempt,
      workerId: deps.workerId,
      clock: deps.clock,
    });
  }

  run(onProcessorDone?: () => void): Promise<RunOutcome> {
    return new Promise<RunOutcome>((resolve, reject) =>
      this.runThen(onProcessorDone, resolve, reject),
    );
  }

  runThen(
    onProcessorDone: (() => void) | undefined,
    reported: (outcome: RunOutcome) => void,
    failed: (err: unknown) => void,
  ): void {
    const { task, deps } = this;
    this.onProcessorDone = onProcessorDone;
    this.reported = reported;
    this.failed = failed;
    this.startedAtMs = deps.clock.now();
    const timeoutMs = task.timeoutMs;
    if (timeoutMs !== undefined)
      this.timer = setTimeout(() => this.onTimeout(timeoutMs), timeoutMs);
    if (this.deferred) this.lateStart = lateStartsAfter(deps.recordStartAfterMs).add(this);
    const ctx = this.context();
    let returned: Promise<unknown>;
    try {
      if (this.claimed) this.checkPresence();
      if (!Object.hasOwn(deps.processors, task.processor)) {
        throw new UnknownProcessorError(task.processor, Object.keys(deps.processors));
      }
      const processor = deps.processors[task.processor] as Processor;
      this.startedAtMs = deps.clock.now();
      deps.onRunBegan?.({
        jobId: task.jobId,
        instanceId: task.instanceId,
        attempt: task.attempt,
        fireTimeMs: task.fireTimeMs,
        beganAtMs: this.startedAtMs,
      });
      returned = processor(ctx);
    } catch (error) {
      this.processorEnded({ ok: false, error });
      return;
    }
    // As `await` would take it (a value, a promise or a thenable).
    Promise.resolve(returned).then(this.processorReturned, this.processorThrew);
  }

  /**
   * A claimed attempt is not run when this worker's heartbeat may have lapsed since the claim (it
   * was stopped, or cut off from NATS, for about a TTL): a supervisor may have found the worker
   * lost and given the attempt's job to another worker meanwhile. The attempt is reported failed
   * instead, without calling the processor; if it was already ended, that report is refused.
   */
  private checkPresence(): void {
    const { deps, instanceId, attempt } = this;
    const epoch = deps.presenceEpoch(deps.clock.now());
    if (epoch !== undefined && epoch === this.claimEpoch) return;
    this.log.warn(
      { claimEpoch: this.claimEpoch, epoch },
      'not running a claimed attempt: this worker’s heartbeat may have lapsed since the claim; reporting it failed',
    );
    throw new WorkerAbsentError(instanceId, attempt);
  }

  /** Made with the attempt, so that a tick of thousands of claimed attempts does not make them. */
  private readonly processorReturned = (result: unknown) =>
    this.processorEnded({ ok: true, result });
  private readonly processorThrew = (error: unknown) => this.processorEnded({ ok: false, error });

  private processorEnded(outcome: Outcome): void {
    clearTimeout(this.timer);
    this.lateStart?.delete(this);
    this.lateStart = undefined;
    this.outcome = outcome;
    try {
      this.onProcessorDone?.();
    } catch (err) {
      this.failed?.(err);
      return;
    }
    // The report waits for the event loop's next turn: tasks let through together (a tick shared
    // by many jobs) all call their processors first, and then report.
    inNextTurn(this);
  }

  /** In the turn after the processor ended: appends the report. */
  resume(): void {
    const outcome = this.outcome;
    const reported = this.reported;
    const failed = this.failed;
    if (!outcome || !reported || !failed) return;
    if (this.deps.abandoned()) {
      this.log.warn(
        { outcome: outcome.ok ? 'succeeded' : 'failed' },
        'worker stopped; attempt left unreported',
      );
      reported(RunOutcome.Abandoned);
      return;
    }
    this.serial(() => this.report(outcome, this.startedAtMs)).then(reported, failed);
  }
}

type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };

function ignore(): undefined {
  return undefined;
}

/**
 * What a processor is given. A class, not an object literal with getters: V8 keeps such a literal in
 * dictionary mode (a hash table of its own properties, checked with `%HasFastProperties`), made
 * anew with its getters for every attempt. The class's contexts are plain objects of one shape
 * sharing the prototype's getters (bench/worker-path.js: a worker's own CPU per task fell to about
 * a third in most runs; bench/stages.js: a worker's CPU per instance fell by about a tenth).
 */
class AttemptContext implements TaskContext {
  readonly instanceId: string;
  readonly jobId: string;
  readonly attempt: number;
  readonly params: unknown;
  readonly fireTimeMs: number;
  readonly idempotencyKey: string;
  readonly #held: HeldAttempt;
  #log: TaskLogger | undefined;

  constructor(held: HeldAttempt) {
    this.#held = held;
    this.instanceId = held.instanceId;
    this.jobId = held.task.jobId;
    this.attempt = held.attempt;
    this.params = held.task.params;
    this.fireTimeMs = held.task.fireTimeMs;
    this.idempotencyKey = `${held.instanceId}:${held.attempt}`;
  }

  get signal(): AbortSignal {
    return this.#held.signal;
  }

  get log(): TaskLogger {
    return (this.#log ??= this.#held.taskLogger());
  }

  /** An own function, not a method: a processor may take it out of its context (`{ progress }`). */
  readonly progress = (fraction?: number, note?: string): Promise<void> =>
    this.#held.progress(fraction, note);
}

/** An attempt of `task`, logging to `log` (bound to the task's ids). */
export function createAttempt(task: TaskMessage, deps: AttemptDeps, log: TaskLog): Attempt {
  return new HeldAttempt(task, deps, log);
}
