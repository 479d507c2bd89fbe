import type { InvariantReport } from './invariants.js';
import { stats, type Stats } from './figures.js';

const ms = (s: Stats) =>
  s.n === 0 ? 'n=0' : `p50 ${s.p50} ms, p99 ${s.p99} ms, max ${s.max} ms (n=${s.n})`;
const defined = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined);

/** The report as lines for a test log: counts, then each check, then the figures. */
export function formatReport(r: InvariantReport, tag = '[fault]'): string {
  const c = r.counts;
  const lines = [
    `${r.ok ? 'ALL INVARIANTS HOLD' : `${r.violations.length} VIOLATION(S)`}`,
    `events ${c.events}, jobs ${c.jobs}, fires ${c.fires} (by ${Object.entries(c.bySchedulers)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}), dispatches ${c.dispatches}, starts ${c.starts}, terminal ${c.terminal}, worker-lost ${c.workerLost}, retries ${c.retries}`,
    `(a) duplicate fires: ${r.duplicateFires.length}`,
    `(g) acknowledged triggers: ${r.triggers.acked}, never fired ${r.triggers.unfired.length}`,
    `(b) fire-all ticks: ${r.ticks.expectedTicks} expected over ${r.ticks.jobsChecked} jobs, ${r.ticks.missingCount} missing, ${r.ticks.firesAfterPause.length} fired after pause, ${r.ticks.offGrid.length} off grid, ${r.ticks.skippedTicks} skipped`,
    `(c) terminal: ${r.terminal.firedInstances} fired, ${r.terminal.missingCount} without end, ${r.terminal.multiple.length} ended more than once, ${r.terminal.orphans.length} orphans; chain problems ${r.chains.length}; acked appends lost ${r.lostAcks.length} of ${r.counts.ackedChecked}`,
    ...r.fencing.map(
      (f) =>
        `(d) fencing ${f.window.actorId} from ${new Date(f.window.fromMs).toISOString()}${f.window.untilMs ? ` to ${new Date(f.window.untilMs).toISOString()}` : ''}: ${f.offending.length} append(s) without lease`,
    ),
  ];
  const bySched = new Map<string, InvariantReport['takeovers']>();
  for (const t of r.takeovers)
    bySched.set(t.schedulerId, [...(bySched.get(t.schedulerId) ?? []), t]);
  for (const [id, rows] of bySched) {
    const gaps = defined(rows.map((t) => t.gapMs));
    const after = defined(rows.map((t) => t.afterDeathMs));
    lines.push(
      `(e) takeover of ${id}'s ${rows.length} partition(s): last fire → successor's first fire ${ms(stats(gaps))}; death → successor's first fire ${ms(stats(after))}; ${rows.length - gaps.length} never taken over`,
      `    per partition: ${rows.map((t) => `p${t.partition}→${t.successor ?? '-'} ${t.gapMs ?? '∞'}ms`).join(', ')}`,
    );
  }
  for (const w of r.workerLoss) {
    const redispatch = defined(w.running.map((x) => x.redispatchMs));
    const detect = defined(w.running.map((x) => x.detectMs));
    lines.push(
      `(f) worker ${w.workerId} left ${w.running.length} attempt(s) running; declared lost ${ms(stats(detect))}; re-dispatched ${ms(stats(redispatch))} after its last event; ${w.running.length - redispatch.length} not re-dispatched (${w.running
        .filter((x) => x.redispatchMs === undefined)
        .map((x) => `${x.instanceId}: ${x.endedBy ?? 'open'}`)
        .slice(0, 5)
        .join(', ')})`,
    );
  }
  const l = r.lateness;
  lines.push(
    `start lateness (first attempt started − tick) ${ms(l.started)}`,
    `fire recorded − tick (negative: fired ahead) ${ms(l.decided)}`,
    `fire stored − tick ${ms(l.stored)}; ${l.over1s} over 1 s, ${l.over5s} over 5 s, ${l.catchUp} catch-up fires`,
    `instance end (terminal stored − tick) ${ms(l.ended)}; ${l.endedOver10s} over 10 s; slowest ${l.slowest
      .map((x) => `${x.instanceId} ${x.ms} ms`)
      .join(', ')}`,
  );
  for (const v of r.violations.slice(0, 30)) lines.push(`VIOLATION: ${v}`);
  if (r.violations.length > 30) lines.push(`… and ${r.violations.length - 30} more`);
  return lines.map((x) => `${tag} ${x}`).join('\n');
}
