/**
 * (c) Every fired instance ends exactly once, and each attempt's events form a legal chain: one
 * dispatch, at most one start (two workers never both start an attempt), reports only from the
 * worker that started it and only while it runs, nothing after the instance's terminal event.
 */
import type { StoredEvent } from '../../src/events/event.js';
import { TERMINAL_INSTANCE_EVENTS } from '../../src/events/instance-events.js';

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_INSTANCE_EVENTS);
const SAMPLE = 50;

export interface TerminalReport {
  firedInstances: number;
  terminalEvents: number;
  /** Fired instances with no terminal event (a violation once settled). */
  missingCount: number;
  missing: string[];
  /** Instances with more than one terminal event. */
  multiple: { instanceId: string; types: string[]; seqs: number[] }[];
  /** Terminal events of instances that were never fired. */
  orphans: string[];
  violations: string[];
}

export function checkTerminal(events: readonly StoredEvent[], settled: boolean): TerminalReport {
  const fired = new Set<string>();
  const ends = new Map<string, StoredEvent[]>();
  let terminalEvents = 0;
  for (const e of events) {
    if (e.event.type === 'JobFired') fired.add(e.event.data.instanceId);
    else if (TERMINAL.has(e.event.type)) {
      terminalEvents++;
      const id = (e.event.data as { instanceId: string }).instanceId;
      const list = ends.get(id) ?? [];
      list.push(e);
      ends.set(id, list);
    }
  }
  const missingAll = [...fired].filter((id) => !ends.has(id));
  const multiple = [...ends]
    .filter(([, l]) => l.length > 1)
    .map(([instanceId, l]) => ({
      instanceId,
      types: l.map((e) => e.event.type),
      seqs: l.map((e) => e.seq),
    }));
  const orphans = [...ends.keys()].filter((id) => !fired.has(id));
  const violations: string[] = [];
  if (settled && missingAll.length)
    violations.push(
      `${missingAll.length} fired instance(s) never ended, e.g. ${missingAll.slice(0, 5).join(', ')}`,
    );
  for (const m of multiple)
    violations.push(
      `instance ${m.instanceId} ended ${m.types.length} times: ${m.types.join(', ')} (seqs ${m.seqs.join(', ')})`,
    );
  if (orphans.length)
    violations.push(`${orphans.length} terminal event(s) of unfired instances, e.g. ${orphans[0]}`);
  return {
    firedInstances: fired.size,
    terminalEvents,
    missingCount: missingAll.length,
    missing: missingAll.slice(0, SAMPLE),
    multiple,
    orphans: orphans.slice(0, SAMPLE),
    violations,
  };
}

export interface ChainProblem {
  instanceId: string;
  attempt: number | undefined;
  seq: number;
  problem: string;
}

type AttemptState = { phase: 'dispatched' | 'started' | 'ended'; workerId?: string };

export function checkChains(events: readonly StoredEvent[]): ChainProblem[] {
  const problems: ChainProblem[] = [];
  const attempts = new Map<string, Map<number, AttemptState>>();
  const ended = new Set<string>();
  for (const e of events) {
    const ev = e.event;
    if (ev.type === 'JobFired' && ev.data.dispatch) {
      // The fire dispatched the instance's first attempt itself.
      const id = ev.data.instanceId;
      if (attempts.has(id))
        problems.push({
          instanceId: id,
          attempt: 1,
          seq: e.seq,
          problem: 'attempt 1 dispatched twice',
        });
      else attempts.set(id, new Map([[1, { phase: 'dispatched' }]]));
      continue;
    }
    if (!ev.type.startsWith('Instance')) continue;
    const d = ev.data as { instanceId: string; attempt?: number; workerId?: string };
    const id = d.instanceId;
    const n = d.attempt;
    const flag = (problem: string) =>
      problems.push({ instanceId: id, attempt: n, seq: e.seq, problem });
    if (ended.has(id)) {
      flag(`${ev.type} appended after the instance ended`);
      continue;
    }
    let byAttempt = attempts.get(id);
    if (!byAttempt) attempts.set(id, (byAttempt = new Map<number, AttemptState>()));
    const a = n === undefined ? undefined : byAttempt.get(n);
    switch (ev.type) {
      case 'InstanceDispatched':
        if (a) flag(`attempt ${n} dispatched twice`);
        else byAttempt.set(ev.data.attempt, { phase: 'dispatched' });
        break;
      case 'InstanceStarted':
        if (!a) flag(`attempt ${n} started without a dispatch`);
        else if (a.phase !== 'dispatched')
          flag(`attempt ${n} started again (by ${ev.data.workerId}) while ${a.phase}`);
        else Object.assign(a, { phase: 'started', workerId: ev.data.workerId });
        break;
      case 'InstanceProgressed':
      case 'InstanceSucceeded':
      case 'InstanceAttemptFailed':
        // A run shorter than its worker's recordStartAfterMs: the report records the start too.
        if (a?.phase === 'dispatched' && ev.type !== 'InstanceProgressed')
          Object.assign(a, { phase: 'ended', workerId: ev.data.workerId });
        else if (a?.phase !== 'started')
          flag(`${ev.type} for attempt ${n} accepted while ${a?.phase ?? 'never dispatched'}`);
        else if (a.workerId !== ev.data.workerId)
          flag(`${ev.type} for attempt ${n} from ${ev.data.workerId}, started by ${a.workerId}`);
        else if (ev.type !== 'InstanceProgressed') a.phase = 'ended';
        break;
      case 'InstanceTimedOut':
      case 'InstanceWorkerLost':
        if (!a || a.phase === 'ended') flag(`${ev.type} for attempt ${n} that was not running`);
        else a.phase = 'ended';
        break;
      default:
        break;
    }
    if (TERMINAL.has(ev.type)) ended.add(id);
  }
  return problems;
}
