import type { BenchConfig } from '../lib/config.js';
import { baseline, Collector, type Baseline } from '../lib/result.js';
import { lastStreamSeq, readEvents, uniquePrefix, withInstallation } from '../lib/nats.js';
import { completedAt, startSut, type SutHandle } from '../lib/sut.js';
import type { Runtime } from '../../src/services/runtime.js';
import type { Client } from '../../src/services/commands/client.js';
import { benchClient, manualJob, registerJobs } from '../lib/jobs.js';
import { sendTriggers } from '../lib/send.js';
import { paced } from '../lib/paced.js';
import { jetstreamHopLatency } from '../lib/hop-latency.js';
import { fmt, spread, type Spread } from '../lib/stats.js';
import { cpuMsOf, machineBusyMs } from '../lib/cpu.js';
import { bullmqLatency, bullmqSetup } from '../lib/bullmq.js';

/** What one rate measured on the system under test (ms per instance, or per call). */
interface RateResult {
  began: Spread;
  stored: Spread;
  answered: Spread;
  note: string;
}

const JOB = 'job-latency';

/**
 * One rate on running processes: `count` TriggerJob calls of one job at `rate` per second, each
 * carrying its call time in its params; then, untimed, the stream read back for when each
 * instance's run began (the worker's clock) and when its outcome was stored.
 */
async function atRate(
  rt: Runtime,
  client: Client,
  sut: SutHandle,
  rate: number,
  count: number,
  doneBefore: number,
): Promise<RateResult> {
  const from = (await lastStreamSeq(rt.jsm, rt.names.eventStream)) + 1;
  const answered: number[] = [];
  const calls: Promise<void>[] = [];
  let refused = 0;
  let firstRefusal = '';
  const procs = [...sut.processes, { name: 'harness', pid: process.pid }];
  const cpu0 = procs.map((p) => cpuMsOf(p.pid));
  const busy0 = machineBusyMs();
  const t0 = performance.now();
  await paced(count, rate, () => {
    const t = performance.now();
    calls.push(
      client.send('TriggerJob', { jobId: JOB, params: { sentAtMs: Date.now() } }).then(
        () => void answered.push(performance.now() - t),
        (err: unknown) => {
          refused++;
          firstRefusal ||= `; the first refusal: ${(err as Error).message}`;
        },
      ),
    );
  });
  await Promise.all(calls);
  await completedAt(sut, doneBefore + count - refused, 60_000);
  const elapsedS = (performance.now() - t0) / 1000;
  const perInstance = (ms: number) => `${fmt((ms / count) * 1000)} µs`;
  const cpu = procs
    .map((p, i) => `${p.name} ${perInstance(cpuMsOf(p.pid) - (cpu0[i] ?? 0))}`)
    .join(', ');
  const busy = machineBusyMs() - busy0;
  const load = `CPU per instance: ${cpu}; the machine ${perInstance(busy)} (${fmt(busy / 1000 / elapsedS)} of its cores busy)`;
  const events = await readEvents(
    rt.js,
    rt.jsm,
    rt.names.eventStream,
    [`${rt.names.prefix}.evt.>`],
    from,
  );
  const sentAt = new Map<string, number>();
  const triggerStored = new Map<string, number>();
  const fireStored = new Map<string, number>();
  const began = new Map<string, number>();
  const stored = new Map<string, number>();
  let terminals = 0;
  for (const { event, storedAtMs } of events) {
    if (event.type === 'JobTriggerRequested') {
      triggerStored.set(`${event.data.jobId}~t-${event.data.triggerId}`, storedAtMs);
    } else if (event.type === 'JobFired') {
      const p = event.data.params as { sentAtMs?: number } | undefined;
      if (p?.sentAtMs !== undefined) sentAt.set(event.data.instanceId, p.sentAtMs);
      fireStored.set(event.data.instanceId, storedAtMs);
    } else if (event.type === 'InstanceStarted') {
      if (!began.has(event.data.instanceId))
        began.set(event.data.instanceId, event.data.beganAtMs ?? event.atMs);
    } else if (event.type === 'InstanceSucceeded') {
      terminals++;
      stored.set(event.data.instanceId, storedAtMs);
      // A run shorter than the worker's recordStartAfterMs has no InstanceStarted: its report
      // says when it began.
      if (event.data.startedAtMs !== undefined && !began.has(event.data.instanceId))
        began.set(event.data.instanceId, event.data.startedAtMs);
    }
  }
  /** Per instance: its time in `at` minus its time in `start`. */
  const since = (at: Map<string, number>, start = sentAt) => {
    const xs: number[] = [];
    for (const [id, t] of at) {
      const s = start.get(id);
      if (s !== undefined) xs.push(t - s);
    }
    return xs;
  };
  const stage = (name: string, xs: number[]) => {
    const sp = spread(xs);
    return `${name} p50 ${fmt(sp.p50)} p99 ${fmt(sp.p99)}`;
  };
  const stages = [
    stage('call → trigger stored', since(triggerStored)),
    stage('trigger stored → fire stored', since(fireStored, triggerStored)),
    stage('fire stored → run began', since(began, fireStored)),
  ].join(', ');
  const result = {
    began: spread(since(began)),
    stored: spread(since(stored)),
    answered: spread(answered),
  };
  const note = `${fmt(rate)}/s: ${count} calls, ${refused} refused${firstRefusal}, ${sentAt.size} fired, ${result.began.n} with a known run start, ${terminals} outcomes (${terminals - stored.size} beyond one per instance); call → run began p50 ${fmt(result.began.p50)} p99 ${fmt(result.began.p99)} max ${fmt(result.began.max)} ms, → outcome stored p99 ${fmt(result.stored.p99)} ms, → answered p99 ${fmt(result.answered.p99)} ms; stages (ms): ${stages}; ${load}`;
  return { ...result, note };
}

