import type { BenchConfig } from '../lib/config.js';
import { baseline, Collector, lowerIsAtMost } from '../lib/result.js';
import { dropInstallation, openBenchRuntime, uniquePrefix } from '../lib/nats.js';
import { rawPublishRate } from '../lib/publish.js';
import { memoryOf, spawnCliServer, waitForBeat } from '../lib/cli-server.js';
import { benchClient, jobSubject, manualJob, registerJobs } from '../lib/jobs.js';
import { subjects } from '../../src/events/subjects.js';
import { fmt, median, sleep } from '../lib/stats.js';

const MiB = 2 ** 20;

export async function scaleSuite(url: string, cfg: BenchConfig, c: Collector): Promise<void> {
  const n = cfg.scale.jobs;
  const N = n.toLocaleString('en-US');
  const pub = baseline('raw JetStream async publish, 256 B', 'msgs/s');
  const eventBytes = baseline('encoded JobDefined event', 'B');
  const idleS = Math.round(cfg.scale.idleMs / 1000);
  const BASE = 'RSS of an idle scheduler (base)';
  const FULL = `RSS holding ${N} jobs, idle ${idleS} s after registering them`;
  const PER_JOB = `RSS per registered job beyond the base, idle ${idleS} s after registering`;
  const PER_JOB_BURST = 'RSS per registered job beyond the base, 3 s after registering';
  const TIME = `time to register ${N} jobs (RegisterJob, ${cfg.scale.registerWindow} in flight)`;
  const RATE = 'register rate';
  c.define({ name: BASE, unit: 'MiB' });
  c.define({ name: FULL, unit: 'MiB' });
  c.define({ name: PER_JOB_BURST, unit: 'B/job', baseline: eventBytes });
  c.define({
    name: PER_JOB,
    unit: 'B/job',
    baseline: eventBytes,
    target: { text: '≤ 1 KiB/job', met: lowerIsAtMost(1024) },
  });
  c.define({
    name: TIME,
    unit: 's',
    target: {
      text: `< 30 s for 100,000 jobs${n === 100_000 ? '' : ` (ran ${N})`}`,
      met: lowerIsAtMost(30),
    },
  });
  c.define({ name: RATE, unit: 'jobs/s', baseline: pub });
  c.setup.push(
    `per trial a fresh installation and a fresh \`node dist/src/cli/main.js server\` child process (the scheduler and its command endpoint; no workers); ${N} manual jobs (nothing fires) registered through RegisterJob commands from the harness, ${cfg.scale.registerWindow} requests in flight`,
    `RSS = VmRSS from /proc/<pid>/status, no forced GC: the base after the server owns all 16 partitions and idles 2 s; then 3 s after its heartbeat reports every partition folded up to the stream (the registration burst's garbage is then still in the heap), and after it has idled ${idleS} s more (what holding the jobs costs: V8 hands the burst's garbage back over about a minute); the per-job target is judged on the idle value`,
    'baseline of the register rate: raw JetStream publish in the same trial; baseline of bytes/job: the size of one stored JobDefined event',
  );
  for (let trial = 1; trial <= cfg.trials; trial++) {
    console.log(`  trial ${trial}/${cfg.trials}`);
    const raw = await rawPublishRate(url, uniquePrefix('pub'), cfg.publish);
    pub.samples.push(raw);
    const prefix = uniquePrefix('scale');
    const rt = await openBenchRuntime(url, prefix, 'bench-harness');
    const id = `scale-${trial}`;
    const server = spawnCliServer(url, prefix, id);
    try {
      await waitForBeat(
        rt.buckets.heartbeats,
        id,
        (b) => b.partitions.length === rt.partitions && (b.folded?.length ?? 0) === rt.partitions,
        60_000,
        'all partitions',
      );
      await sleep(2000);
      const before = await memoryOf(server.pid);
      const registerMs = await registerJobs(
        benchClient(rt),
        Array.from({ length: n }, (_, i) => manualJob(`scale-${i}`)),
        cfg.scale.registerWindow,
      );
      const lastByPartition = await Promise.all(
        Array.from({ length: rt.partitions }, (_, p) =>
          rt.store.lastSeq(subjects.partition(rt.names, p)),
        ),
      );
      const tFold = Date.now();
      await waitForBeat(
        rt.buckets.heartbeats,
        id,
        (b) =>
          (b.folded ?? []).every(([p, seq]) => seq >= (lastByPartition[p] ?? 0)) &&
          (b.folded?.length ?? 0) === rt.partitions,
        300_000,
        'every partition folded',
      );
      const foldLagMs = Date.now() - tFold;
      await sleep(3000);
      const burst = await memoryOf(server.pid);
      const trace: string[] = [];
      for (let waited = 0; waited < cfg.scale.idleMs; waited += 10_000) {
        await sleep(Math.min(10_000, cfg.scale.idleMs - waited));
        trace.push(fmt(((await memoryOf(server.pid)).rss - before.rss) / n));
      }
      const after = await memoryOf(server.pid);
      const stored = await rt.jsm.streams.getMessage(rt.names.eventStream, {
        last_by_subj: jobSubject(rt, 'scale-0'),
      });
      eventBytes.samples.push(stored?.data.length ?? NaN);
      const perJob = (after.rss - before.rss) / n;
      const perJobBurst = (burst.rss - before.rss) / n;
      c.add(BASE, before.rss / MiB);
      c.add(FULL, after.rss / MiB);
      c.add(PER_JOB, perJob);
      c.add(PER_JOB_BURST, perJobBurst);
      c.add(TIME, registerMs / 1000);
      c.add(RATE, n / (registerMs / 1000));
      c.note(
        `trial ${trial}: registered ${N} jobs in ${fmt(registerMs / 1000)} s (${fmt(n / (registerMs / 1000))}/s; raw publish ${fmt(raw)}/s); RSS ${fmt(before.rss / MiB)} → ${fmt(burst.rss / MiB)} MiB 3 s after (${fmt(perJobBurst)} B/job) → ${fmt(after.rss / MiB)} MiB idle ${idleS} s later (${fmt(perJob)} B/job; peak VmHWM ${fmt(after.hwm / MiB)} MiB); B/job every 10 s while idle: ${trace.join(', ')}; the fold caught up ${fmt(foldLagMs)} ms after the last reply`,
      );
    } finally {
      await server.stop();
      await dropInstallation(rt);
      await rt.close();
    }
  }
  c.notes.push(`encoded JobDefined event: ${fmt(median(eventBytes.samples))} B`);
}
