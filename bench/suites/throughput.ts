import type { BenchConfig } from '../lib/config.js';
import { baseline, Collector, type Summary } from '../lib/result.js';
import { lastStreamSeq, uniquePrefix, withInstallation } from '../lib/nats.js';
import { rawPublishRate } from '../lib/publish.js';
import { completedAt, startSut } from '../lib/sut.js';
import { benchClient, manualJob, registerJobs, watchInstances } from '../lib/jobs.js';
import { fmt, median } from '../lib/stats.js';
import { sendTriggers, type Mode } from '../lib/send.js';
import { bullmqSetup, bullmqTrial } from '../lib/bullmq.js';

interface E2eResult {
  /** Instances per second, first timed trigger sent to the workers' last recorded outcome. */
  rate: number;
  /** Triggers (events or commands) per second, while sending the timed instances. */
  sendRate: number;
  /** The same for the warm-up instances that fresh processes ran first (not timed). */
  warmupRate: number;
  note: string;
}

/**
 * One end-to-end trial on a fresh installation (its own prefix) and a fresh scheduler + 2 workers:
 * `cfg.warmupInstances` first, not timed, then `instances` timed.
 */
async function e2eTrial(
  url: string,
  cfg: BenchConfig['throughput'],
  mode: Mode,
  jobs: number,
  instances: number,
): Promise<E2eResult> {
  return withInstallation(url, mode, async (rt, prefix) => {
    const sut = await startSut(
      {
        url,
        prefix,
        schedulerId: `sched-${prefix}`,
        workers: 2,
        workerConcurrency: cfg.workerConcurrency,
      },
      `throughput-${prefix}`,
    );
    let result: E2eResult | undefined;
    try {
      const client = benchClient(rt);
      const jobIds = Array.from({ length: jobs }, (_, j) => `job-${j}`);
      await registerJobs(client, jobIds.map(manualJob), 100);
      const from = (await lastStreamSeq(rt.jsm, rt.names.eventStream)) + 1;
      const total = cfg.warmupInstances + instances;
      const timeoutMs = Math.max(60_000, (total / 100) * 1000);
      // Fresh processes are still compiling and growing their heaps: the warm-up's rate is the
      // start-up's (kept in the note), the timed one the steady state's.
      const w0 = performance.now();
      await sendTriggers(rt, client, cfg, mode, jobIds, cfg.warmupInstances, 'w');
      const warmupRate =
        cfg.warmupInstances /
        (((await completedAt(sut, cfg.warmupInstances, timeoutMs)) - w0) / 1000);
      const t0 = performance.now();
      await sendTriggers(rt, client, cfg, mode, jobIds, instances, 'b');
      const tSent = performance.now();
      const tDone = await completedAt(sut, total, timeoutMs);
      // Checked from the stream once timed (a live watcher would take CPU and deliveries from the
      // system under test): every instance (the warm-up's too) succeeded, and none has two
      // terminal events.
      const watch = await watchInstances(rt.js, rt, from);
      await watch.succeeded(total, timeoutMs);
      const dups = watch.duplicateTerminals();
      await watch.close();
      const rate = instances / ((tDone - t0) / 1000);
      const sendRate = instances / ((tSent - t0) / 1000);
      const note = `${mode}, ${jobs} job(s), ${cfg.warmupInstances} warm-up instances at ${fmt(warmupRate)}/s (not timed), then ${instances} instances: ${fmt(rate)} instances/s end to end, triggers sent at ${fmt(sendRate)}/s; instances with >1 terminal event: ${dups}`;
      result = { rate, sendRate, warmupRate, note };
    } finally {
      const stats = await sut.stop();
      const w = stats.workers.map((x) => x.completed).join('+');
      const handedOn = stats.workers.map((x) => x.handedOn).join('+');
      const counters = `scheduler fires ${stats.scheduler.fires}, dispatches ${stats.scheduler.dispatches}, sequence conflicts ${stats.scheduler.conflicts}, errors ${stats.scheduler.errors}; worker runs ${w}, tasks handed on ${handedOn}`;
      if (result) result.note = `${result.note}; ${counters}`;
      console.log(`    · ${result?.note ?? counters}`);
    }
    return result;
  });
}

