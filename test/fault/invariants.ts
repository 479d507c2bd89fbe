/**
 * The fault suite's judge: reads the whole event stream back and checks the guarantees that must
 * hold whatever died (duplicate fires, missed fire-all ticks, fires after a pause, one terminal
 * event per instance, per-attempt chains, fencing of a paused replica, acked appends present,
 * gap-free sequences), and measures what timing decides (takeover, worker-loss re-dispatch,
 * lateness). Pure over a list of stored events, so it is unit-tested on synthetic ones.
 */
import pino from 'pino';
import type { StoredEvent } from '../../src/events/event.js';
import { unbatched } from '../../src/events/batches.js';
import { names as makeNames, parseEventSubject } from '../../src/events/subjects.js';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { checkChains, checkTerminal, type ChainProblem, type TerminalReport } from './chains.js';
import {
  fireLateness,
  takeoverTimes,
  workerLoss,
  type LatenessStats,
  type TakeoverRow,
  type WorkerLossReport,
} from './figures.js';
import { checkTicks, type TickReport } from './ticks.js';

export { formatReport } from './report-format.js';
export type {
  ChainProblem,
  TerminalReport,
  TickReport,
  LatenessStats,
  TakeoverRow,
  WorkerLossReport,
};

/** A stored event in a report: enough to find it with `jetsched audit`. */
export interface EventRef {
  seq: number;
  type: string;
  subject: string;
  actor: string;
  storedAtMs: number;
}
export const refOf = (e: StoredEvent): EventRef => ({
  seq: e.seq,
  type: e.event.type,
  subject: e.subject,
  actor: e.event.actor.id,
  storedAtMs: e.storedAtMs,
});

export interface EventLog {
  events: StoredEvent[];
  /** Messages in the stream that did not decode. */
  undecodable: number;
  /** Sequences missing between the first and last one read (should be none: nothing is deleted). */
  seqGaps: number[];
  /** The last sequence read. */
  lastSeq: number;
  /** JobFiredBatch messages among them (each of their fires is in `events` as a JobFired). */
  fireBatches: number;
  /** JobTriggerRequestedBatch messages (each trigger in `events` as a JobTriggerRequested). */
  triggerBatches: number;
}

/** Reads every event of the installation, in order. */
export async function readEventLog(rt: Runtime): Promise<EventLog> {
  const events: StoredEvent[] = [];
  const seqGaps: number[] = [];
  let undecodable = 0;
  let fireBatches = 0;
  let triggerBatches = 0;
  let prev: number | undefined;
  for await (const raw of rt.store.replay()) {
    if (prev !== undefined)
      for (let s = prev + 1; s < raw.seq && seqGaps.length < 100; s++) seqGaps.push(s);
    prev = raw.seq;
    if (!raw.decoded.ok) {
      undecodable++;
      continue;
    }
    const { seq, subject, storedAtMs } = raw;
    if (raw.decoded.event.type === 'JobFiredBatch') fireBatches++;
    if (raw.decoded.event.type === 'JobTriggerRequestedBatch') triggerBatches++;
    // Each element of a batch as an event of its own: the checks look at fires one by one.
    for (const event of unbatched(raw.decoded.event))
      events.push({ seq, subject, storedAtMs, event });
  }
  return { events, undecodable, seqGaps, lastSeq: prev ?? 0, fireBatches, triggerBatches };
}

/** Opens its own runtime (replicas 3) to read the stream, and closes it. */
export async function readEventLogFrom(servers: string, prefix: string): Promise<EventLog> {
  const rt = await openRuntime({
    nats: { servers },
    prefix,
    replicas: 3,
    log: pino({ level: 'silent' }),
  });
  try {
    return await readEventLog(rt);
  } finally {
    await rt.close();
  }
}

/**
 * (d) A replica that lost its leases must append nothing: events by `actorId` stored from
 * `fromMs` on (until `untilMs`, if given) are violations, except on a partition the replica
 * took again (`reacquiredAtMs`: partition → when) before the event was stored.
 */
export interface FencingWindow {
  actorId: string;
  fromMs: number;
  untilMs?: number;
  reacquiredAtMs?: ReadonlyMap<number, number>;
}

