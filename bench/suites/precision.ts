import { DeliverPolicy } from '@nats-io/jetstream';
import type { BenchConfig } from '../lib/config.js';
import type { Runtime } from '../../src/services/runtime.js';
import { baseline, Collector, lowerIsAtMost } from '../lib/result.js';
import { readEvents, uniquePrefix, withInstallation } from '../lib/nats.js';
import { startSut } from '../lib/sut.js';
import type { LoopStats } from '../sut.js';
import { benchClient, GROUP, registerJobs } from '../lib/jobs.js';
import { timerPublishLateness } from '../lib/timer-baseline.js';
import { fmt, sleep, spread } from '../lib/stats.js';
import { bullmqSchedulerLateness, bullmqSetup } from '../lib/bullmq.js';

interface Scenario {
  key: string;
  /** Fixed rate from each job's anchor, or cron ticks on the clock. */
  kind: 'every' | 'cron';
  label: string;
  /** The scheduler's fireAheadMs; unset: its default. */
  fireAheadMs?: number;
  /** The scheduler's maxFireAheadMs; unset: its default. */
  maxFireAheadMs?: number;
  /** The workers' claimAheadMs; unset: their default. */
  claimAheadMs?: number;
  jobs: number;
  schedule: Record<string, unknown>;
  periodMs: number;
  runMs: number;
  targetP99Ms: number;
  /** Fire phases of the jobs within a period, for the baseline. */
  offsets: (jobs: number) => number[];
  baselineTicks: number;
  baselinePeriodMs: number;
  /**
   * From the last registration to the window's start. The fires and dispatches of a burst of
   * registrations are a transient of their own; the window measures the steady state after it.
   */
  windowAfterMs: number;
  /**
   * From the last registration to the first of the ticks measured apart, before the window: the
   * first ticks after the processes start (see the setup note), reported without a target.
   */
  firstTicksAfterMs?: number;
}

interface Lateness {
  fire: number[];
  start: number[];
  /** Start lateness of the ticks from `firstTicksAfterMs` to the window. */
  firstTicksStart: number[];
  /**
   * Start lateness of the window's last half: the processes have run longer (compiled, their heap
   * grown to its working size), closer to a scheduler that has been up for a while.
   */
  lastHalfStart: number[];
  expected: number;
  /** Ticks in the window neither fired nor recorded as skipped. */
  missingFires: number;
  /** Ticks in the window recorded as skipped (JobFiresSkipped: the misfire or overlap policy). */
  skippedFires: number;
  duplicateFires: number;
  missingStarts: number;
  registerRate: number;
  /** How long after the window the scheduler ran on until the window's fires had started. */
  settleMs: number;
  /** Event loop delay and GC of the scheduler's and the workers' processes over the whole run. */
  loopDelay: string;
}

/**
 * After the window: keeps the system running until the instances of the window's fires have
 * started (at least `atLeast` of them and no new one for 2 s; or nothing new for 10 s; at most
 * 60 s), so that late starts are measured rather than cut off. Instance ids of scheduled fires
 * are `<jobId>~<fireTimeMs>`, so the subject tells the fire time; only headers are read.
 */
async function waitForStarts(
  rt: Runtime,
  from: number,
  to: number,
  atLeast: number,
  /**
   * Event types that mark an instance begun: its start, or its report (of an attempt claimed ahead,
   * or of a run that ended before its worker recorded its start).
   */
  began: ReadonlySet<string>,
): Promise<{ ms: number; started: number }> {
  const t0 = Date.now();
  const consumer = await rt.js.consumers.get(rt.names.eventStream, {
    filter_subjects: [`${rt.names.prefix}.evt.*.inst.*`],
    deliver_policy: DeliverPolicy.All,
    headers_only: true,
  });
  const messages = await consumer.consume({ max_messages: 4096 });
  const started = new Set<string>();
  let lastGrowth = Date.now();
  const loop = (async () => {
    for await (const m of messages) {
      if (!began.has(m.headers?.get('Jetsched-Type') ?? '')) continue;
      const fireTimeMs = Number(m.subject.slice(m.subject.lastIndexOf('~') + 1));
      if (fireTimeMs >= from && fireTimeMs <= to && !started.has(m.subject)) {
        started.add(m.subject);
        lastGrowth = Date.now();
      }
    }
  })();
  for (;;) {
    await sleep(500);
    const quiet = Date.now() - lastGrowth;
    if ((started.size >= atLeast && quiet >= 2000) || quiet >= 10_000 || Date.now() - t0 > 60_000)
      break;
  }
  await messages.close();
  await loop;
  return { ms: Date.now() - t0, started: started.size };
}