/** Raw publish baseline, then end to end through the scheduler: direct triggers, commands, one job, calls. */
export async function throughputSuite(url: string, cfg: BenchConfig, c: Collector): Promise<void> {
  const t = cfg.throughput;
  const pub = baseline(
    `raw JetStream async publish, ${cfg.publish.bytes} B, ${cfg.publish.window} in flight, noAsyncTraces`,
    'msgs/s',
  );
  // BullMQ on Redis, measured here the way the best path is, once per worker count: the target
  // is the faster of them. Without a redis-server the rows stay empty and the issue's figure
  // (taken on another machine) is all there is to compare with.
  const { redis, version: bullmqVersion } = await bullmqSetup((line) => c.note(line));
  const bullmqRows = new Map(
    t.bullmq.workers.map((w) => [
      w,
      c.define({
        name: `BullMQ ${bullmqVersion} on Redis (no persistence), end to end, addBulk of ${t.bulkSize} jobs (${t.directInstances} jobs, ${t.bulkWindow} calls in flight), ${w} worker process${w === 1 ? '' : 'es'} of concurrency ${t.bullmq.concurrency} (baseline)`,
        unit: 'jobs/s',
        baseline: pub,
      }),
    ]),
  );
  const bullmqHere = () => {
    const medians = [...bullmqRows.values()]
      .filter((m) => m.samples.length > 0)
      .map((m) => median(m.samples));
    return medians.length ? Math.max(...medians) : undefined;
  };
  const quarterOfRaw = (m: Summary) => m.median >= median(pub.samples) / 4;
  const yesNo = (ok: boolean) => (ok ? 'yes' : 'no');
  const throughputTarget = {
    text: "≥ ¼ of raw publish (intermediate); ≥ BullMQ measured in this run (the faster of its rows); ≥ 12,600/s (the issue's BullMQ figure, another machine)",
    met: (m: Summary) => {
      const here = bullmqHere();
      const vsHere =
        here === undefined
          ? 'not measured'
          : `${yesNo(m.median >= here)} (${fmt(m.median / here)}×)`;
      return `¼ raw: ${yesNo(quarterOfRaw(m))}; BullMQ here: ${vsHere}; 12,600/s: ${yesNo(m.median >= 12_600)}`;
    },
  };
  const RAW =
    'raw JetStream async publish, client options as jetsched uses them (noAsyncTraces) (baseline)';
  const RAW_DEFAULT = 'raw JetStream async publish, default client options (reference)';
  const RAW_PIPELINED =
    "pipelined JetStream publish through jetsched's own publisher (what appends use; reference)";
  const DIRECT = `end to end, triggers appended to the stream (${t.jobs} jobs, ${t.directInstances} instances)`;
  const COMMAND = `end to end, TriggerJob commands (${t.jobs} jobs, ${t.commandInstances} instances)`;
  const COMMAND_RATE = `TriggerJob command rate (${t.commandWindow} in flight)`;
  const BULK = `end to end, TriggerJobs commands of ${t.bulkSize} triggers (${t.jobs} jobs, ${t.directInstances} instances, ${t.bulkWindow} commands in flight)`;
  const BULK_PER_JOB = `end to end, TriggerJobs commands of ${t.bulkSize} triggers of one job each (${t.jobs} jobs, ${t.directInstances} instances, ${t.bulkWindow} commands in flight)`;
  const BULK_PER_JOB_WARMUP = `the same, its warm-up: the first ${t.warmupInstances} instances of fresh processes (reference)`;
  const SINGLE = `end to end, one manual job, triggers appended (${t.singleJobInstances} instances)`;
  const CALLS = `end to end, one manual job, TriggerJob calls (${t.commandWindow} in flight, ${t.directInstances} instances)`;
  c.define({ name: RAW, unit: 'msgs/s' });
  c.define({ name: RAW_DEFAULT, unit: 'msgs/s', baseline: pub });
  c.define({ name: RAW_PIPELINED, unit: 'msgs/s', baseline: pub });
  c.define({ name: DIRECT, unit: 'instances/s', baseline: pub, target: throughputTarget });
  c.define({ name: COMMAND, unit: 'instances/s', baseline: pub, target: throughputTarget });
  c.define({ name: COMMAND_RATE, unit: 'commands/s', baseline: pub });
  c.define({ name: BULK, unit: 'instances/s', baseline: pub, target: throughputTarget });
  c.define({ name: BULK_PER_JOB, unit: 'instances/s', baseline: pub, target: throughputTarget });
  c.define({ name: BULK_PER_JOB_WARMUP, unit: 'instances/s', baseline: pub });
  c.define({ name: SINGLE, unit: 'instances/s', baseline: pub });
  c.define({ name: CALLS, unit: 'instances/s', baseline: pub, target: throughputTarget });
  c.setup.push(
    `one nats-server (file storage, loopback); the scheduler (startServer) and two workers (concurrency ${t.workerConcurrency} each, no-op processor) run as three forked child processes (scheduler; worker; worker), as deployed, each on its own connection; the harness (trigger sender) is the parent process`,
    'the workers run with their defaults: since 2026-12-06 (e847c83) a worker runs a fresh task at once and records its start only if the processor still runs after recordStartAfterMs (200 ms), so a no-op run is recorded by its report alone; tasks dispatched less than maxClockSkewMs (1 s) after a worker began hearing control messages record their start first, as before',
    `${t.jobs} manual jobs registered first (not timed); triggers spread round-robin over them (in the TriggerJobs variant "of one job each", the commands are, each holding triggers of one job only, which it records as one JobTriggerRequestedBatch since 2026-12-06; in the other TriggerJobs variant each trigger of a command is of another job, so each is its own JobTriggerRequested; the triggers of TriggerJobs take their ids from the command, until 2026-12-06 they had ids of their own); time = first timed trigger sent → the workers have recorded an outcome for every instance (their report appended and acknowledged; counted in the workers and asked over IPC, every 50 ms until 90 % are in and every 5 ms after (every 5 ms throughout until 2026-12-06), so that watching takes no CPU or deliveries from the system under test; until 2026-12-04 a headers-only ordered consumer in the harness watched every instance event live); then, untimed, the stream is read back: every instance succeeded, none has two terminal events`,
    `since 2026-12-06 the client sends the TriggerJob calls made in one turn of the event loop as one TriggerJobs command, each call still answered (or refused) on its own; in the TriggerJob variant (one lane per job, ${Math.min(t.commandWindow, t.jobs)} lanes) each call carries a trigger id of its own, so each trigger is still its own JobTriggerRequested; in the variant of TriggerJob calls of one job (${t.commandWindow} in flight, no trigger ids; new on 2026-12-06), the calls of a turn are recorded as one JobTriggerRequestedBatch`,
    `per trial: raw publish of ${cfg.publish.messages} messages, then each variant on a fresh installation (own prefix) and fresh child processes`,
    `warm-up since 2026-12-06 (050a92b): each variant's fresh processes first run ${t.warmupInstances.toLocaleString('en-US')} instances sent the same way (not timed; its rate is in the trial's note, and for the TriggerJobs variant "of one job each" a row of its own), then the timed instances: the rates are the steady state's. Fresh processes ran their first 40,000 instances 27–44 % slower than the next 40,000 and the 40,000 after (a scratch script, same processes, phases one after another, 3 rounds; 2026-12-06), so the rates below are not comparable with reports before that date; the stream check covers the warm-up's instances too`,
    `sizes since 2026-12-06: ${t.directInstances.toLocaleString('en-US')} instances per variant (TriggerJob: ${t.commandInstances.toLocaleString('en-US')}; one job: ${t.singleJobInstances.toLocaleString('en-US')}), up from 10,000 (3,000; 1,000): a trial of 10,000 took about 2.5 s, most of it in processes V8 was still compiling (bench/stages.js on one build the same hour: 20,000 instances at 5,783/s, 60,000 at 6,964/s), so the rates below are not comparable with reports before that date`,
  );
  c.setup.push(
    `BullMQ baseline (since 2026-12-07; until then the targets compared with the issue's figure only): BullMQ ${bullmqVersion} on ${redis ? `redis-server ${redis.version}` : 'redis-server (none found: not measured)'} (infra/install-redis-server.sh: Debian's package of this machine's release), a fresh server per measurement on loopback with --save "" --appendonly no; ${t.bullmq.workers.join(' or ')} worker process(es) forked as ours are (bench/bullmq-worker.ts: a Worker with a no-op processor, concurrency ${t.bullmq.concurrency}, BullMQ's defaults otherwise, so completed jobs stay in Redis as our outcomes stay in the stream); the harness adds the jobs with Queue.addBulk of ${t.bulkSize}, ${t.bulkWindow} calls in flight (the shape of the TriggerJobs "of one job each" variant); ${t.warmupInstances.toLocaleString('en-US')} jobs first, not timed, then ${t.directInstances.toLocaleString('en-US')} timed, from the first timed add to the workers' last 'completed' event (counted in the workers and asked over IPC, as ours are); afterwards Redis holds every job as completed, none failed (checked). Scratch runs of 2026-12-07 on this VM, two runs each: removeOnComplete: true gave 6,520–6,658 jobs/s with one worker (6,442–7,109 without) and 6,390–6,628 with two (5,618–6,235 without), and Queue.add one job at a time with 100 in flight 5,369–6,614 with two: none faster than the spread of the rows below`,
  );
  for (let trial = 1; trial <= cfg.trials; trial++) {
    console.log(`  trial ${trial}/${cfg.trials}`);
    const raw = await rawPublishRate(url, uniquePrefix('pub'), {
      ...cfg.publish,
      noAsyncTraces: true,
    });
    pub.samples.push(raw);
    c.add(RAW, raw);
    const rawDefault = await rawPublishRate(url, uniquePrefix('pub'), cfg.publish);
    c.add(RAW_DEFAULT, rawDefault);
    const rawPipelined = await rawPublishRate(url, uniquePrefix('pub'), {
      ...cfg.publish,
      noAsyncTraces: true,
      pipelined: true,
    });
    c.add(RAW_PIPELINED, rawPipelined);
    console.log(
      `    · raw publish ${fmt(raw)} msgs/s (default client options: ${fmt(rawDefault)} msgs/s; pipelined publisher: ${fmt(rawPipelined)} msgs/s)`,
    );
    if (redis !== undefined) {
      for (const [workers, row] of bullmqRows) {
        const bull = await bullmqTrial(redis.bin, t, workers, t.directInstances);
        c.add(row.name, bull.rate);
        c.note(`trial ${trial}: ${bull.note}`);
      }
    }
    const direct = await e2eTrial(url, t, 'direct', t.jobs, t.directInstances);
    c.add(DIRECT, direct.rate);
    c.notes.push(`trial ${trial}: ${direct.note}`);
    const command = await e2eTrial(url, t, 'command', t.jobs, t.commandInstances);
    c.add(COMMAND, command.rate);
    c.add(COMMAND_RATE, command.sendRate);
    c.notes.push(`trial ${trial}: ${command.note}`);
    const bulk = await e2eTrial(url, t, 'bulk', t.jobs, t.directInstances);
    c.add(BULK, bulk.rate);
    c.notes.push(`trial ${trial}: ${bulk.note}`);
    const perJob = await e2eTrial(url, t, 'bulk-per-job', t.jobs, t.directInstances);
    c.add(BULK_PER_JOB, perJob.rate);
    c.add(BULK_PER_JOB_WARMUP, perJob.warmupRate);
    c.notes.push(`trial ${trial}: ${perJob.note}`);
    const single = await e2eTrial(url, t, 'direct', 1, t.singleJobInstances);
    c.add(SINGLE, single.rate);
    c.notes.push(`trial ${trial}: ${single.note}`);
    const calls = await e2eTrial(url, t, 'calls', 1, t.directInstances);
    c.add(CALLS, calls.rate);
    c.notes.push(`trial ${trial}: ${calls.note}`);
  }
}