/** An append a process was acked for (from its logs): it must be in the stream as logged. */
export interface AckedAppend {
  seq: number;
  type: string;
  instanceId: string;
  attempt?: number;
  by: string;
}

export interface CheckOptions {
  prefix: string;
  /** The system was paused and has settled: every fired instance must have ended. Default true. */
  settled?: boolean;
  /** Where the fire-all tick check starts: the job's first fire (default) or its anchor. */
  ticksFrom?: 'first-fire' | 'anchor';
  /** Upper bound of the tick check for jobs never paused. Default: their last fire. */
  untilMs?: number;
  fencing?: readonly FencingWindow[];
  /** (e) Schedulers that died (SIGKILL) or froze (SIGSTOP), and when. */
  deadSchedulers?: readonly { id: string; deadAtMs: number }[];
  /** (f) Workers that died, and when. */
  lostWorkers?: readonly { id: string; deadAtMs: number }[];
  acked?: readonly AckedAppend[];
  seqGaps?: readonly number[];
  undecodable?: number;
  /** (g) Instances of the triggers a server acknowledged (TriggerJob): each fired exactly once. */
  triggered?: readonly string[];
}

export interface InvariantReport {
  ok: boolean;
  violations: string[];
  counts: {
    events: number;
    jobs: number;
    fires: number;
    dispatches: number;
    starts: number;
    /** Acked appends the workers logged, checked against the stream. */
    ackedChecked: number;
    terminal: number;
    workerLost: number;
    retries: number;
    bySchedulers: Record<string, number>;
  };
  /** (a) */
  duplicateFires: { jobId: string; fireTimeMs: number; seqs: number[]; actors: string[] }[];
  /** (g) */
  triggers: { acked: number; unfired: string[] };
  /** (b) and fires recorded after their job's pause */
  ticks: TickReport;
  /** (c) */
  terminal: TerminalReport;
  /** Per-attempt chains: one dispatch and one start per attempt, reports after the start… */
  chains: ChainProblem[];
  /** (d) */
  fencing: { window: FencingWindow; offending: EventRef[] }[];
  /** (e) */
  takeovers: TakeoverRow[];
  /** (f) */
  workerLoss: WorkerLossReport[];
  lateness: LatenessStats;
  /** Acked appends that are not in the stream as acked. */
  lostAcks: (AckedAppend & { found?: string })[];
}