/** Expected ticks of one job in [from, to]: fixed rate from its anchor, or every period on the clock. */
function ticksIn(s: Scenario, anchorMs: number, from: number, to: number): number[] {
  const out: number[] = [];
  const first =
    s.kind === 'every'
      ? anchorMs + Math.max(1, Math.ceil((from - anchorMs) / s.periodMs)) * s.periodMs
      : Math.ceil(Math.max(from, anchorMs + 1) / s.periodMs) * s.periodMs;
  for (let t = first; t <= to; t += s.periodMs) out.push(t);
  return out;
}

function describeLoop({ loopDelayMs: d, gc }: LoopStats): string {
  let out = d ? `p50 ${fmt(d.p50)} / p99 ${fmt(d.p99)} / max ${fmt(d.max)} ms` : 'n/a';
  if (gc)
    out += ` (GC: ${gc.count} pauses, ${fmt(gc.totalMs)} ms in all, longest ${fmt(gc.maxMs)} ms, ${gc.over10ms} over 10 ms)`;
  return out;
}

async function runScenario(url: string, s: Scenario, registerWindow: number): Promise<Lateness> {
  return withInstallation(url, s.key, async (rt, prefix) => {
    const sut = await startSut(
      {
        url,
        prefix,
        schedulerId: `sched-${prefix}`,
        workers: 2,
        workerConcurrency: 64,
        monitorWorkers: true,
        ...(s.fireAheadMs !== undefined && { fireAheadMs: s.fireAheadMs }),
        ...(s.maxFireAheadMs !== undefined && { maxFireAheadMs: s.maxFireAheadMs }),
        ...(s.claimAheadMs !== undefined && { claimAheadMs: s.claimAheadMs }),
      },
      `precision-${prefix}`,
    );
    let registerMs: number;
    let settle: { ms: number; started: number };
    let from: number;
    let to: number;
    let firstFrom: number;
    let loopDelay = 'n/a';
    try {
      const specs = Array.from({ length: s.jobs }, (_, i) => ({
        name: `${s.key}-${i}`,
        group: GROUP,
        processor: 'noop',
        schedule: s.schedule,
      }));
      registerMs = await registerJobs(benchClient(rt), specs, registerWindow);
      firstFrom = Date.now() + (s.firstTicksAfterMs ?? s.windowAfterMs);
      from = Date.now() + s.windowAfterMs;
      to = from + s.runMs;
      await sleep(to - Date.now());
      settle = await waitForStarts(
        rt,
        from,
        to,
        s.jobs * Math.floor(s.runMs / s.periodMs),
        new Set(['InstanceStarted', 'InstanceSucceeded', 'InstanceAttemptFailed']),
      );
    } finally {
      const stats = await sut.stop();
      loopDelay = [
        `scheduler ${describeLoop(stats.scheduler)}`,
        ...stats.workers.map((w, i) => `worker ${i + 1} ${describeLoop(w)}`),
      ].join('; ');
    }
    const events = await readEvents(rt.js, rt.jsm, rt.names.eventStream, [`${prefix}.evt.>`]);
    const anchor = new Map<string, number>();
    const fireOf = new Map<string, number>();
    const firstTickOf = new Map<string, number>();
    const seen = new Set<string>();
    const skips = new Map<string, { firstMs: number; lastMs: number }[]>();
    const fire: number[] = [];
    let duplicateFires = 0;
    for (const { event: e } of events) {
      if (e.type === 'JobDefined') anchor.set(e.data.jobId, e.data.createdAtMs);
      if (e.type === 'JobFiresSkipped') {
        const ranges = skips.get(e.data.jobId) ?? [];
        ranges.push({ firstMs: e.data.firstFireTimeMs, lastMs: e.data.lastFireTimeMs });
        skips.set(e.data.jobId, ranges);
      }
      if (e.type !== 'JobFired' || e.data.fireTimeMs < firstFrom || e.data.fireTimeMs > to)
        continue;
      if (e.data.fireTimeMs < from) {
        firstTickOf.set(e.data.instanceId, e.data.fireTimeMs);
        continue;
      }
      const key = `${e.data.jobId}@${e.data.fireTimeMs}`;
      if (seen.has(key)) duplicateFires++;
      seen.add(key);
      fireOf.set(e.data.instanceId, e.data.fireTimeMs);
      fire.push(e.atMs - e.data.fireTimeMs);
    }
    // When attempt 1's processor began: its report says, for an attempt claimed ahead
    // (InstanceStarted.startsAtMs) and for a run that ended before its worker recorded its start
    // (no InstanceStarted); else its InstanceStarted says (recorded as it began, or later with
    // beganAtMs).
    const beganAt = new Map<string, number>();
    for (const { event: e } of events) {
      if (e.type === 'InstanceStarted' && e.data.attempt === 1 && e.data.startsAtMs === undefined)
        beganAt.set(e.data.instanceId, e.data.beganAtMs ?? e.atMs);
      if (
        (e.type === 'InstanceSucceeded' || e.type === 'InstanceAttemptFailed') &&
        e.data.attempt === 1 &&
        e.data.startedAtMs !== undefined
      )
        beganAt.set(e.data.instanceId, e.data.startedAtMs);
    }
    const start: number[] = [];
    const firstTicksStart: number[] = [];
    const lastHalfStart: number[] = [];
    const lastHalfFrom = from + s.runMs / 2;
    for (const [instanceId, began] of beganAt) {
      const t = fireOf.get(instanceId);
      if (t !== undefined) start.push(began - t);
      if (t !== undefined && t >= lastHalfFrom) lastHalfStart.push(began - t);
      const first = t === undefined ? firstTickOf.get(instanceId) : undefined;
      if (first !== undefined) firstTicksStart.push(began - first);
    }
    let expected = 0;
    let missingFires = 0;
    let skippedFires = 0;
    for (const [jobId, a] of anchor) {
      for (const t of ticksIn(s, a, from, to)) {
        expected++;
        if (seen.has(`${jobId}@${t}`)) continue;
        if (skips.get(jobId)?.some((r) => r.firstMs <= t && t <= r.lastMs)) skippedFires++;
        else missingFires++;
      }
    }
    return {
      fire,
      start,
      firstTicksStart,
      lastHalfStart,
      expected,
      missingFires,
      skippedFires,
      duplicateFires,
      missingStarts: fire.length - start.length,
      registerRate: s.jobs / (registerMs / 1000),
      settleMs: settle.ms,
      loopDelay,
    };
  });
}

