import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime.js';
import type { EventContext } from '../../events/build.js';
import { makeEvent } from '../../events/build.js';
import { ConcurrencyError } from '../../events/errors.js';
import type { StoredEvent } from '../../events/event.js';
import { msgIds } from '../../events/task.js';
import { subjects, parseEventSubject } from '../../events/subjects.js';
import {
  decideAfterAttempt,
  decideTimeout,
  attemptDeadlineMs,
} from '../../domain/instance-decider.js';
import { scheduleProjection } from '../../projections/projection.js';
import { createProjectionRunner, type ProjectionRunner } from '../../projections/runner.js';
import { isTerminal } from '../../projections/instance-view.js';
import type { JobView } from '../../projections/job-view.js';
import type { ScheduleState } from '../../projections/state.js';
import { dueFires, DEFAULT_MISFIRE_THRESHOLD_MS } from '../../schedule/due-fires.js';
import { decideOverlap } from '../../schedule/overlap.js';
import { createAgenda } from './agenda.js';
import { systemClock, type Clock } from './clock.js';
import { ownAllPartitions, type Ownership } from './ownership.js';
import { createWriter } from './writer.js';

export interface SchedulerOptions {
  runtime: Runtime;
  /** Stable id of this replica; shown in events as the actor. Default: random. */
  schedulerId?: string;
  clock?: Clock;
  /** Which partitions to act on. Default: all (single replica). */
  ownership?: Ownership;
  /** A tick planned later than this after its intended time is a misfire. Default 5000 ms. */
  misfireThresholdMs?: number;
  /** Max concurrent appends in flight. Default 256. */
  maxInFlight?: number;
  random?: () => number;
  log?: Logger;
}

export interface Scheduler {
  readonly schedulerId: string;
  readonly runner: ProjectionRunner<ScheduleState>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Counters for status and tests. */
  stats(): { fires: number; dispatches: number; conflicts: number; errors: number; agenda: number };
}

/**
 * The scheduler replica: folds its partitions, keeps an agenda of what is due next, fires jobs,
 * dispatches tasks and supervises instances (timeouts, retries). It only appends events; every
 * append is guarded by the aggregate's sequence so it can never fire or decide twice.
 */
