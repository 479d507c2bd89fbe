/**
 * Where an instance's time goes: one end-to-end run (triggers appended straight to the stream),
 * timed as the throughput suite times it, with each process's CPU per instance; then each stage's
 * latency read back from the stored events.
 * Usage: node dist/bench/stages.js [instances=10000] [jobs=100] [send=append|per-job|command|calls]
 * [warmup=20000] [window=100]
 * (`per-job`: TriggerJobs commands of 100 triggers of one job each, 4 in flight, as the
 * throughput suite's "of one job each" variant sends them; `command`: one TriggerJob per run,
 * `window` in flight, as its TriggerJob variant does; `calls`: one TriggerJob per run, `window` in
 * flight over all jobs, as a producer would send them.)
 * With `BENCH_SERVER_PROFILE=<file>`, nats-server's own CPU profile (Go's pprof) of the timed run
 * is written there, for `bench/pprof-top.js`. It covers about half of the run's expected length
 * (from the warm-up's rate), so that nothing after the run (reading the events back) gets into it.
 */
import {
  withNatsServer,
  openBenchRuntime,
  uniquePrefix,
  lastStreamSeq,
  readEvents,
} from './lib/nats.js';
import { completedAt, startSut } from './lib/sut.js';
import { benchClient, manualJob, registerJobs } from './lib/jobs.js';
import { sendTriggers } from './lib/send.js';
import { cpuMsOf } from './lib/cpu.js';
import { writeFile } from 'node:fs/promises';
import { freePorts } from '../src/services/nats/ports.js';

const instances = Number(process.argv[2] ?? 10_000);
const jobs = Number(process.argv[3] ?? 100);
const send = process.argv[4] ?? 'append';
const warmup = Number(process.argv[5] ?? 20_000);
/** Calls or commands in flight for `command` and `calls` (a producer's concurrency). */
const commandWindow = Number(process.argv[6] ?? 100);

interface ConnCount {
  in: number;
  out: number;
  inBytes: number;
  outBytes: number;
}

const NO_COUNT: ConnCount = { in: 0, out: 0, inBytes: 0, outBytes: 0 };

const serverProfile = process.env['BENCH_SERVER_PROFILE'];
const profPort = serverProfile === undefined ? undefined : (await freePorts(1))[0];