/** One trial: the hop baseline at each rate, then fresh processes run every rate in turn. */
async function trial(
  url: string,
  cfg: BenchConfig,
): Promise<{ hops: Spread[]; rates: RateResult[]; counters: string }> {
  const l = cfg.latency;
  /** Calls (or messages) in one rate's run. */
  const countAt = (rate: number) => Math.round((rate * l.runMs) / 1000);
  const hops: Spread[] = [];
  for (const rate of l.rates) {
    const count = countAt(rate);
    hops.push(spread(await jetstreamHopLatency(url, uniquePrefix('hop'), { rate, count })));
  }
  return withInstallation(url, 'lat', async (rt, prefix) => {
    const sut = await startSut(
      {
        url,
        prefix,
        schedulerId: `sched-${prefix}`,
        workers: 2,
        workerConcurrency: cfg.throughput.workerConcurrency,
      },
      `latency-${prefix}`,
    );
    const rates: RateResult[] = [];
    let counters = '';
    try {
      const client = benchClient(rt);
      await registerJobs(client, [manualJob(JOB)], 1);
      // Fresh processes are still compiling: they first run a warm-up at full speed (not measured).
      await sendTriggers(rt, client, cfg.throughput, 'calls', [JOB], l.warmupInstances, 'w');
      let done = l.warmupInstances;
      await completedAt(sut, done, 120_000);
      for (const rate of l.rates) {
        const count = countAt(rate);
        const r = await atRate(rt, client, sut, rate, count, done);
        done = await sut.completed();
        rates.push(r);
        console.log(`    · ${r.note}`);
      }
    } finally {
      const stats = await sut.stop();
      counters = `scheduler fires ${stats.scheduler.fires} (the warm-up's included), sequence conflicts ${stats.scheduler.conflicts}, errors ${stats.scheduler.errors}`;
      console.log(`    · ${counters}`);
    }
    return { hops, rates, counters };
  });
}

/**
 * How soon a triggered instance runs while the system carries a steady load: TriggerJob calls of
 * one job at fixed rates (a producer's calls, as a queue's users add jobs), each timed from the
 * call to its run's start, beside one JetStream hop (publish → consumer) at the same rate.
 */
