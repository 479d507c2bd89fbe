import type { Logger } from 'pino';
import { ValidationError } from '../../events/errors.js';
import {
  UNRECORDED_RUN_MAX_AGE_MS,
  taskBatchMessageSchema,
  taskMessageFor,
  taskMessageSchema,
  type TaskMessage,
} from '../../events/task.js';
import { checkedParser } from '../../events/json-check.js';
import {
  createAttempt,
  RunOutcome,
  StartOutcome,
  type Attempt,
  type AttemptDeps,
} from './attempt.js';
import type { ActiveAttempts } from './active-attempts.js';
import type { AbortsHeard } from './aborts-heard.js';
import type { RunGate } from './run-gate.js';
import { shareMessage, type Share, type TaskLease } from './task-lease.js';
import type { TaskDelivery } from './task-puller.js';
import type { WorkerStats } from './types.js';
import { lazyChild, type TaskLog } from './task-log.js';

export interface TaskHandlerDeps extends AttemptDeps {
  /** Bound to workerId and group. */
  log: Logger;
  /** In-progress acks are sent this often while the task is held. */
  workingEveryMs: number;
  /** Delay before a task whose start could not be recorded is offered again. */
  retryStartAfterMs: number;
  stats: WorkerStats;
  /** Attempts currently running, for control messages and shutdown. */
  active: ActiveAttempts;
  /** The aborts this worker heard lately, and since when it hears them all. */
  aborts: AbortsHeard;
  /** See WorkerOptions.maxClockSkewMs. */
  maxClockSkewMs: number;
  /** Fire-time waits and run slots, shared by the worker's tasks. */
  gate: RunGate;
  /**
   * A task handed out ahead of its fire time is claimed (its start recorded, with the time it will
   * start) this long before that time, so that nothing is appended at the tick itself. 0: never
   * claimed; the start is recorded at the fire time.
   */
  claimAheadMs: number;
  /**
   * How many more tasks the worker takes on now (those received count already): a message's tasks
   * beyond that are handed on to the group.
   */
  room: () => number;
  /**
   * Publishes a task message to the group again (a message's tasks beyond {@link room}, for the
   * group's other workers to take); resolves once stored.
   */
  handOn: (subject: string, payload: Uint8Array, msgId: string) => Promise<void>;
}

type Parsed =
  { ok: true; tasks: TaskMessage[]; handedOn?: boolean } | { ok: false; detail: string };

const parseTaskMessage = checkedParser(taskMessageSchema);
const parseTaskBatch = checkedParser(taskBatchMessageSchema);

/** Compiles the task message checks now (a worker calls it as it starts, before its first pull). */
export function warmTaskParsers(): void {
  parseTaskMessage.warm();
  parseTaskBatch.warm();
}

/** A message's tasks: one, or several (a `tasks` array). */
function parseTasks(m: TaskDelivery): Parsed {
  let raw: unknown;
  try {
    raw = m.json();
  } catch (err) {
    return { ok: false, detail: `not JSON: ${(err as Error).message}` };
  }
  if (typeof raw === 'object' && raw !== null && 'tasks' in raw) {
    const batch = parseTaskBatch(raw);
    return batch.success
      ? { ok: true, tasks: batch.data.tasks, handedOn: batch.data.handedOn === true }
      : { ok: false, detail: ValidationError.fromZod('task', batch.error).message };
  }
  const parsed = parseTaskMessage(raw);
  return parsed.success
    ? { ok: true, tasks: [parsed.data] }
    : { ok: false, detail: ValidationError.fromZod('task', parsed.error).message };
}

/**
 * Handles one delivered task message: a malformed one is terminated at once; otherwise each task
 * in it is handled on its own, on the message itself or, when the message carries several tasks,
 * on its share of it (see {@link shareMessage}). Returns the handling of each task (none for a
 * malformed message); none of them rejects.
 */
export function handleTaskMessage(m: TaskDelivery, deps: TaskHandlerDeps): Promise<void>[] {
  const parsed = parseTasks(m);
  if (!parsed.ok) {
    deps.stats.malformed++;
    deps.log.error(
      { seq: m.seq, subject: m.subject, detail: parsed.detail },
      'malformed task; terminating it',
    );
    m.term(`malformed task: ${parsed.detail}`.slice(0, 500));
    return [];
  }
  const [only, ...more] = parsed.tasks;
  if (!only) return [];
  if (more.length === 0) return [handleTask(m, only, deps)];
  const shares = shareMessage(m, parsed.tasks, deps.workingEveryMs / 2);
  // Tasks another worker handed on are all kept: handed on again, they could go round the
  // workers' waiting pulls for a long time while each is full.
  const keep = parsed.handedOn ? shares.length : Math.max(1, deps.room());
  if (keep >= shares.length) return shares.map((s) => runShare(s, deps));
  return [
    ...shares.slice(0, keep).map((s) => runShare(s, deps)),
    handOn(m, shares.slice(keep), deps),
  ];
}

