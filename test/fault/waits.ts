/**
 * Event-driven waits of the fault scenario, on a live fold of the whole stream (a projection
 * runner) and on JetStream's own advisories. No fixed sleeps, except `faultFor` which holds a fault
 * (a stopped process, a dead node) for as long as the scenario says.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProjectionRunner } from '../../src/projections/runner.js';
import type { ScheduleState } from '../../src/projections/state.js';
import type { Runtime } from '../../src/services/runtime.js';
import { installationStreams } from '../../src/events/subjects.js';
import { watch } from '../scheduler/helpers.js';

/** A live fold of the whole stream that notices when it stops following the stream, and rebuilds. */
export interface View {
  readonly state: ScheduleState;
  readonly seq: number;
  /** Times the fold stood still while the stream moved on (and was rebuilt from zero). */
  readonly stalls: readonly { atMs: number; seq: number; streamSeq: number }[];
  /** Resolves when `predicate` holds after some event; rejects after `timeoutMs`. */
  waitUntil(predicate: (s: ScheduleState) => boolean, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The scenario's observer: the project's projection runner (`watch`), plus a watchdog. An ordered
 * consumer whose node dies can stand still for a long time; the observer must not, so after
 * `stallMs` without progress while the stream has moved on, the fold is rebuilt and the stall
 * recorded (it is a finding about the runner, reported by the suite).
 */
export async function createView(rt: Runtime, stallMs = 5000): Promise<View> {
  let runner: ProjectionRunner<ScheduleState> = await watch(rt);
  const stalls: { atMs: number; seq: number; streamSeq: number }[] = [];
  let lastSeq = runner.seq;
  let movedAt = Date.now();
  let checking = false;
  let stopped = false;
  const check = async () => {
    if (runner.seq !== lastSeq) {
      lastSeq = runner.seq;
      movedAt = Date.now();
      return;
    }
    if (Date.now() - movedAt < stallMs) return;
    const streamSeq = await rt.store.lastSeq(`${rt.names.prefix}.evt.>`);
    if (streamSeq <= runner.seq || stopped) return;
    stalls.push({ atMs: Date.now(), seq: runner.seq, streamSeq });
    console.log(
      `[fault] observer fold stalled at seq ${runner.seq} for ${Date.now() - movedAt} ms while the stream is at ${streamSeq}; rebuilding it`,
    );
    const old = runner;
    runner = await watch(rt);
    void old.stop().catch(() => undefined);
    lastSeq = runner.seq;
    movedAt = Date.now();
  };
  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    check()
      .catch(() => undefined) // NATS unreachable for a moment: look again next second
      .finally(() => (checking = false));
  }, 1000);
  return {
    get state() {
      return runner.state;
    },
    get seq() {
      return runner.seq;
    },
    stalls,
    async waitUntil(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const current = runner;
        if (predicate(current.state)) return;
        const slice = Math.min(1000, deadline - Date.now());
        if (slice <= 0)
          throw new Error(`condition not reached within ${timeoutMs} ms (fold at ${current.seq})`);
        // Event-driven within a slice; slices only let a rebuilt fold take over.
        const reached = await current.waitUntil(predicate, slice).then(
          () => true,
          () => false,
        );
        if (reached) return;
      }
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await runner.stop();
    },
  };
}

/** Like view.waitUntil, but a timeout says what was awaited and how far the fold got. */
export async function until(
  view: View,
  what: string,
  predicate: (s: ScheduleState) => boolean,
  timeoutMs: number,
  detail: (s: ScheduleState) => string = () => '',
): Promise<number> {
  try {
    await view.waitUntil(predicate, timeoutMs);
    return Date.now();
  } catch (err) {
    throw new Error(
      `timed out after ${timeoutMs} ms waiting for ${what} (fold at seq ${view.seq}) ${detail(view.state)}`,
      { cause: err },
    );
  }
}

/** Every one of `jobs` jobs has fired a tick at or after `tMs` (fire-all: then none is pending before it). */
export function allFiredFrom(
  view: View,
  jobs: number,
  tMs: number,
  timeoutMs: number,
  what: string,
) {
  // Jobs with a schedule: manual ones have no ticks.
  const scheduled = (s: ScheduleState) =>
    [...s.jobs.values()].filter((j) => j.spec.schedule.kind !== 'manual');
  return until(
    view,
    what,
    (s) => {
      const list = scheduled(s);
      return list.length >= jobs && list.every((j) => (j.lastTickMs ?? 0) >= tMs);
    },
    timeoutMs,
    (s) => {
      const behind = scheduled(s).filter((j) => (j.lastTickMs ?? 0) < tMs);
      return `: ${behind.length} job(s) behind, e.g. ${behind
        .slice(0, 5)
        .map((j) => `${j.jobId}@${j.lastTickMs ?? '-'}`)
        .join(', ')}`;
    },
  );
}

/** Ids of the instances a worker is running now, per the fold. */
export function runningOn(s: ScheduleState, workerId: string): string[] {
  const out: string[] = [];
  for (const ids of s.active.values())
    for (const id of ids) {
      const inst = s.instances.get(id);
      if (inst?.status === 'running' && inst.workerId === workerId) out.push(id);
    }
  return out;
}

/** Holds a fault for `ms` from `sinceMs`. The one place the scenario waits on the clock. */
export async function faultFor(sinceMs: number, ms: number): Promise<void> {
  await sleep(Math.max(0, sinceMs + ms - Date.now()));
}

/** The current leader of a stream (its server name). */
export async function streamLeader(rt: Runtime, stream: string): Promise<string | undefined> {
  return (await rt.jsm.streams.info(stream)).cluster?.leader;
}

/** The streams (event, task, log streams and KV buckets) whose leader is `server`. */
export async function ledBy(rt: Runtime, server: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of installationStreams(rt.names))
    if ((await streamLeader(rt, name).catch(() => undefined)) === server) out.push(name);
  return out;
}

/**
 * Resolves with the new leader of `stream` once one other than `oldLeader` is elected: on the
 * LEADER_ELECTED advisory, or on a stream info naming another leader (in case the advisory was
 * published while our connection was moving to another node).
 */
export async function newLeaderElected(
  rt: Runtime,
  stream: string,
  oldLeader: string,
  timeoutMs: number,
): Promise<{ leader: string; atMs: number; via: 'advisory' | 'info' }> {
  const sub = rt.nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.${stream}`);
  let done = false;
  const advisory = (async () => {
    for await (const m of sub) {
      const leader = (m.json<{ leader?: string }>() ?? {}).leader;
      if (leader && leader !== oldLeader)
        return { leader, atMs: Date.now(), via: 'advisory' as const };
    }
    return undefined;
  })();
  const polled = (async () => {
    while (!done) {
      await sleep(500);
      const leader = await streamLeader(rt, stream).catch(() => undefined);
      if (!done && leader && leader !== oldLeader)
        return { leader, atMs: Date.now(), via: 'info' as const };
    }
    return undefined;
  })();
  const timeout = sleep(timeoutMs).then(() => undefined);
  try {
    const r = await Promise.race([advisory, polled, timeout]);
    if (!r) throw new Error(`no new leader of ${stream} within ${timeoutMs} ms`);
    return r;
  } finally {
    done = true;
    sub.unsubscribe();
  }
}