export async function latencySuite(url: string, cfg: BenchConfig, c: Collector): Promise<void> {
  const l = cfg.latency;
  const { redis, version: bullmqVersion } = await bullmqSetup((line) => c.note(line));
  const defs = l.rates.map((rate) => {
    const hop = (p: string): Baseline =>
      baseline(`one JetStream hop (publish → consumer) at ${fmt(rate)}/s ${p}`, 'ms');
    const hops = { p50: hop('p50'), p99: hop('p99'), max: hop('max') };
    const at = `${fmt(rate)} TriggerJob calls/s (one job, ${l.runMs / 1000} s)`;
    const names = {
      p50: `${at}: call → run began p50`,
      p99: `${at}: call → run began p99`,
      max: `${at}: call → run began max`,
      stored: `${at}: call → outcome stored p99`,
      answered: `${at}: call → answered (the producer's wait) p99`,
    };
    c.define({ name: names.p50, unit: 'ms', baseline: hops.p50 });
    c.define({ name: names.p99, unit: 'ms', baseline: hops.p99 });
    c.define({ name: names.max, unit: 'ms', baseline: hops.max });
    c.define({ name: names.stored, unit: 'ms', baseline: hops.p99 });
    c.define({ name: names.answered, unit: 'ms', baseline: hops.p99 });
    const bull = `BullMQ ${bullmqVersion}: ${fmt(rate)} Queue.add calls/s (${l.runMs / 1000} s)`;
    const bullmq = redis && {
      p50: `${bull}: add → run began p50 (reference)`,
      p99: `${bull}: add → run began p99 (reference)`,
      max: `${bull}: add → run began max (reference)`,
      answered: `${bull}: add → add resolved p99 (reference)`,
    };
    if (bullmq) {
      c.define({ name: bullmq.p50, unit: 'ms', baseline: hops.p50 });
      c.define({ name: bullmq.p99, unit: 'ms', baseline: hops.p99 });
      c.define({ name: bullmq.max, unit: 'ms', baseline: hops.max });
      c.define({ name: bullmq.answered, unit: 'ms', baseline: hops.p99 });
    }
    return { hops, names, bullmq };
  });
  c.setup.push(
    `one nats-server (file storage, loopback); the scheduler and two workers (concurrency ${cfg.throughput.workerConcurrency} each, no-op processor) as forked child processes, as in the throughput suite; one manual job`,
    `per trial: first the baseline, one JetStream hop at each rate (256-byte messages published from the harness at that rate into a fresh file-storage stream, each delivered to a consumer on a second connection of the harness; publish call → delivery, sub-millisecond); then fresh processes run ${l.warmupInstances.toLocaleString('en-US')} instances as fast as they can (not measured, the processes compile and grow their heaps), then each rate in turn for ${l.runMs / 1000} s: TriggerJob calls made by the client at that rate (calls due in the same turn go as one TriggerJobs command, as the client sends them), each with its call time (Date.now()) in its params`,
    "measured per instance, from the stream read back after each rate (untimed): call → run began (the worker's clock: the InstanceStarted's beganAtMs, or for a run shorter than recordStartAfterMs the startedAtMs of its report) and call → outcome stored (the server's timestamp of the InstanceSucceeded); and per call, in the harness, call → answered (the command's reply: the trigger is stored). All on one host and one clock; the times from the stream are whole milliseconds",
    "a trigger's path is several hops: the command to the server, its JobTriggerRequested appended and delivered to the scheduler, the JobFired appended, the task published and pulled by a worker; the ratio to one hop says how many hops' time it takes",
  );
  if (redis)
    c.setup.push(
      `BullMQ (since 2026-12-08), after our processes each trial: BullMQ ${bullmqVersion} on redis-server ${redis.version} without persistence (a fresh server), two worker processes (concurrency ${cfg.throughput.workerConcurrency} each, no-op processor) as ours; ${l.warmupInstances.toLocaleString('en-US')} jobs added with addBulk first (not measured), then each rate in turn: Queue.add calls at that rate, each with its call time (Date.now()) in the job's data; add → run began = the processor's Date.now() when it began − that time (whole milliseconds, as ours); add → add resolved in the harness (the job is in Redis)`,
    );
  for (let t = 1; t <= cfg.trials; t++) {
    console.log(`  trial ${t}/${cfg.trials}`);
    const { hops, rates, counters } = await trial(url, cfg);
    const bull = redis
      ? await bullmqLatency(redis.bin, {
          rates: l.rates,
          runMs: l.runMs,
          warmup: { ...cfg.throughput, warmupInstances: l.warmupInstances },
          workers: 2,
          concurrency: cfg.throughput.workerConcurrency,
        })
      : [];
    defs.forEach(({ hops: b, names, bullmq }, k) => {
      const h = hops[k];
      const r = rates[k];
      if (!h || !r) return;
      b.p50.samples.push(h.p50);
      b.p99.samples.push(h.p99);
      b.max.samples.push(h.max);
      c.add(names.p50, r.began.p50);
      c.add(names.p99, r.began.p99);
      c.add(names.max, r.began.max);
      c.add(names.stored, r.stored.p99);
      c.add(names.answered, r.answered.p99);
      c.notes.push(
        `trial ${t}: ${r.note}; one hop at that rate p50 ${fmt(h.p50)} p99 ${fmt(h.p99)} max ${fmt(h.max)} ms`,
      );
      const q = bull[k];
      if (bullmq && q) {
        c.add(bullmq.p50, q.began.p50);
        c.add(bullmq.p99, q.began.p99);
        c.add(bullmq.max, q.began.max);
        c.add(bullmq.answered, q.answered.p99);
        c.notes.push(`trial ${t}: ${q.note}`);
      }
    });
    c.notes.push(`trial ${t}: ${counters}`);
  }
}