function runShare(s: Share<TaskMessage>, deps: TaskHandlerDeps): Promise<void> {
  return handleTask(s.lease, s.item, deps);
}

/**
 * A message brought more tasks than this worker takes on: hands the rest on to the group as
 * a message of their own (stored before their shares are acked, so they are never lost; a worker
 * that dies in between leaves the whole message to be redelivered, and whatever started meanwhile
 * is refused by its expected sequence). If that publish fails, runs them here after all.
 */
async function handOn(
  m: TaskDelivery,
  shares: Share<TaskMessage>[],
  deps: TaskHandlerDeps,
): Promise<void> {
  const { payload, msgId } = taskMessageFor(
    shares.map((s) => s.item),
    { handedOn: true },
  );
  try {
    await deps.handOn(m.subject, payload, msgId);
  } catch (err) {
    deps.log.warn(
      { err, seq: m.seq, tasks: shares.length },
      'could not hand on the tasks beyond what this worker takes on; running them here',
    );
    await Promise.all(shares.map((s) => runShare(s, deps)));
    return;
  }
  deps.stats.handedOn += shares.length;
  for (const s of shares) s.lease.ack();
}

/**
 * Handles one task from receipt to ack. The message stays un-acked (kept alive with in-progress
 * acks) until the final report is appended or refused; a worker that dies meanwhile leaves it to
 * be redelivered, and the next worker's start is refused by the expected sequence. Never rejects:
 * every failure is logged here.
 */
async function handleTask(m: TaskLease, task: TaskMessage, deps: TaskHandlerDeps): Promise<void> {
  const ids = { instanceId: task.instanceId, jobId: task.jobId, attempt: task.attempt };
  const keepAlive = () =>
    setInterval(() => {
      if (!deps.abandoned()) m.working();
    }, deps.workingEveryMs);
  // A task handed out ahead of its fire time starts at that time, not before. While it waits it
  // sends no in-progress acks unless the wait is long enough to need them (a worker may hold
  // seconds' worth of tasks); what it holds meanwhile, see runWhenDue and claimAndRun.
  let alive = task.fireTimeMs - deps.clock.now() >= deps.workingEveryMs ? keepAlive() : undefined;
  const claimFromMs = deps.claimAheadMs > 0 ? task.fireTimeMs - deps.claimAheadMs : undefined;
  try {
    let due: boolean;
    if (
      claimFromMs === undefined &&
      deps.recordStartAfterMs > 0 &&
      task.fireTimeMs > deps.clock.now()
    ) {
      // Kept alive from now on (its first in-progress ack is due after workingEveryMs anyway):
      // made at the tick, a timer per task would be part of the tick's work.
      alive ??= keepAlive();
      const ran = await runWhenDue(m, task, deps);
      if (ran === WhenDue.Ran) return;
      due = ran === WhenDue.StartFirst; // its start is recorded first, below
    } else {
      // Most tasks are due when they come: they do not wait for a turn of the event loop.
      const dueAtMs = claimFromMs ?? task.fireTimeMs;
      due = dueAtMs <= deps.clock.now() ? !deps.gate.closed : await deps.gate.untilDue(dueAtMs);
    }
    if (!due) {
      deps.log.debug(
        { ...ids, seq: m.seq },
        'worker leaving before the fire time; handing the task back',
      );
      nak(m, deps.log);
      return;
    }
    alive ??= keepAlive();
    const log = lazyChild(deps.log, ids);
    if (claimFromMs !== undefined && task.fireTimeMs > deps.clock.now()) {
      await claimAndRun(m, task, deps, log);
      return;
    }
    await runNow(m, task, deps, log);
  } finally {
    clearInterval(alive);
  }
}

/** How {@link runWhenDue} ended. */
const WhenDue = {
  /** Run and reported (or left to the supervisor). */
  Ran: 'ran',
  /** The worker is leaving: the task goes back to the group. */
  NotDue: 'not-due',
  /** Its start must be recorded before it runs: the caller takes the usual path. */
  StartFirst: 'start-first',
} as const;
type WhenDue = (typeof WhenDue)[keyof typeof WhenDue];