/** nats-server's CPU profile over the next `seconds`, from its pprof endpoint. */
async function captureServerProfile(seconds: number): Promise<Uint8Array> {
  const res = await fetch(`http://127.0.0.1:${profPort}/debug/pprof/profile?seconds=${seconds}`);
  if (!res.ok) throw new Error(`nats-server's profile: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Messages and bytes each client connection sent and received, as the server counts them. */
async function connectionCounts(server: {
  monitor(path: string): Promise<unknown>;
}): Promise<Map<string, ConnCount>> {
  const connz = (await server.monitor('connz?limit=1000')) as {
    connections: {
      cid: number;
      name?: string;
      in_msgs: number;
      out_msgs: number;
      in_bytes: number;
      out_bytes: number;
    }[];
  };
  const counts = new Map<string, ConnCount>();
  for (const c of connz.connections) {
    const name = c.name ?? `cid ${c.cid}`;
    const prev = counts.get(name) ?? NO_COUNT;
    counts.set(name, {
      in: prev.in + c.in_msgs,
      out: prev.out + c.out_msgs,
      inBytes: prev.inBytes + c.in_bytes,
      outBytes: prev.outBytes + c.out_bytes,
    });
  }
  return counts;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

await withNatsServer(
  async (server) => {
    const url = server.url;
    const prefix = uniquePrefix('stages');
    const rt = await openBenchRuntime(url, prefix, 'bench-harness');
    const sut = await startSut(
      {
        url,
        prefix,
        schedulerId: `sched-${prefix}`,
        workers: 2,
        workerConcurrency: Number(process.env.WC ?? 64),
      },
      `stages-${prefix}`,
    );
    const jobIds = Array.from({ length: jobs }, (_, j) => `job-${j}`);
    await registerJobs(benchClient(rt), jobIds.map(manualJob), 100);
    // As the throughput suite sends them: `per-job` as its "of one job each" variant, `command` and
    // `calls` as its TriggerJob variants (100 in flight), `append` as its appended triggers.
    const mode =
      ({ 'per-job': 'bulk-per-job', command: 'command', calls: 'calls' } as const)[
        send as 'per-job' | 'command' | 'calls'
      ] ?? 'direct';
    const client = benchClient(rt);
    const sendBatch = (count: number, tag: string) =>
      sendTriggers(
        rt,
        client,
        { commandWindow, bulkSize: 100, bulkWindow: 4 },
        mode,
        jobIds,
        count,
        tag,
      );
    // Fresh processes first run `warmup` instances (not measured): the rates are the steady state's.
    let warmupRate = 5_000; // instances/s, a guess for the profile's length when there is no warm-up
    if (warmup > 0) {
      const w0 = performance.now();
      await sendBatch(warmup, 'w');
      warmupRate = (warmup / ((await completedAt(sut, warmup, 120_000)) - w0)) * 1000;
    }
    const from = (await lastStreamSeq(rt.jsm, rt.names.eventStream)) + 1;
    const procs = [
      ...sut.processes,
      { name: 'nats-server', pid: server.pid },
      { name: 'harness', pid: process.pid },
    ];
    const conns0 = await connectionCounts(server);
    const cpu0 = procs.map((p) => cpuMsOf(p.pid));
    const t0 = performance.now();
    const profileSeconds = Math.max(1, Math.floor((0.5 * instances) / warmupRate));
    // Settled into a value at once: a failure is reported after the run, which it does not spoil.
    const profiling =
      profPort === undefined
        ? undefined
        : captureServerProfile(profileSeconds).then(
            (bytes) => ({ bytes }),
            (err: unknown) => ({ err }),
          );
    await sendBatch(instances, 'b');
    // Done when the workers have recorded every outcome (asked over IPC, as the throughput suite
    // does: a live watcher would take CPU and deliveries from the system under test).
    const tDone = await completedAt(sut, warmup + instances, 120_000);
    const cpu = procs.map(
      (p, i) => `${p.name} ${(((cpuMsOf(p.pid) - cpu0[i]!) / instances) * 1000).toFixed(0)} µs`,
    );
    console.log(`CPU per instance: ${cpu.join(', ')}`);
    const conns1 = await connectionCounts(server);
    console.log('messages per instance at nats-server, by connection (in = sent to the server):');
    for (const [name, c] of conns1) {
      const b = conns0.get(name) ?? NO_COUNT;
      const per = (x: number) => (x / instances).toFixed(2);
      console.log(
        `  ${name.padEnd(28)} in ${per(c.in - b.in)} (${per(c.inBytes - b.inBytes)} B), out ${per(c.out - b.out)} (${per(c.outBytes - b.outBytes)} B)`,
      );
    }
    console.log(
      `${instances} instances in ${((tDone - t0) / 1000).toFixed(2)} s = ${Math.round(instances / ((tDone - t0) / 1000))}/s`,
    );
    const profile = await profiling;
    if (profile && 'err' in profile) console.error("nats-server's profile failed:", profile.err);
    else if (profile && serverProfile !== undefined) {
      await writeFile(serverProfile, profile.bytes);
      console.log(
        `nats-server's CPU profile of ${profileSeconds} s from the start: ${serverProfile}`,
      );
    }
    const stats = await sut.stop();
    console.log(JSON.stringify(stats));
    const perInstance = (m?: { out: number; in: number }) =>
      m
        ? `${(m.out / (warmup + instances)).toFixed(2)} out, ${(m.in / (warmup + instances)).toFixed(2)} in`
        : '?';
    console.log(
      `NATS messages per instance (whole run, warm-up and registration included): scheduler ${perInstance(stats.scheduler.messages)}; ` +
        stats.workers.map((w, i) => `worker${i} ${perInstance(w.messages)}`).join('; '),
    );
    const events = await readEvents(rt.js, rt.jsm, rt.names.eventStream, [`${prefix}.evt.>`], from);
    const byInst = new Map<string, Record<string, number>>();
    const trig = new Map<string, number>();
    for (const e of events) {
      const d = e.event.data as { instanceId?: string; jobId?: string; triggerId?: string };
      if (e.event.type === 'JobTriggerRequested')
        trig.set(`${d.jobId}~t-${d.triggerId}`, e.storedAtMs);
      if (!d.instanceId) continue;
      const r = byInst.get(d.instanceId) ?? {};
      r[e.event.type] = e.storedAtMs;
      r[`${e.event.type}.at`] = e.event.atMs;
      // When the run began: its start, or (a run shorter than the worker's recordStartAfterMs, which
      // records no InstanceStarted) what its report says.
      const began =
        e.event.type === 'InstanceStarted'
          ? (e.event.data.beganAtMs ?? e.event.atMs)
          : e.event.type === 'InstanceSucceeded'
            ? e.event.data.startedAtMs
            : undefined;
      if (began !== undefined) r['began'] ??= began;
      byInst.set(d.instanceId, r);
    }
    const stages: [string, string, string][] = [
      ['trigger stored → fire decided', 'trigger', 'JobFired.at'],
      ['fire decided → fire stored', 'JobFired.at', 'JobFired'],
      // A first attempt is dispatched by its JobFired (InstanceDispatched only for held-back fires).
      ['fire stored → run began', 'JobFired', 'began'],
      ['run began → success decided', 'began', 'InstanceSucceeded.at'],
      // Only runs whose start was recorded on its own (longer than recordStartAfterMs):
      ['start decided → stored', 'InstanceStarted.at', 'InstanceStarted'],
      ['success decided → stored', 'InstanceSucceeded.at', 'InstanceSucceeded'],
    ];
    for (const [name, a, b] of stages) {
      const xs: number[] = [];
      for (const [id, r] of byInst) {
        const va = a === 'trigger' ? trig.get(id) : r[a];
        const vb = r[b];
        if (va !== undefined && vb !== undefined) xs.push(vb - va);
      }
      console.log(
        `${name.padEnd(34)} p50 ${pct(xs, 50)} p90 ${pct(xs, 90)} p99 ${pct(xs, 99)} max ${pct(xs, 100)} (n=${xs.length})`,
      );
    }
    await rt.close();
  },
  profPort === undefined ? {} : { profPort },
);
