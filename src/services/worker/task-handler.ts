import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { ValidationError } from '../../events/errors.js';
import { taskMessageSchema, type TaskMessage } from '../../events/task.js';
import { createAttempt, StartOutcome, type Attempt, type AttemptDeps } from './attempt.js';
import type { RunGate } from './run-gate.js';
import type { WorkerStats } from './types.js';

export interface TaskHandlerDeps extends Omit<AttemptDeps, 'log'> {
  /** Bound to workerId and group. */
  log: Logger;
  /** In-progress acks are sent this often while the task is held. */
  workingEveryMs: number;
  /** Delay before a task whose start could not be recorded is offered again. */
  retryStartAfterMs: number;
  stats: WorkerStats;
  /** Attempts currently running, for control messages and shutdown. */
  active: Set<Attempt>;
  /** Fire-time waits and run slots, shared by the worker's tasks. */
  gate: RunGate;
}

type Parsed = { ok: true; task: TaskMessage } | { ok: false; detail: string };

function parseTask(m: JsMsg): Parsed {
  let raw: unknown;
  try {
    raw = m.json();
  } catch (err) {
    return { ok: false, detail: `not JSON: ${(err as Error).message}` };
  }
  const parsed = taskMessageSchema.safeParse(raw);
  return parsed.success
    ? { ok: true, task: parsed.data }
    : { ok: false, detail: ValidationError.fromZod('task', parsed.error).message };
}

/**
 * Handles one delivered task from receipt to ack. The message stays un-acked (kept alive with
 * in-progress acks) until the final report is appended or refused; a worker that dies meanwhile
 * leaves it to be redelivered, and the next worker's start is refused by the expected sequence.
 * Never rejects: every failure is logged here.
 */
export async function handleTask(m: JsMsg, deps: TaskHandlerDeps): Promise<void> {
  const parsed = parseTask(m);
  if (!parsed.ok) {
    deps.stats.malformed++;
    deps.log.error(
      { seq: m.seq, subject: m.subject, detail: parsed.detail },
      'malformed task; terminating it',
    );
    m.term(`malformed task: ${parsed.detail}`.slice(0, 500));
    return;
  }
  const task = parsed.task;
  const ids = { instanceId: task.instanceId, jobId: task.jobId, attempt: task.attempt };
  const keepAlive = () =>
    setInterval(() => {
      if (!deps.abandoned()) m.working();
    }, deps.workingEveryMs);
  // A task handed out ahead of its fire time starts at that time, not before. While it waits it
  // holds as little as possible (a worker may hold a second's worth of tasks): no logger, and no
  // in-progress acks unless the wait is long enough to need them.
  let alive = task.fireTimeMs - deps.clock.now() >= deps.workingEveryMs ? keepAlive() : undefined;
  try {
    if (!(await deps.gate.untilDue(task.fireTimeMs))) {
      deps.log.debug(
        { ...ids, seq: m.seq },
        'worker leaving before the fire time; handing the task back',
      );
      nak(m, deps.log);
      return;
    }
    alive ??= keepAlive();
    await deps.gate.acquire();
    try {
      await runTask(m, task, deps, deps.log.child(ids));
    } finally {
      deps.gate.release();
    }
  } finally {
    clearInterval(alive);
  }
}

/** Starts the attempt (sequence-checked), runs it and acks the task once its outcome is recorded. */
async function runTask(m: JsMsg, task: TaskMessage, deps: TaskHandlerDeps, log: Logger) {
  if (deps.abandoned()) {
    nak(m, log);
    return;
  }
  const attempt = createAttempt(task, { ...deps, log });
  if (isRunning(deps.active, task)) {
    // A redelivery or a second copy of an attempt this worker is running: the running one reports.
    log.info({ seq: m.seq }, 'attempt already running in this worker; acking the extra delivery');
    deps.stats.skipped++;
    await ack(m, log);
    return;
  }
  let started: StartOutcome;
  try {
    started = await attempt.start();
  } catch (err) {
    log.error({ err, seq: m.seq }, 'could not record the start; offering the task again later');
    if (!deps.abandoned()) m.nak(deps.retryStartAfterMs);
    return;
  }
  if (started === StartOutcome.MovedOn) {
    deps.stats.skipped++;
    await ack(m, log);
    return;
  }
  if (deps.abandoned()) {
    log.warn('worker stopped before the processor ran; attempt left to the supervisor');
    return;
  }
  deps.active.add(attempt);
  try {
    const outcome = await attempt.run();
    if (outcome === 'abandoned') return;
    deps.stats.completed++;
    if (outcome === 'refused') deps.stats.refusedReports++;
    await ack(m, log);
  } catch (err) {
    // The report could not be appended (server unreachable until the worker stopped): leave the
    // task un-acked so that it is redelivered; the supervisor settles the attempt.
    log.error({ err }, 'could not record the outcome of the attempt');
  } finally {
    deps.active.delete(attempt);
  }
}

function isRunning(active: Set<Attempt>, task: TaskMessage): boolean {
  for (const a of active)
    if (a.instanceId === task.instanceId && a.attempt === task.attempt) return true;
  return false;
}

/** Hands a task back to the group at once (best effort: without it, the ack wait does the same). */
function nak(m: JsMsg, log: Logger): void {
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
function ack(m: JsMsg, log: Logger): Promise<void> {
  try {
    m.ack();
  } catch (err) {
    log.warn({ err, seq: m.seq }, 'task ack not sent; a redelivery will find the attempt recorded');
  }
  return Promise.resolve();
}