export function createScheduler(opts: SchedulerOptions): Scheduler {
  const rt = opts.runtime;
  const schedulerId = opts.schedulerId ?? `s-${randomUUID().slice(0, 8)}`;
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? Math.random;
  const ownership = opts.ownership ?? ownAllPartitions(rt.partitions);
  const misfireThresholdMs = opts.misfireThresholdMs ?? DEFAULT_MISFIRE_THRESHOLD_MS;
  const maxInFlight = opts.maxInFlight ?? 256;
  const log = (opts.log ?? rt.log).child({ schedulerId });
  const actor = { kind: 'scheduler' as const, id: schedulerId };

  const agenda = createAgenda();
  const dirty = new Set<string>();
  const busy = new Set<string>();
  const counters = { fires: 0, dispatches: 0, conflicts: 0, errors: 0 };
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let ready = false;
  let inFlight = 0;

  const runner = createProjectionRunner<ScheduleState>({
    js: rt.js,
    store: rt.store,
    projection: scheduleProjection,
    filterSubjects: [...ownership.owned()].map((p) => subjects.partition(rt.names, p)),
    log,
    onEvent: (stored) => {
      if (ready) markFor(stored);
    },
  });
  const writer = createWriter(rt, (stored) => scheduleProjection.evolve(runner.state, stored));
  const ctx = (): EventContext => ({ actor, nowMs: clock.now() });

  function markFor(stored: StoredEvent): void {
    const parsed = parseEventSubject(rt.names, stored.subject);
    if (!parsed) return;
    if (parsed.kind === 'job') {
      mark(`job:${parsed.id}`);
      if (stored.event.type === 'JobFired') mark(`fire:${stored.event.data.instanceId}`);
    } else {
      mark(`inst:${parsed.id}`);
      const inst = runner.state.instances.get(parsed.id);
      if (inst && isTerminal(inst.status)) {
        mark(`job:${inst.jobId}`); // fixed-delay and buffered fires wait for this
        for (const f of runner.state.undispatched.values())
          if (f.jobId === inst.jobId) mark(`fire:${f.instanceId}`);
      }
    }
  }

  function mark(key: string): void {
    dirty.add(key);
    queueMicrotask(pump);
  }

  function pump(): void {
    if (!running || !ready) return;
    for (const key of dirty) {
      if (inFlight >= maxInFlight) return;
      if (busy.has(key)) continue;
      dirty.delete(key);
      busy.add(key);
      inFlight++;
      handle(key)
        .catch((err: unknown) => {
          if (err instanceof ConcurrencyError) {
            counters.conflicts++;
            log.debug({ key, err: err.message }, 'stale view; reloading and deciding again');
            return refresh(err.subject).then(() => mark(key));
          }
          counters.errors++;
          log.error({ err, key }, 'scheduler step failed; will retry');
          agenda.set(key, clock.now() + 1000);
          arm();
        })
        .catch((err: unknown) => log.error({ err, key }, 'scheduler recovery failed'))
        .finally(() => {
          busy.delete(key);
          inFlight--;
          if (dirty.size) pump();
        });
    }
  }

  /** Waits until the fold has caught up with a subject that moved under us. */
  async function refresh(subject: string): Promise<void> {
    const last = await rt.store.lastSeq(subject);
    await runner.waitForSeq(last, 10_000);
  }

  function arm(): void {
    if (!running) return;
    const next = agenda.next();
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (next === undefined) return;
    const delay = Math.max(0, Math.min(next - clock.now(), 60_000));
    timer = setTimeout(onTimer, delay);
  }

  function onTimer(): void {
    timer = undefined;
    for (const key of agenda.popDue(clock.now())) mark(key);
    arm();
  }

  function schedule(key: string, atMs: number | undefined): void {
    const before = agenda.next();
    agenda.set(key, atMs);
    if (atMs !== undefined && (before === undefined || atMs < before)) arm();
  }

  async function handle(key: string): Promise<void> {
    const sep = key.indexOf(':');
    const kind = key.slice(0, sep);
    const id = key.slice(sep + 1);
    if (kind === 'job') return tickJob(id);
    if (kind === 'inst') return superviseInstance(id);
    if (kind === 'fire') return dispatchFire(id);
  }

  // ---- jobs ---------------------------------------------------------------------------------

  async function tickJob(jobId: string): Promise<void> {
    let job = runner.state.jobs.get(jobId);
    if (!job || job.status === 'deleted') return schedule(`job:${jobId}`, undefined);
    const now = clock.now();

    // Durable triggers (manual, delayed, backfill, rerun) that are due.
    let nextTrigger: number | undefined;
    for (const t of Object.values(job.pendingTriggers)) {
      if (t.dueAtMs > now) {
        nextTrigger = Math.min(nextTrigger ?? Infinity, t.dueAtMs);
        continue;
      }
      const { stored } = await writer.fire(
        job,
        {
          fireTimeMs: t.fireTimeMs ?? t.dueAtMs,
          reason: t.reason,
          instanceSuffix: `t-${t.triggerId}`,
          ...(t.params !== undefined && { params: t.params }),
          ...(t.rerunOf !== undefined && { rerunOf: t.rerunOf }),
        },
        ctx(),
      );
      if (stored) counters.fires++;
      job = runner.state.jobs.get(jobId)!;
    }

    let nextTick: number | undefined;
    if (job.status === 'active') {
      const plan = dueFires({
        spec: job.spec,
        lastFireMs: job.lastTickMs,
        // Ticks up to a skip, or up to a resume or schedule change, are never planned again.
        lastSkippedMs: maxDefined(job.lastSkippedMs, job.notBeforeMs),
        lastFinishMs: runner.state.lastFinishMs.get(jobId),
        createdAtMs: job.anchorMs,
        nowMs: now,
        runsSoFar: job.runs,
        misfireThresholdMs,
      });
      if (
        plan.skipped.count > 0 &&
        plan.skipped.firstMs !== undefined &&
        plan.skipped.lastMs !== undefined
      ) {
        await writer.skipped(
          job,
          'misfire',
          { count: plan.skipped.count, firstMs: plan.skipped.firstMs, lastMs: plan.skipped.lastMs },
          ctx(),
        );
        log.info({ jobId, skipped: plan.skipped }, 'misfired ticks skipped by policy');
        job = runner.state.jobs.get(jobId)!;
      }
      for (const t of plan.fires) {
        await fireTick(job, t, now);
        job = runner.state.jobs.get(jobId)!;
      }
      nextTick = plan.nextMs;
    }
    schedule(`job:${jobId}`, minDefined(nextTick, nextTrigger));
  }

  async function fireTick(job: JobView, fireTimeMs: number, now: number): Promise<void> {
    const active = runner.state.active.get(job.jobId);
    let buffered = 0;
    for (const f of runner.state.undispatched.values()) if (f.jobId === job.jobId) buffered++;
    const decision = decideOverlap({
      policy: job.spec.overlap,
      maxConcurrent: job.spec.maxConcurrent,
      running: active?.size ?? 0,
      buffered,
    });
    if (decision === 'skip') {
      const reason = job.spec.overlap === 'allow' ? 'max-concurrent' : 'overlap';
      await writer.skipped(
        job,
        reason,
        { count: 1, firstMs: fireTimeMs, lastMs: fireTimeMs },
        ctx(),
      );
      log.info({ jobId: job.jobId, fireTimeMs, reason }, 'tick skipped by overlap policy');
      return;
    }
    if (decision === 'cancel-previous-then-start' && active) {
      for (const instanceId of [...active]) {
        const inst = runner.state.instances.get(instanceId);
        if (!inst || isTerminal(inst.status)) continue;
        await writer.instanceEvent(
          inst,
          makeEvent(
            'InstanceCancelled',
            { instanceId, reason: 'superseded by a newer fire' },
            ctx(),
            msgIds.cancelled(instanceId),
          ),
        );
        writer.abort(instanceId, inst.attempt, 'superseded');
      }
    }
    const reason = now - fireTimeMs >= misfireThresholdMs ? 'catch-up' : 'schedule';
    const { instanceId, stored } = await writer.fire(job, { fireTimeMs, reason }, ctx());
    if (stored) {
      counters.fires++;
      log.debug(
        { jobId: job.jobId, instanceId, fireTimeMs, latenessMs: now - fireTimeMs },
        'fired',
      );
    }
    // Dispatch under the fire's own key, so it never races the fold's discovery of the same fire.
    if (decision !== 'buffer') mark(`fire:${instanceId}`);
  }

  /** Dispatches a recorded fire that has no instance yet (just fired, buffered, or half-done after a crash). */
  async function dispatchFire(instanceId: string): Promise<void> {
    const fire = runner.state.undispatched.get(instanceId);
    if (!fire) return;
    const job = runner.state.jobs.get(fire.jobId);
    if (!job || job.status === 'deleted') return;
    if (job.spec.overlap === 'buffer-one' && (runner.state.active.get(job.jobId)?.size ?? 0) > 0)
      return;
    const ack = await writer.dispatch(
      job,
      { instanceId, attempt: 1, fireTimeMs: fire.fireTimeMs, params: fire.params, expectedSeq: 0 },
      ctx(),
    );
    if (!ack.duplicate) counters.dispatches++;
  }

  // ---- instances ----------------------------------------------------------------------------

  async function superviseInstance(instanceId: string): Promise<void> {
    const inst = runner.state.instances.get(instanceId);
    if (!inst || isTerminal(inst.status)) return schedule(`inst:${instanceId}`, undefined);
    const now = clock.now();
    switch (inst.status) {
      case 'running': {
        const timedOut = decideTimeout(inst, ctx());
        if (timedOut) {
          await writer.instanceEvent(inst, timedOut);
          writer.abort(instanceId, inst.attempt, 'timeout');
          log.info({ instanceId, jobId: inst.jobId, attempt: inst.attempt }, 'attempt timed out');
          return mark(`inst:${instanceId}`);
        }
        return schedule(`inst:${instanceId}`, attemptDeadlineMs(inst));
      }
      case 'attempt-ended': {
        const job = runner.state.jobs.get(inst.jobId);
        const policy = job?.spec.retry ?? {
          maxAttempts: 1,
          backoff: 'fixed' as const,
          initialDelayMs: 0,
          maxDelayMs: 0,
          jitter: 0,
        };
        const next = decideAfterAttempt(inst, policy, ctx(), random);
        if (next) await writer.instanceEvent(inst, next);
        return mark(`inst:${instanceId}`);
      }
      case 'retry-waiting': {
        if ((inst.retryDueAtMs ?? 0) > now)
          return schedule(`inst:${instanceId}`, inst.retryDueAtMs);
        const job = runner.state.jobs.get(inst.jobId);
        if (!job) return;
        const ack = await writer.dispatch(
          job,
          {
            instanceId,
            attempt: inst.attempt,
            fireTimeMs: inst.fireTimeMs,
            params: inst.params,
            expectedSeq: inst.lastSeq,
          },
          ctx(),
        );
        if (!ack.duplicate) counters.dispatches++;
        return;
      }
      case 'dispatched':
        return schedule(`inst:${instanceId}`, undefined);
      default:
        return;
    }
  }

  /** After a (re)start: every job gets planned, half-done transitions get finished. */
  async function recover(): Promise<void> {
    const state = runner.state;
    for (const jobId of state.jobs.keys()) mark(`job:${jobId}`);
    for (const instanceId of state.undispatched.keys()) mark(`fire:${instanceId}`);
    for (const inst of state.instances.values()) {
      if (isTerminal(inst.status)) continue;
      if (inst.status === 'dispatched') {
        // The task may never have been published (crash between the two writes): re-publish it;
        // its message id makes this a no-op when it was, and a worker's start is seq-guarded.
        await writer
          .publishTask(inst, inst.lastSeq)
          .catch((err: unknown) =>
            log.error({ err, instanceId: inst.instanceId }, 'task re-publish failed'),
          );
      }
      mark(`inst:${inst.instanceId}`);
    }
  }

  return {
    schedulerId,
    runner,
    async start() {
      running = true;
      await ownership.start();
      await runner.start();
      ready = true;
      log.info(
        { jobs: runner.state.jobs.size, instances: runner.state.instances.size, seq: runner.seq },
        'scheduler caught up',
      );
      await recover();
      pump();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await runner.stop();
      await ownership.stop();
      const deadline = Date.now() + 5000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    },
    stats: () => ({ ...counters, agenda: agenda.size }),
  };
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}
function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
