import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime.js';
import type { EventContext } from '../../events/build.js';
import { makeEvent } from '../../events/build.js';
import { ConcurrencyError } from '../../events/errors.js';
import { MAX_FIRES_PER_BATCH } from '../../events/job-events.js';
import type { StoredEvent } from '../../events/event.js';
import { msgIds, SECOND_COPY_MIN_AGE_MS } from '../../events/task.js';
import { firesOf } from '../../events/batches.js';
import {
  subjects,
  parseEventSubject,
  partitionOf,
  jobIdOfInstance,
} from '../../events/subjects.js';
import { createSnapshotStore } from '../../projections/snapshot-store.js';
import type { LocalFolds } from '../../projections/partition-folds.js';
import { watchLiveWorkers } from './live-workers.js';
import { NotOwnerError } from './writer.js';
import {
  decideAfterAttempt,
  decideTimeout,
  attemptDeadlineMs,
} from '../../domain/instance-decider.js';
import { schedulerProjection } from '../../projections/projection.js';
import { createProjectionRunner, type ProjectionRunner } from '../../projections/runner.js';
import { isTerminal, type InstanceView } from '../../projections/instance-view.js';
import {
  instanceSuffixForTrigger,
  type JobView,
  type PendingTrigger,
} from '../../projections/job-view.js';
import type { ScheduleState } from '../../projections/state.js';
import { dueFires, DEFAULT_MISFIRE_THRESHOLD_MS } from '../../schedule/due-fires.js';
import { decideOverlap } from '../../schedule/overlap.js';
import { createAgenda } from './agenda.js';
import { createFireLeads } from '../../schedule/fire-lead.js';
import { systemClock, type Clock } from './clock.js';
import { snapshotDue, snapshotPolicy } from './snapshot-policy.js';
import { schedulerSnapshotKey } from './snapshot-key.js';
import { ownAllPartitions, type Ownership } from './ownership.js';
import { createWriter, type Fired, type FireRequest } from './writer.js';
import { createFailureLog } from './failure-log.js';
import { warmEventParsers } from '../../events/codec.js';

/**
 * Re-offer a not-yet-started task under a new id this often (covers a pull lost in a leader
 * change); at least SECOND_COPY_MIN_AGE_MS.
 */
const REOFFER_MS = 30_000;
export const DEFAULT_FIRE_AHEAD_MS = 1000;
export const DEFAULT_FIRE_AHEAD_PER_TICK_MS = 0.5;
export const DEFAULT_MAX_FIRE_AHEAD_MS = 10_000;

export interface SchedulerOptions {
  runtime: Runtime;
  /** Stable id of this replica; shown in events as the actor. Default: random. */
  schedulerId?: string;
  clock?: Clock;
  /** Which partitions to act on. Default: all (single replica). */
  ownership?: Ownership;
  /** A tick planned later than this after its intended time is a misfire. Default 5000 ms. */
  misfireThresholdMs?: number;
  /**
   * Scheduled ticks are fired (recorded and handed to a worker) up to this long before their
   * intended time; the worker starts them at that time. This keeps starts on time when the
   * scheduler is busy or many jobs share a tick. A fire is made ahead only when the job's
   * overlap policy would start it now anyway; a pause, deletion or disabling that lands before
   * the tick's time cancels its instance. 0 fires every tick at its time. Default 1000 ms.
   * Ticks that share a second with many others are fired earlier still (see `fireAheadPerTickMs`).
   */
  fireAheadMs?: number;
  /**
   * A tick shares its second with others already planned: it is fired this much earlier for each
   * of them, so that a crowd (thousands of cron jobs on one tick) is recorded over the seconds
   * before its time instead of after it. Default 0.5 ms (a crowd of 10,000 gets up to 5 s more).
   */
  fireAheadPerTickMs?: number;
  /**
   * The longest lead a crowded tick gets (never more than half the job's period). Default 10,000
   * ms; not less than `fireAheadMs`.
   */
  maxFireAheadMs?: number;
  /** Max keys handled at once (each may await appends). Default 1024. */
  maxInFlight?: number;
  random?: () => number;
  /**
   * Publish a dispatched task again (under its own message id: a no-op if the first publish landed)
   * when no worker has started it after this long. Covers a publish that failed. Default 5000 ms.
   */
  taskRepublishAfterMs?: number;
  /** Save each owned partition's snapshot at least this often (ms) when it has moved. Default 30 000. */
  snapshotEveryMs?: number;
  /**
   * Save it sooner once it has folded this many events since its snapshot (or as many as the
   * snapshot holds jobs and instances, if more): what a takeover folds after restoring the
   * snapshot stays short under load. Default 1000.
   */
  snapshotAfterEvents?: number;
  /** How often the partitions are looked at for a snapshot (ms). Default 5000, or snapshotEveryMs if less. */
  snapshotCheckEveryMs?: number;
  log?: Logger;
}