/**
 * A task handed out ahead of its fire time and not claimed: at that time it runs from the gate's
 * timer, in the same turn, when it may run before its start is recorded ({@link
 * mayRunUnrecorded}, decided then), with no promise between the tick and its processor; so a tick
 * shared by thousands of tasks starts them together, as claimed attempts start. Its logger,
 * attempt and context, and the callbacks of its run, are made as it comes, as a claimed attempt's
 * are, for the tick to find them: what a tick allocates is copied by every scavenge until the
 * reports are written. The attempt is active (it hears control messages) only once it runs.
 */
function runWhenDue(m: TaskLease, task: TaskMessage, deps: TaskHandlerDeps): Promise<WhenDue> {
  const log = lazyChild(deps.log, {
    instanceId: task.instanceId,
    jobId: task.jobId,
    attempt: task.attempt,
  });
  const attempt = createAttempt(task, deps, log);
  attempt.prepare();
  return new Promise<WhenDue>((resolve) => {
    const run = unrecordedRun(m, deps, log, attempt, () => resolve(WhenDue.Ran));
    const runInSlot = () => {
      if (mayRunFresh(m, task, deps)) return run();
      deps.gate.release();
      resolve(WhenDue.StartFirst);
    };
    deps.gate.whenDue(task.fireTimeMs, (due) =>
      due ? deps.gate.withSlot(runInSlot) : resolve(WhenDue.NotDue),
    );
  });
}

/**
 * A task due now, in a run slot as soon as one is free. Where it may run before its start is
 * recorded (most tasks), it runs from that slot through its attempt's callbacks, with no promise
 * between the slot and its processor: a task whose processor returns at once then allocates little
 * besides its report's append, and holds little while that is on its way (what it holds is copied
 * by every scavenge until then). Else its start is recorded first, in the same slot. Resolves once
 * the task is settled.
 */
function runNow(m: TaskLease, task: TaskMessage, deps: TaskHandlerDeps, log: TaskLog) {
  return new Promise<void>((resolve, reject) =>
    deps.gate.withSlot(() => {
      if (mayRunFresh(m, task, deps))
        return unrecordedRun(m, deps, log, createAttempt(task, deps, log), resolve)();
      holdSlot(deps.gate, (release) => runTask(m, task, deps, log, release), resolve, reject);
    }),
  );
}

/**
 * Whether the task may run now, in this worker, before its start is recorded: it is not being
 * run here already, the worker is not leaving, and {@link mayRunUnrecorded} says so.
 */
function mayRunFresh(m: TaskLease, task: TaskMessage, deps: TaskHandlerDeps): boolean {
  return (
    !deps.abandoned() &&
    !deps.active.has(task.instanceId, task.attempt) &&
    mayRunUnrecordedNow(m, task, deps)
  );
}

/**
 * A run of `attempt` with its start deferred (see Attempt.deferStart), its callbacks made now; the
 * function returned starts it in the run slot just taken (after {@link mayRunFresh}). The slot is
 * given back when the processor returns, the task is acked once its outcome is recorded, and
 * `settled` is called after that (or once the outcome is left to the supervisor).
 */
function unrecordedRun(
  m: TaskLease,
  deps: TaskHandlerDeps,
  log: TaskLog,
  attempt: Attempt,
  settled: () => void,
): () => void {
  let held = false;
  const giveBack = () => {
    if (!held) return;
    held = false;
    deps.gate.release();
  };
  const settle = (outcome: RunOutcome) => {
    afterRun(m, outcome, deps, log);
    deps.active.delete(attempt);
    settled();
  };
  const reported = (outcome: RunOutcome) => {
    giveBack();
    settle(outcome);
  };
  const failed = (err: unknown) => {
    giveBack();
    logUnreported(err, log);
    settle(RunOutcome.Abandoned);
  };
  return () => {
    held = true;
    deps.active.add(attempt);
    attempt.deferStart();
    attempt.runThen(giveBack, reported, failed);
  };
}

/**
 * Runs `fn` in the run slot just taken (from within the call that freed it: no turn of the event
 * loop in between). `fn` may give the slot back early (safe to call more than once), else it is
 * given back when `fn` ends; then `resolve` or `reject` is called with how `fn` ended.
 */
function holdSlot(
  gate: RunGate,
  fn: (release: () => void) => Promise<void>,
  resolve: () => void,
  reject: (err: Error) => void,
): void {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    gate.release();
  };
  fn(release).then(
    () => {
      release();
      resolve();
    },
    (err: Error) => {
      release();
      reject(err);
    },
  );
}