/** Cron ticks measured apart, before the window: the first after the processes start. */
const FIRST_TICKS = 3;

/** The scenarios judged against a target: the defaults, and the claimed-ahead configuration. */
const judged = (s: Scenario): boolean =>
  (s.fireAheadMs === undefined && s.maxFireAheadMs === undefined) || s.claimAheadMs !== undefined;

/** Lead of the scenario whose workers claim ahead: enough to record and claim 10,000 fires here. */
const CLAIMED_AHEAD_MS = Number(process.env['BENCH_CLAIM_AHEAD_MS'] ?? 5000);

export async function precisionSuite(url: string, cfg: BenchConfig, c: Collector): Promise<void> {
  const p = cfg.precision;
  const everySecond = {
    kind: 'every' as const,
    jobs: p.everySecondJobs,
    schedule: { every: '1s' },
    periodMs: 1000,
    runMs: p.everySecondRunMs,
    targetP99Ms: 20,
    offsets: (n: number) => Array.from({ length: n }, (_, i) => Math.floor((i * 1000) / n)),
    baselineTicks: 5,
    baselinePeriodMs: 1000,
    // 1 s was too little: right after 1,000 registrations in about a second, the first second of
    // the window held most of a trial's late starts (2026-12-02, docs/benchmarks-history.md).
    windowAfterMs: 3000,
  };
  const scenarios: Scenario[] = [
    {
      ...everySecond,
      key: 'every',
      label: `${p.everySecondJobs.toLocaleString('en-US')} jobs every 1 s`,
    },
    {
      ...everySecond,
      key: 'every-at-tick',
      label: `${p.everySecondJobs.toLocaleString('en-US')} jobs every 1 s, fired at the tick (fireAheadMs 0)`,
      fireAheadMs: 0,
    },
    {
      key: 'cron',
      kind: 'cron',
      label: `${p.cronJobs.toLocaleString('en-US')} cron jobs */10 s`,
      jobs: p.cronJobs,
      schedule: { cron: '*/10 * * * * *' },
      periodMs: 10_000,
      runMs: p.cronRunMs,
      targetP99Ms: 50,
      offsets: (n) => Array.from({ length: n }, () => 0),
      baselineTicks: 3,
      baselinePeriodMs: 2000,
      // The first ticks after the processes start are slower while V8 compiles the path a tick
      // takes (measured apart, below); the window measures the ticks after them.
      firstTicksAfterMs: 1000,
      windowAfterMs: 1000 + FIRST_TICKS * 10_000,
    },
  ];
  // The workers' option for ticks that must start on time (README): judged like the defaults.
  scenarios.splice(2, 0, {
    ...everySecond,
    key: 'every-claimed',
    label: `${p.everySecondJobs.toLocaleString('en-US')} jobs every 1 s, claimed ahead (fireAheadMs 1,000, claimAheadMs 1,000)`,
    fireAheadMs: 1000,
    claimAheadMs: 1000,
  });
  const cron = scenarios.find((s) => s.key === 'cron');
  if (cron)
    scenarios.push(
      {
        ...cron,
        key: 'cron-one-lead',
        label: `${cron.label}, one lead for every tick (maxFireAheadMs 1,000)`,
        maxFireAheadMs: 1000,
      },
      {
        ...cron,
        key: 'cron-claimed',
        label: `${cron.label}, claimed ahead (fireAheadMs ${fmt(CLAIMED_AHEAD_MS)}, claimAheadMs ${fmt(CLAIMED_AHEAD_MS)})`,
        fireAheadMs: CLAIMED_AHEAD_MS,
        claimAheadMs: CLAIMED_AHEAD_MS,
      },
    );
  c.setup.push(
    'one nats-server; per trial and scenario a fresh installation and fresh child processes: the scheduler (startServer) in one, each of two workers (concurrency 64, no-op processor) in its own, as deployed; jobs registered through RegisterJob commands while it runs',
    `window: from 3 s (1,000 jobs every second) or ${1 + FIRST_TICKS * 10} s (10,000 cron jobs) after the last registration for the run length; the cron ticks from 1 s after it to the window (${FIRST_TICKS} ticks, the first full ones after the processes start) are reported apart, without a target: they are slower while V8 compiles the path a tick takes (the first of them took 36–99 ms from the first to the last processor call of a worker's 5,000 claimed attempts, later ones 9–27 ms; with --no-opt every tick after the first took 10–21 ms; 2026-12-06); the start lateness of the window's last half is reported too, without a target (since 2026-12-07: in the 1,000-jobs scenario with the defaults, the late starts gathered in the window's first half, p99 19 and 22 ms against 8 and 9 in its last half in two scratch runs); until 2026-12-06 the window began 1 s after the last registration and held them; a fire belongs to it by its intended time; after the window the system keeps running until the window’s instances have started (no new start for 2 s; at most 30 s), so late ones are measured rather than cut off; an instance still not started then counts with the time it had waited (a lower bound); then it stops and lateness is read back from the stream`,
    'a tick of the window that was not fired is counted as skipped when a JobFiresSkipped event covers it (its misfire or overlap policy; a misfire means the scheduler was more than 5 s behind), else as missing; neither has a lateness, so a trial with skips says so in its note',
    'start lateness = when attempt 1 began − fireTimeMs: InstanceStarted.atMs, or the startedAtMs of its report for an attempt claimed ahead and (since 2026-12-06) for a run that ended before its worker recorded its start (the default recordStartAfterMs, 200 ms: a no-op run records no InstanceStarted); the lateness the targets are about; fire recorded − intended = JobFired.atMs − fireTimeMs (when the scheduler decided; negative: ahead of time)',
    'the scheduler runs with its defaults: it records each scheduled tick and hands its task to a worker fireAheadMs (1,000 ms) early, and the worker starts it at its intended time, running it before it records its start (recordStartAfterMs); since 2026-12-06 a tick that shares its second with others already planned is fired 0.5 ms earlier for each of them (fireAheadPerTickMs), at most 10 s (maxFireAheadMs) and half the job’s period early: the 10,000 cron jobs are fired from 5 s to 1 s before their tick; the scenario "fired at the tick" runs the 1,000 jobs every second with fireAheadMs 0 (the behaviour before 2026-12-02), for comparison, without a target',
    'the scenario "one lead for every tick" (since 2026-12-06) runs the 10,000 cron jobs with maxFireAheadMs 1,000, i.e. every tick fired 1 s early however many share it (the defaults before 2026-12-06), for comparison, without a target',
    `the scenarios "claimed ahead" run the 1,000 jobs every second with the workers' claimAheadMs at 1,000 ms (the scheduler's default fireAheadMs), and the 10,000 cron jobs with the scheduler's fireAheadMs and the workers' claimAheadMs at ${fmt(CLAIMED_AHEAD_MS)} ms: each worker records a task's start (InstanceStarted with startsAtMs) when it receives it, and at the tick only calls the processor; its start lateness is the report's startedAtMs − fireTimeMs (when the processor began), and the window waits for reports instead of starts`,
    'baseline: an ideal scheduler in one Node process (sorted due times, one setTimeout) publishing one 256-byte JetStream message per fire, lateness = ack − due; same number of fires per tick and the same phases (spread over the second for fixed rate; all at once for cron, bursts 2 s apart)',
  );
  // BENCH_PRECISION=every (or cron) runs one scenario only, while investigating;
  // BENCH_FIRE_AHEAD_MS gives the scenarios that run the scheduler's default lead another one.
  const only = process.env['BENCH_PRECISION'];
  const lead = process.env['BENCH_FIRE_AHEAD_MS'];
  const defs = scenarios
    .filter((s) => !only || s.key === only)
    .map((s) =>
      lead === undefined || s.fireAheadMs !== undefined
        ? s
        : {
            ...s,
            fireAheadMs: Number(lead),
            label: `${s.label} (fireAheadMs ${fmt(Number(lead))})`,
          },
    )
    .map((s) => {
      const b = {
        p50: baseline('timer + publish p50', 'ms'),
        p99: baseline('timer + publish p99', 'ms'),
        max: baseline('timer + publish max', 'ms'),
      };
      const name = (what: 'fire' | 'start', q: string) =>
        `${s.label}: ${what === 'fire' ? 'fire recorded − intended time' : 'start lateness'} ${q}`;
      const target = { text: `p99 ≤ ${s.targetP99Ms} ms`, met: lowerIsAtMost(s.targetP99Ms) };
      for (const what of ['fire', 'start'] as const) {
        for (const q of ['p50', 'p99', 'max'] as const) {
          c.define({
            name: name(what, q),
            unit: 'ms',
            baseline: b[q],
            ...(what === 'start' && q === 'p99' && judged(s) && { target }),
          });
        }
      }
      const reg = `${s.label}: register rate (RegisterJob, ${p.registerWindow} in flight)`;
      c.define({ name: reg, unit: 'jobs/s' });
      const first = (q: string) =>
        `${s.label}: start lateness of the ${FIRST_TICKS} ticks before the window (the first after start) ${q}`;
      if (s.firstTicksAfterMs !== undefined)
        for (const q of ['p99', 'max']) c.define({ name: first(q), unit: 'ms' });
      const lastHalf = `${s.label}: start lateness p99 of the window's last half (reference)`;
      c.define({ name: lastHalf, unit: 'ms', baseline: b.p99 });
      return { s, b, name, reg, first, lastHalf };
    });
  // BullMQ's job schedulers in the two scenarios judged with our defaults, timed the same way
  // (bench/lib/bullmq.ts): what a user of BullMQ gets on this machine, beside our rows.
  const { redis, version: bullmqVersion } = await bullmqSetup((line) => c.note(line));
  const bullmq =
    redis === undefined
      ? []
      : defs
          .filter((d) => d.s.key === 'every' || d.s.key === 'cron')
          .map((d) => {
            const repeat =
              d.s.kind === 'every'
                ? { every: d.s.periodMs }
                : { pattern: String(d.s.schedule['cron']) };
            const how =
              'every' in repeat ? `every: ${repeat.every}` : `pattern '${repeat.pattern}'`;
            const label = `BullMQ ${bullmqVersion} job schedulers, ${d.s.jobs.toLocaleString('en-US')} of them (${how})`;
            const row = (q: string) => `${label}: start lateness ${q} (reference)`;
            for (const q of ['p50', 'p99', 'max'] as const)
              c.define({ name: row(q), unit: 'ms', baseline: d.b[q] });
            return { s: d.s, repeat, label, row, bin: redis.bin };
          });
  if (redis && bullmq.length > 0)
    c.setup.push(
      `BullMQ (since 2026-12-07): the scenarios ${bullmq.map((x) => `"${x.s.label}"`).join(' and ')} are also run on BullMQ ${bullmqVersion}'s job schedulers, on redis-server ${redis.version} without persistence (a fresh server each time), with two worker processes (concurrency 64 each, as ours) whose processor notes when it began each job: start lateness = that − the job's slot (the intended time BullMQ puts in a scheduler's job id). One upsertJobScheduler per job of ours (${p.registerWindow} in flight), "every" schedulers start at their registration as ours do; the same window after the last registration; the workers stop a period and 5 s after the window, a slot of the window not begun by then counts as missing; expected slots are counted from each scheduler's first slot on its period`,
    );
  for (let trial = 1; trial <= cfg.trials; trial++) {
    console.log(`  trial ${trial}/${cfg.trials}`);
    for (const { s, b, name, reg, first, lastHalf } of defs) {
      const base = spread(
        await timerPublishLateness(url, uniquePrefix('tb'), {
          offsets: s.offsets(s.jobs),
          periodMs: s.baselinePeriodMs,
          ticks: s.baselineTicks,
        }),
      );
      b.p50.samples.push(base.p50);
      b.p99.samples.push(base.p99);
      b.max.samples.push(base.max);
      const r = await runScenario(url, s, p.registerWindow);
      const f = spread(r.fire);
      const st = spread(r.start);
      c.add(name('fire', 'p50'), f.p50);
      c.add(name('fire', 'p99'), f.p99);
      c.add(name('fire', 'max'), f.max);
      c.add(name('start', 'p50'), st.p50);
      c.add(name('start', 'p99'), st.p99);
      c.add(name('start', 'max'), st.max);
      c.add(reg, r.registerRate);
      const ft = s.firstTicksAfterMs !== undefined ? spread(r.firstTicksStart) : undefined;
      if (ft) {
        c.add(first('p99'), ft.p99);
        c.add(first('max'), ft.max);
      }
      const lh = spread(r.lastHalfStart);
      c.add(lastHalf, lh.p99);
      c.note(
        `trial ${trial}, ${s.label}: ${r.fire.length} fires in the window (expected ${r.expected}; recorded as skipped (JobFiresSkipped) ${r.skippedFires}, missing ${r.missingFires}, duplicated ${r.duplicateFires}; not started when stopped ${r.missingStarts}, counted with their wait so far; ran on ${fmt(r.settleMs / 1000)} s past the window); fire p50/p99/max ${fmt(f.p50)}/${fmt(f.p99)}/${fmt(f.max)} ms, start ${fmt(st.p50)}/${fmt(st.p99)}/${fmt(st.max)} ms (the window's last half, ${r.lastHalfStart.length} starts: ${fmt(lh.p50)}/${fmt(lh.p99)}/${fmt(lh.max)} ms)${ft ? ` (the ${FIRST_TICKS} ticks before the window, ${r.firstTicksStart.length} starts: ${fmt(ft.p50)}/${fmt(ft.p99)}/${fmt(ft.max)} ms)` : ''}; baseline ${fmt(base.p50)}/${fmt(base.p99)}/${fmt(base.max)} ms; registered at ${fmt(r.registerRate)} jobs/s; event loop delay: ${r.loopDelay}`,
      );
    }
    for (const x of bullmq) {
      const r = await bullmqSchedulerLateness(x.bin, {
        jobs: x.s.jobs,
        repeat: x.repeat,
        periodMs: x.s.periodMs,
        windowAfterMs: x.s.windowAfterMs,
        runMs: x.s.runMs,
        registerWindow: p.registerWindow,
        workers: 2,
        concurrency: 64,
      });
      const st = spread(r.start);
      c.add(x.row('p50'), st.p50);
      c.add(x.row('p99'), st.p99);
      c.add(x.row('max'), st.max);
      c.note(
        `trial ${trial}, ${x.label}: ${r.start.length} starts in the window (expected ${r.expected}; missing ${r.missing}, begun twice ${r.duplicated}, schedulers that never began a job ${r.silent}); start ${fmt(st.p50)}/${fmt(st.p99)}/${fmt(st.max)} ms; registered at ${fmt(r.registerRate)} schedulers/s`,
      );
    }
  }
}
