/**
 * The end of the fault scenario: read the stream back, check the invariants with what the scenario
 * did to whom and when, print the figures, and leave the evidence (every event as JSON lines, the
 * report) next to the processes' logs.
 */
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runtime } from '../../src/services/runtime.js';
import {
  ackedFromWorkerLogs,
  checkInvariants,
  formatReport,
  readEventLog,
  type InvariantReport,
} from './invariants.js';
import type { ChildHandle } from './processes.js';

/** When the scenario hurt what (Date.now()); unset for faults it did not get to. */
export interface Faults {
  s1Dead?: number;
  w1Dead?: number;
  s2Stopped?: number;
  s2Continued?: number;
  nodeDead?: number;
  leaderElected?: number;
}

export async function judge(o: {
  rt: Runtime;
  prefix: string;
  logDir: string;
  procs: readonly ChildHandle[];
  faults: Faults;
  marks: Record<string, number>;
  /** Times the scenario's own fold stood still while the stream moved on. */
  observerStalls: readonly { atMs: number; seq: number; streamSeq: number }[];
  settled: boolean;
  /** Instances of the triggers the servers acknowledged during the scenario. */
  triggered?: readonly string[];
}): Promise<InvariantReport> {
  const { faults: f, procs } = o;
  const t0 = Date.now();
  const log = await readEventLog(o.rt);
  console.log(
    `[fault] read ${log.events.length} events back in ${Date.now() - t0} ms (${log.fireBatches} JobFiredBatch and ${log.triggerBatches} JobTriggerRequestedBatch message(s) read as their elements)`,
  );
  await dumpEvents(join(o.logDir, 'events.jsonl'), log.events);

  const s2 = procs.find((p) => p.id === 's-2');
  const reacquired = new Map<number, number>();
  if (s2 && f.s2Continued !== undefined)
    for (const l of s2.logs) {
      const p = l['partition'];
      if (l.msg === 'partition acquired' && l.time >= f.s2Continued && typeof p === 'number')
        if (!reacquired.has(p)) reacquired.set(p, l.time);
    }
  const report = checkInvariants(log.events, {
    prefix: o.prefix,
    settled: o.settled,
    seqGaps: log.seqGaps,
    undecodable: log.undecodable,
    ...(o.triggered && { triggered: o.triggered }),
    ...(f.s2Stopped !== undefined && {
      // Appends in flight when it froze may land a moment later.
      fencing: [{ actorId: 's-2', fromMs: f.s2Stopped + 250, reacquiredAtMs: reacquired }],
    }),
    deadSchedulers: [
      ...(f.s1Dead !== undefined ? [{ id: 's-1', deadAtMs: f.s1Dead }] : []),
      ...(f.s2Stopped !== undefined ? [{ id: 's-2', deadAtMs: f.s2Stopped }] : []),
    ],
    lostWorkers: f.w1Dead !== undefined ? [{ id: 'w-1', deadAtMs: f.w1Dead }] : [],
    acked: procs
      .filter((p) => p.role === 'worker')
      .flatMap((w) => ackedFromWorkerLogs(w.logs, w.id)),
  });
  console.log(formatReport(report));
  if (f.nodeDead !== undefined && f.leaderElected !== undefined)
    console.log(
      `[fault] event stream leader re-elected ${f.leaderElected - f.nodeDead} ms after the node kill`,
    );
  if (o.observerStalls.length)
    console.log(
      `[fault] the observer's projection runner stalled ${o.observerStalls.length} time(s): ${o.observerStalls
        .map(
          (x) =>
            `at +${((x.atMs - (o.marks['begin'] ?? 0)) / 1000).toFixed(1)} s at seq ${x.seq} (stream at ${x.streamSeq})`,
        )
        .join('; ')}`,
    );
  console.log(`[fault] warnings and errors logged: ${problemSummary(procs)}`);
  console.log(`[fault] process logs, events.jsonl and report.json in ${o.logDir}`);
  writeFileSync(
    join(o.logDir, 'report.json'),
    JSON.stringify(
      { marks: o.marks, faults: f, observerStalls: o.observerStalls, report },
      null,
      1,
    ),
  );
  return report;
}

async function dumpEvents(file: string, events: readonly { seq: number }[]): Promise<void> {
  const out = createWriteStream(file);
  for (const e of events)
    if (!out.write(`${JSON.stringify(e)}\n`))
      await new Promise<void>((r) => out.once('drain', () => r()));
  await new Promise<void>((r) => out.end(r));
}

/** Warn-and-above log lines per process, with the most frequent messages. */
function problemSummary(procs: readonly ChildHandle[]): string {
  return procs
    .map((p) => {
      const counts = new Map<string, number>();
      for (const l of p.logs) if (l.level >= 40) counts.set(l.msg, (counts.get(l.msg) ?? 0) + 1);
      const top = [...counts]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 4)
        .map(([m, n]) => `${n}× "${m}"`);
      return `${p.id}: ${top.length ? top.join(', ') : 'none'}`;
    })
    .join('; ');
}