export function checkInvariants(events: readonly StoredEvent[], o: CheckOptions): InvariantReport {
  const names = makeNames(o.prefix);
  const violations: string[] = [];
  const fires = events.filter((e) => e.event.type === 'JobFired');

  // (a) at most one JobFired per (job, intended time), and per trigger: the instance id names
  // both (`<job>~<time>` for a tick, `<job>~t-<trigger>` for a trigger, whose fire time many share)
  const byKey = new Map<string, StoredEvent[]>();
  for (const f of fires) {
    if (f.event.type !== 'JobFired') continue;
    const key = f.event.data.instanceId;
    const list = byKey.get(key) ?? [];
    list.push(f);
    byKey.set(key, list);
  }
  const duplicateFires = [...byKey.values()]
    .filter((l) => l.length > 1)
    .map((l) => {
      const d = l[0]!.event.data as { jobId: string; fireTimeMs: number };
      return {
        jobId: d.jobId,
        fireTimeMs: d.fireTimeMs,
        seqs: l.map((e) => e.seq),
        actors: l.map((e) => e.event.actor.id),
      };
    });
  for (const d of duplicateFires)
    violations.push(
      `duplicate fire of ${d.jobId} at ${d.fireTimeMs}: seqs ${d.seqs.join(', ')} by ${d.actors.join(', ')}`,
    );

  // (g) every acknowledged trigger fired (at most once: (a))
  const firedIds = new Set(byKey.keys());
  const unfiredTriggers = (o.triggered ?? []).filter((id) => !firedIds.has(id));
  if (unfiredTriggers.length)
    violations.push(
      `${unfiredTriggers.length} acknowledged trigger(s) never fired, e.g. ${unfiredTriggers.slice(0, 3).join(', ')}`,
    );

  // (b)
  const ticks = checkTicks(events, { from: o.ticksFrom ?? 'first-fire', untilMs: o.untilMs });
  violations.push(...ticks.violations);

  // (c) and the chains
  const terminal = checkTerminal(events, o.settled ?? true);
  violations.push(...terminal.violations);
  const chains = checkChains(events);
  for (const c of chains) violations.push(`instance ${c.instanceId}: ${c.problem} (seq ${c.seq})`);

  // (d)
  const fencing = (o.fencing ?? []).map((window) => {
    const offending = events
      .filter((e) => {
        if (e.event.actor.id !== window.actorId || e.storedAtMs < window.fromMs) return false;
        if (window.untilMs !== undefined && e.storedAtMs >= window.untilMs) return false;
        const p = parseEventSubject(names, e.subject)?.partition;
        const back = p === undefined ? undefined : window.reacquiredAtMs?.get(p);
        return back === undefined || e.storedAtMs < back;
      })
      .map(refOf);
    if (offending.length)
      violations.push(
        `${window.actorId} appended ${offending.length} event(s) without its lease, e.g. ${JSON.stringify(offending[0])}`,
      );
    return { window, offending };
  });

  // acked appends are in the stream as acked (nothing acked was lost across the node kill)
  const bySeq = new Map(events.map((e) => [e.seq, e]));
  const lostAcks: InvariantReport['lostAcks'] = [];
  if (o.acked?.length === 0)
    violations.push(
      'no acked append was logged by the workers: nothing to check (are they at debug?)',
    );
  for (const a of o.acked ?? []) {
    const e = bySeq.get(a.seq);
    const d = e?.event.data as { instanceId?: string; attempt?: number } | undefined;
    const same =
      e?.event.type === a.type &&
      d?.instanceId === a.instanceId &&
      (a.attempt === undefined || d.attempt === a.attempt);
    if (!same) lostAcks.push({ ...a, ...(e && { found: `${e.event.type} on ${e.subject}` }) });
  }
  if (lostAcks.length)
    violations.push(
      `${lostAcks.length} acked append(s) not in the stream as acked, e.g. ${JSON.stringify(lostAcks[0])}`,
    );
  if (o.seqGaps?.length)
    violations.push(`stream sequences missing: ${o.seqGaps.slice(0, 10).join(', ')}…`);
  if (o.undecodable) violations.push(`${o.undecodable} undecodable message(s) in the stream`);

  const count = (type: string) => events.filter((e) => e.event.type === type).length;
  const bySchedulers: Record<string, number> = {};
  for (const f of fires) bySchedulers[f.event.actor.id] = (bySchedulers[f.event.actor.id] ?? 0) + 1;

  return {
    ok: violations.length === 0,
    violations,
    counts: {
      events: events.length,
      jobs: count('JobDefined'),
      fires: fires.length,
      dispatches:
        count('InstanceDispatched') +
        fires.filter((f) => f.event.type === 'JobFired' && f.event.data.dispatch).length,
      starts: count('InstanceStarted'),
      ackedChecked: o.acked?.length ?? 0,
      terminal: terminal.terminalEvents,
      workerLost: count('InstanceWorkerLost'),
      retries: count('InstanceRetryScheduled'),
      bySchedulers,
    },
    duplicateFires,
    triggers: { acked: o.triggered?.length ?? 0, unfired: unfiredTriggers },
    ticks,
    terminal,
    chains,
    fencing,
    takeovers: (o.deadSchedulers ?? []).flatMap((s) => takeoverTimes(events, names, s)),
    workerLoss: (o.lostWorkers ?? []).map((w) => workerLoss(events, w)),
    lateness: fireLateness(events),
    lostAcks,
  };
}

/**
 * The appends a worker logged as acked ("attempt succeeded" with its seq), to check that they
 * survived (e.g. a NATS node kill). Takes pino lines of worker processes.
 */
export function ackedFromWorkerLogs(
  lines: readonly Record<string, unknown>[],
  by: string,
): AckedAppend[] {
  const out: AckedAppend[] = [];
  for (const l of lines) {
    if (l['msg'] !== 'attempt succeeded') continue;
    const { seq, instanceId, attempt } = l;
    if (typeof seq !== 'number' || typeof instanceId !== 'string') continue;
    out.push({
      seq,
      type: 'InstanceSucceeded',
      instanceId,
      ...(typeof attempt === 'number' && { attempt }),
      by,
    });
  }
  return out;
}