/**
 * Whether a task may run before its start is recorded (see Attempt.deferStart). Not when:
 * - the message was delivered before (the task may have run, recorded, already);
 * - the task is old enough for the scheduler to make a second copy of it soon (see
 *   SECOND_COPY_MIN_AGE_MS), or does not say when it was dispatched (an older scheduler's). Its
 *   age counts from its dispatch or, for a task handed out ahead of its fire time, from that time,
 *   as the scheduler counts it;
 * - this worker heard an abort of the instance, or may have missed one: it was not hearing them
 *   all since before the dispatch (a cancel is recorded after the dispatch and then announced).
 * Such a task records its start first, and a refused start keeps it from running.
 */
export function mayRunUnrecorded(
  task: Pick<TaskMessage, 'instanceId' | 'dispatchedAtMs' | 'fireTimeMs'>,
  o: {
    redelivered: boolean;
    nowMs: number;
    recordStartAfterMs: number;
    aborts: AbortsHeard;
    /** How far apart the clocks of the scheduler and this worker may be. */
    maxClockSkewMs: number;
  },
): boolean {
  const at = task.dispatchedAtMs;
  const since = o.aborts.sinceMs;
  return (
    o.recordStartAfterMs > 0 &&
    !o.redelivered &&
    at !== undefined &&
    o.nowMs - Math.max(at, task.fireTimeMs) < UNRECORDED_RUN_MAX_AGE_MS &&
    since !== undefined &&
    since <= at - o.maxClockSkewMs &&
    !o.aborts.has(task.instanceId)
  );
}

/** {@link mayRunUnrecorded} for this delivery of the task, now, in this worker. */
function mayRunUnrecordedNow(m: TaskLease, task: TaskMessage, deps: TaskHandlerDeps): boolean {
  return mayRunUnrecorded(task, {
    redelivered: m.redelivered,
    nowMs: deps.clock.now(),
    recordStartAfterMs: deps.recordStartAfterMs,
    aborts: deps.aborts,
    maxClockSkewMs: deps.maxClockSkewMs,
  });
}

/**
 * Starts the attempt (sequence-checked) or defers its start (see {@link mayRunUnrecorded}), runs it
 * and acks the task once its outcome is recorded.
 */
async function runTask(
  m: TaskLease,
  task: TaskMessage,
  deps: TaskHandlerDeps,
  log: TaskLog,
  releaseSlot: () => void,
) {
  const deferred = mayRunUnrecordedNow(m, task, deps);
  const attempt = await begin(m, task, deps, log, deferred ? 'deferred' : undefined);
  if (!attempt) return;
  if (deps.abandoned()) {
    deps.active.delete(attempt);
    log.warn('worker stopped before the processor ran; attempt left to the supervisor');
    return;
  }
  try {
    await runAndAck(m, attempt, deps, log, releaseSlot);
  } finally {
    deps.active.delete(attempt);
  }
}

/**
 * Claims the attempt now (its start recorded with the fire time it starts at), waits for that time
 * and runs it: at the tick the worker only calls the processor. The claimed attempt is active
 * while it waits, so a cancel's control message aborts it before it runs; a hard stop leaves it to
 * the supervisor (as a running attempt), and a drain waits for it to run and report.
 */
async function claimAndRun(m: TaskLease, task: TaskMessage, deps: TaskHandlerDeps, log: TaskLog) {
  const attempt = await begin(m, task, deps, log, { startsAtMs: task.fireTimeMs });
  if (!attempt) return;
  try {
    // At its time the processor is called from the gate's timer, or from the call that frees a run
    // slot. Everything that path needs is made here, ahead of the tick: a tick shared by thousands
    // of claimed attempts starts them without a turn of the event loop between them, and
    // allocates little more than each processor's promise (what it allocates is copied by every
    // scavenge until the reports are written).
    let releaseSlot: (() => void) | undefined = () => {
      releaseSlot = undefined;
      deps.gate.release();
    };
    const giveBack = () => releaseSlot?.();
    const reported = await new Promise<RunOutcome | undefined>((resolve) => {
      const done = (outcome: RunOutcome) => {
        giveBack();
        resolve(outcome);
      };
      const failed = (err: unknown) => {
        giveBack();
        logUnreported(err, log);
        resolve(RunOutcome.Abandoned);
      };
      const runInSlot = () => attempt.runThen(giveBack, done, failed);
      // An abort (a control message, a hard stop) ends the wait.
      attempt.onAbort(
        deps.gate.whenDue(
          task.fireTimeMs,
          (due) => (due ? deps.gate.withSlot(runInSlot) : resolve(undefined)),
          { stayOpen: true },
        ),
      );
    });
    if (reported !== undefined) {
      afterRun(m, reported, deps, log);
      return;
    }
    if (deps.abandoned()) {
      log.warn('worker stopped before a claimed attempt’s time; attempt left to the supervisor');
      return;
    }
    // Aborted by a control message: whoever sent it recorded why (a cancel, a newer fire).
    log.info({ reason: String(attempt.signal.reason) }, 'claimed attempt aborted before its time');
    deps.stats.skipped++;
    ack(m, log);
  } finally {
    deps.active.delete(attempt);
  }
}

