/**
 * (b) For fixed-rate jobs whose misfire policy is "fire-all", every tick (anchor + k·everyMs,
 * k ≥ 1, anchor = JobDefined.data.createdAtMs) from the job's first fire (or from its anchor) up
 * to one period before its pause must have fired; and no scheduled fire is recorded after a pause.
 */
import type { StoredEvent } from '../../src/events/event.js';

export interface TickReport {
  /** Fire-all fixed-rate jobs whose ticks were checked. */
  jobsChecked: number;
  expectedTicks: number;
  /** How many expected ticks did not fire (and a sample of them). */
  missingCount: number;
  missing: { jobId: string; fireTimeMs: number }[];
  /** Scheduled fires whose time is not on the job's grid. */
  offGrid: { jobId: string; fireTimeMs: number; seq: number }[];
  /** Scheduled fires recorded (stream order) while their job was paused or deleted. */
  firesAfterPause: { jobId: string; fireTimeMs: number; seq: number; actor: string }[];
  /** Ticks a fire-all job recorded as skipped (JobFiresSkipped counts). */
  skippedTicks: number;
  violations: string[];
}

const SAMPLE = 50;

export function checkTicks(
  events: readonly StoredEvent[],
  o: { from: 'first-fire' | 'anchor'; untilMs?: number | undefined },
): TickReport {
  const byJob = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const jobId = (e.event.data as { jobId?: unknown }).jobId;
    if (typeof jobId !== 'string' || !e.event.type.startsWith('Job')) continue;
    const list = byJob.get(jobId) ?? [];
    list.push(e);
    byJob.set(jobId, list);
  }
  const report: TickReport = {
    jobsChecked: 0,
    expectedTicks: 0,
    missingCount: 0,
    missing: [],
    offGrid: [],
    firesAfterPause: [],
    skippedTicks: 0,
    violations: [],
  };

  for (const [jobId, list] of byJob) {
    list.sort((a, b) => a.seq - b.seq);
    let status: 'none' | 'active' | 'paused' | 'deleted' = 'none';
    let pausedAtMs: number | undefined;
    let anchor: number | undefined;
    let everyMs: number | undefined;
    let fireAll = false;
    let scheduleChanged = false;
    let skipped = 0;
    const fired = new Set<number>();
    for (const e of list) {
      const ev = e.event;
      switch (ev.type) {
        case 'JobDefined':
          if (status !== 'none') break;
          status = ev.data.spec.enabled ? 'active' : 'paused';
          anchor = ev.data.createdAtMs;
          fireAll = ev.data.spec.misfire === 'fire-all';
          everyMs =
            ev.data.spec.schedule.kind === 'every' ? ev.data.spec.schedule.everyMs : undefined;
          break;
        case 'JobUpdated':
          if (JSON.stringify(ev.data.spec.schedule) !== JSON.stringify({ kind: 'every', everyMs }))
            scheduleChanged = true;
          break;
        case 'JobPaused':
          status = 'paused';
          pausedAtMs ??= ev.atMs;
          break;
        case 'JobResumed':
          status = 'active';
          break;
        case 'JobDeleted':
          status = 'deleted';
          break;
        case 'JobFiresSkipped':
          skipped += ev.data.count;
          break;
        case 'JobFired': {
          if (ev.data.reason !== 'schedule' && ev.data.reason !== 'catch-up') break;
          const t = ev.data.fireTimeMs;
          if (status === 'paused' || status === 'deleted')
            report.firesAfterPause.push({ jobId, fireTimeMs: t, seq: e.seq, actor: ev.actor.id });
          fired.add(t);
          if (anchor !== undefined && everyMs !== undefined && (t - anchor) % everyMs !== 0)
            report.offGrid.push({ jobId, fireTimeMs: t, seq: e.seq });
          break;
        }
        default:
          break;
      }
    }
    if (!fireAll || anchor === undefined || everyMs === undefined) continue;
    report.skippedTicks += skipped;
    if (scheduleChanged) {
      report.violations.push(`job ${jobId}: schedule changed; its ticks were not checked`);
      continue;
    }
    report.jobsChecked++;
    const times = [...fired].sort((a, b) => a - b);
    const lastDue =
      pausedAtMs !== undefined
        ? pausedAtMs - everyMs
        : o.untilMs !== undefined
          ? o.untilMs - everyMs
          : (times.at(-1) ?? anchor);
    const firstK =
      o.from === 'anchor' || times.length === 0
        ? 1
        : Math.max(1, Math.ceil((times[0]! - anchor) / everyMs));
    let missingHere = 0;
    for (let t = anchor + firstK * everyMs; t <= lastDue; t += everyMs) {
      report.expectedTicks++;
      if (fired.has(t)) continue;
      missingHere++;
      report.missingCount++;
      if (report.missing.length < SAMPLE) report.missing.push({ jobId, fireTimeMs: t });
    }
    if (missingHere)
      report.violations.push(`job ${jobId}: ${missingHere} fire-all tick(s) never fired`);
  }
  for (const f of report.firesAfterPause)
    report.violations.push(
      `job ${f.jobId}: tick ${f.fireTimeMs} fired after the job was paused (seq ${f.seq}, by ${f.actor})`,
    );
  for (const f of report.offGrid)
    report.violations.push(
      `job ${f.jobId}: fire at ${f.fireTimeMs} is off its grid (seq ${f.seq})`,
    );
  if (report.skippedTicks)
    report.violations.push(`fire-all jobs recorded ${report.skippedTicks} skipped tick(s)`);
  return report;
}