export interface Scheduler {
  readonly schedulerId: string;
  /** The folded state of one owned partition (undefined when not owned or not caught up). */
  stateOf(partition: number): ScheduleState | undefined;
  /** Owned partitions and how far each has folded. */
  partitions(): { partition: number; seq: number; ready: boolean }[];
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Counters for status and tests. */
  stats(): { fires: number; dispatches: number; conflicts: number; errors: number; agenda: number };
  /** The partitions folded and caught up, for others in the process to read (the command endpoint). */
  readonly folds: LocalFolds;
}

export { SCHEDULER_SNAPSHOTS } from './snapshot-key.js';

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
  const fireAheadMs = opts.fireAheadMs ?? DEFAULT_FIRE_AHEAD_MS;
  const maxFireAheadMs = opts.maxFireAheadMs ?? DEFAULT_MAX_FIRE_AHEAD_MS;
  const fireAheadPerTickMs = opts.fireAheadPerTickMs ?? DEFAULT_FIRE_AHEAD_PER_TICK_MS;
  for (const [name, ms] of [
    ['fireAheadMs', fireAheadMs],
    ['maxFireAheadMs', maxFireAheadMs],
    ['misfireThresholdMs', misfireThresholdMs],
  ] as const)
    if (!(Number.isInteger(ms) && ms >= 0))
      throw new RangeError(`${name} must be an integer ≥ 0, got ${ms}`);
  if (!(Number.isFinite(fireAheadPerTickMs) && fireAheadPerTickMs >= 0))
    throw new RangeError(`fireAheadPerTickMs must be ≥ 0, got ${fireAheadPerTickMs}`);
  const snapshotRules = snapshotPolicy(opts);
  const leads = createFireLeads({
    baseMs: fireAheadMs,
    perTickMs: fireAheadPerTickMs,
    maxMs: Math.max(maxFireAheadMs, fireAheadMs),
  });
  const maxInFlight = opts.maxInFlight ?? 1024;
  const republishAfterMs = opts.taskRepublishAfterMs ?? 5_000;
  const log = (opts.log ?? rt.log).child({ schedulerId });
  const actor = { kind: 'scheduler' as const, id: schedulerId };
  const failures = createFailureLog(log);

  const agenda = createAgenda();
  /** Keys waiting to be handled (never busy ones). */
  const dirty = new Set<string>();
  /** Keys being handled, and those of them marked again meanwhile. */
  const busy = new Set<string>();
  const again = new Set<string>();
  let pumpQueued = false;
  const counters = { fires: 0, dispatches: 0, conflicts: 0, errors: 0 };
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let ready = false;
  let inFlight = 0;

  interface PartitionView {
    runner: ProjectionRunner<ScheduleState>;
    ready: boolean;
    /** Events folded since the last snapshot (or since the partition was taken), and when that was. */
    sinceSnapshot: { events: number; savedAtMs: number };
    /** Sequences of our own appends folded by `apply` whose echo has not come back yet. */
    applied: Set<number>;
  }
  const views = new Map<number, PartitionView>();
  const foldListeners = new Set<() => void>();
  const foldsChanged = () => {
    for (const listener of foldListeners) listener();
  };
  const snapshots = createSnapshotStore(rt.buckets.snapshots);
  let liveWorkers: Awaited<ReturnType<typeof watchLiveWorkers>> | undefined;
  let changes = Promise.resolve();
  /** Takeovers under way (restoring a partition's snapshot, folding its tail). */
  const takeovers = new Set<Promise<void>>();
  let snapshotTimer: NodeJS.Timeout | undefined;
  /** The next look at ownership after a failed takeover. */
  let takeRetry: NodeJS.Timeout | undefined;

  /** The job a key (`job:<jobId>`, `fire:<instanceId>`, `inst:<instanceId>`) belongs to. */
  const jobIdOfKey = (key: string): string | undefined => {
    const id = key.slice(key.indexOf(':') + 1);
    return key.startsWith('job:') ? id : jobIdOfInstance(id);
  };
  /** An instance as this replica's fold holds it (undefined when ended, or not held here). */
  const instanceOf = (instanceId: string) => {
    const jobId = jobIdOfInstance(instanceId);
    if (jobId === undefined) return undefined;
    return views.get(partitionOf(jobId, rt.partitions))?.runner.state.instances.get(instanceId);
  };
  const partitionOfKey = (key: string): number | undefined => {
    const jobId = jobIdOfKey(key);
    return jobId === undefined ? undefined : partitionOf(jobId, rt.partitions);
  };
  /** The state a key lives in, if this replica may act on it now. */
  const stateFor = (key: string): ScheduleState | undefined => {
    const p = partitionOfKey(key);
    if (p === undefined) return undefined;
    const v = views.get(p);
    return v?.ready && ownership.holds(p) ? v.runner.state : undefined;
  };
  /** Folds an event this replica has just appended, without waiting for the stream to echo it. */
  const apply = (stored: StoredEvent) => {
    const parsed = parseEventSubject(rt.names, stored.subject);
    const v = parsed && views.get(parsed.partition);
    if (!v) return;
    schedulerProjection.evolve(v.runner.state, stored);
    if (stored.seq > v.runner.seq) {
      v.sinceSnapshot.events++; // else its echo came first, and was counted as it was folded
      v.applied.add(stored.seq);
      v.runner.expect(stored.seq); // its echo must come: a consumer that stays silent is replaced
    }
    if (v.ready) markFor(stored, true);
  };
  const writer = createWriter(rt, apply, (p) => ownership.holds(p));

  async function acquire(p: number): Promise<void> {
    const runner = createProjectionRunner<ScheduleState>({
      js: rt.js,
      store: rt.store,
      projection: schedulerProjection,
      filterSubjects: [subjects.partition(rt.names, p)],
      snapshots: { store: snapshots, key: schedulerSnapshotKey(p) },
      log,
      onEvent: (stored) => {
        const v = views.get(p);
        if (!v) return;
        v.sinceSnapshot.events++;
        if (v.ready) markFor(stored);
      },
      // The echo of an append this replica already folded (and acted on) is not decoded again.
      alreadyFolded: (seq) => views.get(p)?.applied.delete(seq) ?? false,
    });
    const view: PartitionView = {
      runner,
      ready: false,
      sinceSnapshot: { events: 0, savedAtMs: clock.now() },
      applied: new Set(),
    };
    views.set(p, view);
    const t0 = Date.now();
    try {
      await runner.start();
    } catch (err) {
      // e.g. NATS unreachable mid-election: forget the half-built view so the next sync retries.
      if (views.get(p) === view) views.delete(p);
      await runner.stop().catch(() => undefined);
      throw err;
    }
    if (views.get(p) !== view) return; // released while catching up
    view.ready = true;
    foldsChanged();
    log.info(
      { partition: p, seq: runner.seq, jobs: runner.state.jobs.size, ms: Date.now() - t0 },
      'partition taken over',
    );
    await recover(runner.state);
  }

  async function release(p: number): Promise<void> {
    const v = views.get(p);
    if (!v) return;
    views.delete(p);
    v.ready = false;
    foldsChanged();
    for (const jobId of v.runner.state.jobs.keys()) leads.forget(jobId);
    await v.runner.stop();
    log.info({ partition: p }, 'partition released');
  }

  /**
   * A key we could not act on because our lease was not confirmed at that moment (renewals may be
   * waiting on a JetStream election): while we still fold its partition, look again shortly. Once
   * the partition is released, the key is dropped: its new owner plans it from its own fold.
   */
  function retryWhileFolded(key: string): void {
    const p = partitionOfKey(key);
    if (p !== undefined && views.get(p)?.ready && running) schedule(key, clock.now() + 500);
  }

  /**
   * Brings the folded partitions in line with the owned ones. Releases are applied in order; each
   * partition taken is caught up on its own, so one gained a moment later (its lease expired a
   * little after the others') does not wait for the first ones' tails.
   */
  function syncOwnership(): void {
    changes = changes
      .then(async () => {
        const owned = ownership.owned();
        for (const p of [...views.keys()]) if (!owned.has(p)) await release(p);
        for (const p of owned) if (!views.has(p)) take(p);
        pump();
      })
      .catch((err: unknown) => log.error({ err }, 'ownership change failed'));
  }

  /** Starts taking a partition over; one that fails is tried again a second later. */
  function take(p: number): void {
    const taking = acquire(p)
      .catch((err: unknown) => {
        log.error(
          { err, partition: p },
          running
            ? 'taking over a partition failed; trying again in 1 s'
            : 'taking over a partition failed while stopping',
        );
        if (running) {
          clearTimeout(takeRetry);
          takeRetry = setTimeout(syncOwnership, 1000);
        }
      })
      .finally(() => {
        takeovers.delete(taking);
        pump();
      });
    takeovers.add(taking);
  }

  /** Saves the snapshots that are due (`all`: of every partition that has moved). */
  async function saveSnapshots(all = false): Promise<void> {
    for (const [p, v] of views) {
      if (!v.ready || !ownership.holds(p)) continue;
      const since = v.sinceSnapshot;
      const items = v.runner.state.jobs.size + v.runner.state.instances.size;
      const nowMs = clock.now();
      if (all ? since.events === 0 : !snapshotDue({ ...since, items }, nowMs, snapshotRules))
        continue;
      const counted = since.events; // the state is copied before the first await
      const { seq } = await v.runner.saveSnapshot();
      since.events -= counted;
      since.savedAtMs = nowMs;
      log.debug(
        { partition: p, seq, events: counted, items, ms: clock.now() - nowMs },
        'snapshot saved',
      );
    }
  }

  /** Dispatched attempts whose task to re-offer at once (their worker may have died holding it). */
  const reofferNow = new Set<string>();
  /**
   * Dispatched-with-their-fire instances whose task this replica saw stored in a message of several
   * (until they start): re-published under its own id, such a task would be a second copy.
   */
  const taskStored = new Set<string>();

  function onWorkerLost(workerId: string): void {
    for (const v of views.values()) {
      if (!v.ready) continue;
      for (const inst of v.runner.state.instances.values()) {
        if (inst.status === 'running' && inst.workerId === workerId)
          mark(`inst:${inst.instanceId}`);
        // A task the dead worker pulled and did not record the start of (not run yet, or run
        // without its start recorded) waits for its ack deadline: hand it out again.
        if (inst.status === 'dispatched') {
          reofferNow.add(inst.instanceId);
          mark(`inst:${inst.instanceId}`);
        }
      }
    }
  }

  const ctx = (): EventContext => ({ actor, nowMs: clock.now() });

  /**
   * What a folded event asks of this replica. `own` is set for an append of this replica folded on
   * its ack: its job is not planned again (the step that appended it goes on planning), but the
   * fire or instance it created is looked after even if that step fails after the append.
   */
  function markFor(stored: StoredEvent, own = false): void {
    const parsed = parseEventSubject(rt.names, stored.subject);
    if (!parsed) return;
    if (parsed.kind === 'job' || parsed.kind === 'trig') {
      if (!own) mark(`job:${parsed.id}`);
      for (const e of firesOf(stored.event)) {
        const id = e.data.instanceId;
        if (!e.data.dispatch) mark(`fire:${id}`);
        else if (!superviseAtOnce(id)) mark(`inst:${id}`);
      }
      return;
    }
    const state = views.get(parsed.partition)?.runner.state;
    const inst = state?.instances.get(parsed.id);
    if (inst && !isTerminal(inst.status)) {
      if (!superviseAtOnce(parsed.id)) mark(`inst:${parsed.id}`);
      return;
    }
    // The instance ended (the scheduler's fold drops ended instances): nothing more to supervise,
    // and its job may now fire again (fixed delay) or start a fire it held back (buffer-one).
    schedule(`inst:${parsed.id}`, undefined);
    taskStored.delete(parsed.id);
    reofferNow.delete(parsed.id);
    const jobId = jobIdOfInstance(parsed.id);
    if (!state || jobId === undefined) return;
    if (state.jobs.get(jobId)?.spec.schedule.kind === 'fixedDelay') mark(`job:${jobId}`);
    for (const id of state.undispatchedByJob.get(jobId) ?? []) mark(`fire:${id}`);
  }

  /**
   * When an instance next needs looking at, if nothing needs appending before then: a task
   * dispatched lately waits for its start, an attempt run by a live worker for its deadline
   * (undefined: it has none). False when something may need appending now, or a lookup first (a
   * re-offer, a timeout, a worker lost or not known yet): {@link superviseInstance} decides.
   */
  function quietUntil(inst: InstanceView, now: number): number | undefined | false {
    if (inst.status === 'dispatched') {
      const since = Math.max(inst.dispatchedAtMs, inst.fireTimeMs);
      const fresh = !reofferNow.has(inst.instanceId) && now - since < republishAfterMs;
      return fresh ? since + republishAfterMs : false;
    }
    if (inst.status === 'running') {
      if (!inst.workerId || !liveWorkers?.isLive(inst.workerId)) return false;
      const deadline = attemptDeadlineMs(inst);
      return deadline !== undefined && now >= deadline ? false : deadline;
    }
    return false;
  }

  /**
   * The supervision of an instance, taken at once as its event is folded when it appends nothing
   * ({@link quietUntil}), instead of in a step of its own. True when done; otherwise, and for an
   * instance already waiting or being handled, it is left to a step. Two steps per instance fewer
   * (after its dispatch, after its start), each a chain of promises: about 10 µs of this replica's
   * CPU per instance in a burst (bench/stages.ts, 2026-12-06).
   */
  function superviseAtOnce(instanceId: string): boolean {
    const key = `inst:${instanceId}`;
    if (busy.has(key) || dirty.has(key)) return false;
    const inst = stateFor(key)?.instances.get(instanceId);
    const until = inst ? quietUntil(inst, clock.now()) : false;
    if (until === false) return false;
    if (inst?.status !== 'dispatched') taskStored.delete(instanceId);
    schedule(key, until);
    return true;
  }

  /** A key needs attention: it is handled once, soon (again after it is done, if busy now). */
  function mark(key: string): void {
    if (busy.has(key)) {
      again.add(key);
      return;
    }
    dirty.add(key);
    if (!pumpQueued) {
      pumpQueued = true;
      queueMicrotask(pump);
    }
  }

  /** Starts handling waiting keys, oldest first, up to `maxInFlight` at a time. */
  function pump(): void {
    pumpQueued = false;
    if (!running || !ready) return;
    for (const key of dirty) {
      if (inFlight >= maxInFlight) return;
      dirty.delete(key);
      busy.add(key);
      inFlight++;
      void step(key);
    }
  }

  /** Handles one key and settles its outcome; never rejects (one promise per step, not a chain). */
  async function step(key: string): Promise<void> {
    try {
      try {
        await handle(key);
      } catch (err) {
        if (err instanceof NotOwnerError) {
          log.debug({ key, partition: err.partition }, 'not acting: lease not confirmed');
          retryWhileFolded(key);
        } else if (err instanceof ConcurrencyError) {
          counters.conflicts++;
          log.debug({ key, err: err.message }, 'stale view; reloading and deciding again');
          await refresh(err);
          mark(key);
        } else throw err;
      }
    } catch (err) {
      counters.errors++;
      failures.report(err, key);
      retryJobOf(key);
    } finally {
      busy.delete(key);
      inFlight--;
      if (again.delete(key)) dirty.add(key);
      if (dirty.size) pump();
    }
  }

  /**
   * After a failed step, everything of its job is looked at again in a second: a step may fail
   * after some of its appends were stored (e.g. a dispatch recorded whose task publish failed), and
   * what those appends ask for (supervising the new instance, dispatching the new fire) must not
   * depend on the rest of the step having run.
   */
  function retryJobOf(key: string): void {
    const at = clock.now() + 1000;
    agenda.set(key, at);
    const jobId = jobIdOfKey(key);
    // The job's other keys: no later than that (a tick due sooner is not put off by the failure).
    const soon = (k: string) => {
      const t = agenda.get(k);
      if (t === undefined || t > at) agenda.set(k, at);
    };
    const state = stateFor(key);
    if (state && jobId !== undefined) {
      soon(`job:${jobId}`);
      for (const fireId of state.undispatchedByJob.get(jobId) ?? []) soon(`fire:${fireId}`);
      for (const instanceId of state.active.get(jobId) ?? []) soon(`inst:${instanceId}`);
    }
    arm();
  }

  /**
   * Waits until the fold has caught up with a subject that moved under us: up to the last sequence
   * the refusal was told, or else read now.
   */
  async function refresh({ subject, lastSeq }: ConcurrencyError): Promise<void> {
    const parsed = parseEventSubject(rt.names, subject);
    const v = parsed && views.get(parsed.partition);
    if (!v) return;
    const last = lastSeq ?? (await rt.store.lastSeq(subject));
    v.runner.expect(last); // stored: a consumer that does not deliver it is replaced at once
    await v.runner.waitForSeq(last, 10_000);
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
    const state = stateFor(key);
    if (!state) return retryWhileFolded(key); // not ours (any more), or our lease is unconfirmed
    if (kind === 'job') return tickJob(state, id);
    if (kind === 'inst') return superviseInstance(state, id);
    if (kind === 'fire') return dispatchFire(state, id);
  }

  // ---- jobs ---------------------------------------------------------------------------------

  async function tickJob(state: ScheduleState, jobId: string): Promise<void> {
    let job = state.jobs.get(jobId);
    const now = clock.now();
    if (job && (job.status !== 'active' || !job.spec.enabled))
      await cancelFiredAhead(state, job, now);
    if (!job || job.status === 'deleted') {
      leads.forget(jobId);
      return schedule(`job:${jobId}`, undefined);
    }

    // Durable triggers (manual, delayed, backfill, rerun) that are due.
    let nextTrigger: number | undefined;
    const due: PendingTrigger[] = [];
    for (const t of Object.values(job.pendingTriggers)) {
      if (t.dueAtMs > now) nextTrigger = Math.min(nextTrigger ?? Infinity, t.dueAtMs);
      else due.push(t);
    }
    const fireOf = (t: PendingTrigger, dispatch: boolean): FireRequest => ({
      fireTimeMs: t.fireTimeMs ?? t.dueAtMs,
      reason: t.reason,
      instanceSuffix: instanceSuffixForTrigger(t.triggerId),
      dispatch,
      ...(t.params !== undefined && { params: t.params }),
      ...(t.rerunOf !== undefined && { rerunOf: t.rerunOf }),
    });
    if (job.spec.overlap === 'buffer-one') {
      // One by one: the first may start, the others wait as buffered fires while it runs.
      for (const t of due) {
        afterFire(await writer.fire(job, fireOf(t, !heldBack(state, job)), ctx()));
        job = state.jobs.get(jobId)!;
      }
    } else {
      // Each dispatched with its fire; as many in one append as fit (a burst on a busy job). A
      // batch is taken from the triggers still pending in the view it is fired on.
      for (let i = 0; i < due.length;) {
        const at: number[] = [];
        const batch: FireRequest[] = [];
        for (let k = i; k < due.length && batch.length < MAX_FIRES_PER_BATCH; k++) {
          const t = due[k];
          if (t === undefined || !(t.triggerId in job.pendingTriggers)) continue;
          at.push(k);
          batch.push(fireOf(t, true));
        }
        if (batch.length === 0) break;
        // A refusal (the job changed under the burst) goes to the step's conflict path: the job
        // is decided again once the fold has caught up. Trigger requests, which come all the time,
        // have a subject of their own and do not move the job's.
        const outcome = await writer.fireMany(job, batch, ctx());
        for (const f of outcome.fired) afterFire(f);
        i = (at[outcome.taken - 1] ?? i) + 1;
        job = state.jobs.get(jobId)!;
      }
    }

    let wakeAt: number | undefined;
    if (job.status === 'active') {
      const plan = dueFires({
        spec: job.spec,
        lastFireMs: job.lastTickMs,
        // Ticks up to a skip, or up to a resume or schedule change, are never planned again.
        lastSkippedMs: maxDefined(job.lastSkippedMs, job.notBeforeMs),
        lastFinishMs: state.lastFinishMs.get(jobId),
        createdAtMs: job.anchorMs,
        nowMs: now,
        runsSoFar: job.runs,
        misfireThresholdMs,
        aheadMs: leads.of(jobId),
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
        job = state.jobs.get(jobId)!;
      }
      if (plan.nextMs !== undefined) {
        const since = plan.fires.at(-1) ?? job.lastTickMs ?? now;
        wakeAt = plan.nextMs - leads.plan(jobId, plan.nextMs, plan.nextMs - since);
      }
      for (const t of plan.fires) {
        if (!(await fireTick(state, job, t, now))) {
          // Not decided ahead: this tick and what follows are planned at its time.
          wakeAt = t;
          leads.forget(jobId);
          break;
        }
        job = state.jobs.get(jobId)!;
      }
    }
    if (wakeAt === undefined) leads.forget(jobId);
    schedule(`job:${jobId}`, minDefined(wakeAt, nextTrigger));
  }

  /**
   * A job that stopped firing (paused, deleted, disabled) before the intended time of a tick fired
   * ahead: that tick's instance is cancelled and the workers are told, so its worker does not start
   * it (its start is sequence-checked).
   */
  async function cancelFiredAhead(state: ScheduleState, job: JobView, now: number): Promise<void> {
    for (const instanceId of [...(state.active.get(job.jobId) ?? [])]) {
      const inst = state.instances.get(instanceId);
      if (!inst || inst.attempt !== 1 || inst.fireTimeMs <= now) continue;
      // Dispatched, or claimed by a worker that starts it at its fire time (then told to abort).
      const claimed = inst.status === 'running' && (inst.attemptStartedAtMs ?? 0) > now;
      if (inst.status !== 'dispatched' && !claimed) continue;
      await writer.instanceEvent(
        inst,
        makeEvent(
          'InstanceCancelled',
          {
            instanceId,
            reason: `job ${job.status === 'active' ? 'disabled' : job.status} before the fire time`,
          },
          ctx(),
          msgIds.cancelled(instanceId),
        ),
      );
      // Told whether claimed or not: a worker that holds the task and would run it before
      // recording its start (see the worker's recordStartAfterMs) records it first once told.
      writer.abort(instanceId, 1, 'cancelled');
      log.info(
        { jobId: job.jobId, instanceId, fireTimeMs: inst.fireTimeMs, claimed },
        'fire made ahead cancelled: the job stopped firing',
      );
    }
  }

  /** Fires one due tick; false (nothing done) when it is ahead of time and could not start now. */
  async function fireTick(
    state: ScheduleState,
    job: JobView,
    fireTimeMs: number,
    now: number,
  ): Promise<boolean> {
    const active = state.active.get(job.jobId);
    const buffered = state.undispatchedByJob.get(job.jobId)?.size ?? 0;
    const decision = decideOverlap({
      policy: job.spec.overlap,
      maxConcurrent: job.spec.maxConcurrent,
      running: active?.size ?? 0,
      buffered,
    });
    // Ahead of time only what would start anyway: runs in progress may end before the tick.
    if (fireTimeMs > now && decision !== 'start') return false;
    if (decision === 'skip') {
      const reason = job.spec.overlap === 'allow' ? 'max-concurrent' : 'overlap';
      await writer.skipped(
        job,
        reason,
        { count: 1, firstMs: fireTimeMs, lastMs: fireTimeMs },
        ctx(),
      );
      log.info({ jobId: job.jobId, fireTimeMs, reason }, 'tick skipped by overlap policy');
      return true;
    }
    if (decision === 'cancel-previous-then-start' && active) {
      for (const instanceId of [...active]) {
        const inst = state.instances.get(instanceId);
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
    const fired = await writer.fire(
      job,
      { fireTimeMs, reason, dispatch: decision !== 'buffer' },
      ctx(),
    );
    if (fired.stored)
      log.debug(
        {
          jobId: job.jobId,
          instanceId: fired.instanceId,
          fireTimeMs,
          latenessMs: now - fireTimeMs,
        },
        'fired',
      );
    afterFire(fired);
    return true;
  }

  /**
   * A fire was recorded (or found recorded: a repeated append). Its instance is supervised from
   * now on when it was dispatched with the fire; a buffered fire is dispatched when its turn comes.
   * A task publish that fails is reported like a failed step: the instance's supervision publishes
   * it again.
   */
  function afterFire(fired: Fired): void {
    const { instanceId, stored, task } = fired;
    if (stored) counters.fires++;
    if (stored && task) counters.dispatches++;
    const key = task ? `inst:${instanceId}` : `fire:${instanceId}`;
    if (!(task && superviseAtOnce(instanceId))) mark(key);
    task?.then(
      (shared) => {
        // Unless it started (or ended) before the publish's acknowledgement came.
        if (shared && instanceOf(instanceId)?.status === 'dispatched') taskStored.add(instanceId);
      },
      (err: unknown) => {
        counters.errors++;
        failures.report(err, key);
        retryJobOf(key);
      },
    );
  }

  /** A buffer-one job with a run in progress: its fire waits, undispatched, until the run ends. */
  function heldBack(state: ScheduleState, job: JobView): boolean {
    return job.spec.overlap === 'buffer-one' && (state.active.get(job.jobId)?.size ?? 0) > 0;
  }

  /** Dispatches a recorded fire that has no instance yet (just fired, buffered, or half-done after a crash). */
  async function dispatchFire(state: ScheduleState, instanceId: string): Promise<void> {
    const fire = state.undispatched.get(instanceId);
    if (!fire) return;
    const job = state.jobs.get(fire.jobId);
    if (!job || job.status === 'deleted') return;
    if (heldBack(state, job)) return;
    const ack = await writer.dispatch(
      job,
      { instanceId, attempt: 1, fireTimeMs: fire.fireTimeMs, params: fire.params, expectedSeq: 0 },
      ctx(),
    );
    if (!ack.duplicate) counters.dispatches++;
    mark(`inst:${instanceId}`); // supervise it from now on
  }

  // ---- instances ----------------------------------------------------------------------------

  async function superviseInstance(state: ScheduleState, instanceId: string): Promise<void> {
    const inst = state.instances.get(instanceId);
    if (inst?.status !== 'dispatched') taskStored.delete(instanceId);
    if (!inst || isTerminal(inst.status)) return schedule(`inst:${instanceId}`, undefined);
    const now = clock.now();
    const until = quietUntil(inst, now);
    if (until !== false) return schedule(`inst:${instanceId}`, until);
    switch (inst.status) {
      case 'running': {
        if (inst.workerId && liveWorkers && (await liveWorkers.isGone(inst.workerId))) {
          const lost = makeEvent(
            'InstanceWorkerLost',
            { instanceId, attempt: inst.attempt, workerId: inst.workerId },
            ctx(),
            msgIds.workerLost(instanceId, inst.attempt),
          );
          await writer.instanceEvent(inst, lost);
          log.warn(
            { instanceId, jobId: inst.jobId, attempt: inst.attempt, workerId: inst.workerId },
            'worker lost; attempt ended',
          );
          return mark(`inst:${instanceId}`);
        }
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
        const job = state.jobs.get(inst.jobId);
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
        const job = state.jobs.get(inst.jobId);
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
        return mark(`inst:${instanceId}`);
      }
      case 'dispatched': {
        // Waiting for a worker to start it. Offer the task again when it may have been lost:
        // - its worker died after taking it: at once, under a new message id;
        // - the publish itself may have failed: after 5 s, under the same id (a no-op if it landed);
        // - a pull may have been lost in a JetStream leader change: every 30 s, under a new id.
        // Whichever copy a worker starts first wins: starts are sequence-checked.
        // A task handed out ahead of its fire time is not expected to start before that time.
        const since = Math.max(inst.dispatchedAtMs, inst.fireTimeMs);
        const age = now - since;
        if (reofferNow.has(instanceId)) {
          // A second copy: not before a worker would record its start before running it, so
          // that the first copy, if another worker holds it, cannot still run unrecorded.
          if (age < SECOND_COPY_MIN_AGE_MS)
            return schedule(`inst:${instanceId}`, since + SECOND_COPY_MIN_AGE_MS);
          reofferNow.delete(instanceId);
          await writer.publishTask(inst, inst.lastSeq, `lost${now}`);
        } else if (age >= REOFFER_MS) {
          const round = Math.floor(age / REOFFER_MS);
          await writer.publishTask(inst, inst.lastSeq, `r${round}`);
          return schedule(`inst:${instanceId}`, since + (round + 1) * REOFFER_MS);
        } else if (age >= republishAfterMs) {
          // Under the same id a no-op if the first publish landed; not for a task seen stored in
          // a message of several, which went out under that message's id.
          if (!taskStored.has(instanceId)) await writer.publishTask(inst, inst.lastSeq);
          return schedule(`inst:${instanceId}`, since + REOFFER_MS);
        }
        return schedule(
          `inst:${instanceId}`,
          since + (age < republishAfterMs ? republishAfterMs : REOFFER_MS),
        );
      }
      default:
        return;
    }
  }

  /** After a takeover: every job gets planned, half-done transitions get finished. */
  async function recover(state: ScheduleState): Promise<void> {
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
    stateOf: (p) => (views.get(p)?.ready ? views.get(p)?.runner.state : undefined),
    partitions: () =>
      [...views].map(([partition, v]) => ({ partition, seq: v.runner.seq, ready: v.ready })),
    async start() {
      warmEventParsers(); // compiled now, not when a type is first folded under load
      running = true;
      ready = true;
      liveWorkers = await watchLiveWorkers(rt.buckets.heartbeats, log, onWorkerLost);
      ownership.onChange(syncOwnership);
      await ownership.start();
      syncOwnership();
      await changes;
      await Promise.all(takeovers);
      const snap = () => {
        snapshotTimer = setTimeout(() => {
          saveSnapshots()
            .catch((err: unknown) => log.error({ err }, 'snapshot failed'))
            .finally(() => running && snap());
        }, snapshotRules.checkEveryMs);
      };
      snap();
      log.info({ partitions: [...views.keys()].length }, 'scheduler started');
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      if (snapshotTimer) clearTimeout(snapshotTimer);
      clearTimeout(takeRetry);
      const deadline = Date.now() + 5000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await saveSnapshots(true).catch((err: unknown) =>
        log.error({ err }, 'final snapshot failed'),
      );
      await changes;
      for (const p of [...views.keys()]) await release(p);
      await Promise.all(takeovers);
      await ownership.stop();
      await liveWorkers?.stop();
      failures.flush();
    },
    stats: () => ({ ...counters, agenda: agenda.size }),
    folds: {
      foldOf(p) {
        const v = views.get(p);
        return v?.ready ? v.runner : undefined;
      },
      onChange: (listener) => void foldListeners.add(listener),
    },
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