/**
 * Records the attempt's start (or claim), or defers it (`'deferred'`: see Attempt.deferStart);
 * undefined when it is not this worker's to run. A started (or deferred)
 * attempt is returned in `deps.active`, for the caller to remove when it is done.
 */
async function begin(
  m: TaskLease,
  task: TaskMessage,
  deps: TaskHandlerDeps,
  log: TaskLog,
  claim?: { startsAtMs: number } | 'deferred',
): Promise<Attempt | undefined> {
  if (deps.abandoned()) {
    nak(m, log);
    return undefined;
  }
  if (deps.active.has(task.instanceId, task.attempt)) {
    // A redelivery or a second copy of an attempt this worker is running: the running one reports.
    log.info({ seq: m.seq }, 'attempt already running in this worker; acking the extra delivery');
    deps.stats.skipped++;
    ack(m, log);
    return undefined;
  }
  const attempt = createAttempt(task, deps, log);
  // Active from now on: a second copy of the task arriving while this start is on its way is
  // acked above, instead of racing it (both appends carry the start's message id, so the second
  // would be acked as a duplicate naming this very worker, and the processor would run twice).
  // The caller removes it once the attempt is done.
  deps.active.add(attempt);
  if (claim === 'deferred') {
    attempt.deferStart();
    return attempt;
  }
  let started: StartOutcome;
  try {
    started = await attempt.start(claim);
  } catch (err) {
    deps.active.delete(attempt);
    log.error({ err, seq: m.seq }, 'could not record the start; offering the task again later');
    if (!deps.abandoned()) m.nak(deps.retryStartAfterMs);
    return undefined;
  }
  if (started === StartOutcome.MovedOn) {
    deps.active.delete(attempt);
    deps.stats.skipped++;
    ack(m, log);
    return undefined;
  }
  return attempt;
}

/**
 * Runs a started attempt and acks its task once the outcome is recorded. The run slot is given back
 * as soon as the processor returns: the report's append does not hold another task's start.
 */
async function runAndAck(
  m: TaskLease,
  attempt: Attempt,
  deps: TaskHandlerDeps,
  log: TaskLog,
  releaseSlot: () => void,
) {
  let outcome: RunOutcome;
  try {
    outcome = await attempt.run(releaseSlot);
  } catch (err) {
    logUnreported(err, log);
    return;
  }
  afterRun(m, outcome, deps, log);
}

/** Counts a run's outcome and acks its task, unless the worker left it unreported. */
function afterRun(m: TaskLease, outcome: RunOutcome, deps: TaskHandlerDeps, log: TaskLog): void {
  if (outcome === RunOutcome.Abandoned) return;
  deps.stats.completed++;
  if (outcome === RunOutcome.Refused) deps.stats.refusedReports++;
  ack(m, log);
}

/**
 * The report could not be appended (server unreachable until the worker stopped): the task is left
 * un-acked so that it is redelivered; the supervisor settles the attempt.
 */
function logUnreported(err: unknown, log: TaskLog): void {
  log.error({ err }, 'could not record the outcome of the attempt');
}

/** Hands a task back to the group at once (best effort: without it, the ack wait does the same). */
function nak(m: TaskLease, log: TaskLog): void {
  try {
    m.nak();
  } catch (err) {
    log.warn({ err, seq: m.seq }, 'task not handed back; it is redelivered after the ack wait');
  }
}

/**
 * Acks without waiting for the server's confirmation: the attempt's outcome is already an event,
 * so a lost ack only means a redelivery, whose start is refused by the expected sequence.
 */
function ack(m: TaskLease, log: TaskLog): void {
  try {
    m.ack();
  } catch (err) {
    log.warn({ err, seq: m.seq }, 'task ack not sent; a redelivery will find the attempt recorded');
  }
}
