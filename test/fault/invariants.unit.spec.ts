import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../src/events/build.js';
import type { EventData, EventType, StoredEvent } from '../../src/events/event.js';
import { jobSpecInputSchema } from '../../src/domain/job-spec.js';
import { names, partitionOf, subjects } from '../../src/events/subjects.js';
import { unbatched } from '../../src/events/batches.js';
import { ackedFromWorkerLogs, checkInvariants, formatReport } from './invariants.js';

const PREFIX = 'u';
const N = names(PREFIX);
const A = 1_700_000_000_000; // every job's anchor (createdAtMs)

/** A synthetic stream: each helper appends one event, stored 2 ms after it was written. */
function history() {
  const events: StoredEvent[] = [];
  const kindOf = (id: string) =>
    id.startsWith('w-') ? 'worker' : id === 'cli' ? 'client' : 'scheduler';
  const push = <T extends EventType>(
    subject: string,
    type: T,
    data: EventData<T>,
    by: string,
    atMs: number,
  ) => {
    const event = makeEvent(type, data, { actor: { kind: kindOf(by), id: by }, nowMs: atMs });
    events.push({ seq: events.length + 1, subject, storedAtMs: atMs + 2, event });
  };
  const jobSubject = (jobId: string) => subjects.job(N, partitionOf(jobId, 16), jobId);
  const instSubject = (id: string) => subjects.instance(N, partitionOf(id.split('~')[0]!, 16), id);
  const h = {
    events,
    define(jobId: string, misfire: 'fire-all' | 'fire-once' = 'fire-all') {
      const spec = jobSpecInputSchema.parse({
        name: jobId,
        processor: 'work',
        schedule: { every: '1s' },
        misfire,
      });
      push(jobSubject(jobId), 'JobDefined', { jobId, spec, createdAtMs: A }, 'cli', A);
      return h;
    },
    fire(jobId: string, k: number, by = 's-1', lateMs = 5, dispatched = false) {
      const t = A + k * 1000;
      const data = {
        jobId,
        instanceId: `${jobId}~${t}`,
        fireTimeMs: t,
        reason: 'schedule' as const,
        runNumber: k,
        ...(dispatched && { dispatch: { group: 'default', processor: 'work', priority: 0 } }),
      };
      push(jobSubject(jobId), 'JobFired', data, by, t + lateMs);
      return h;
    },
    dispatch(id: string, attempt: number, atMs: number, by = 's-1') {
      const [jobId, t] = id.split('~') as [string, string];
      const data = {
        instanceId: id,
        jobId,
        attempt,
        group: 'default',
        processor: 'work',
        fireTimeMs: Number(t),
        priority: 0,
      };
      push(instSubject(id), 'InstanceDispatched', data, by, atMs);
      return h;
    },
    start: (id: string, attempt: number, worker: string, atMs: number, startsAtMs?: number) => {
      push(
        instSubject(id),
        'InstanceStarted',
        {
          instanceId: id,
          attempt,
          workerId: worker,
          ...(startsAtMs !== undefined && { startsAtMs }),
        },
        worker,
        atMs,
      );
      return h;
    },
    succeed: (id: string, attempt: number, worker: string, atMs: number, startedAtMs?: number) => {
      push(
        instSubject(id),
        'InstanceSucceeded',
        {
          instanceId: id,
          attempt,
          workerId: worker,
          ...(startedAtMs !== undefined && { startedAtMs }),
        },
        worker,
        atMs,
      );
      return h;
    },
    cancel: (id: string, atMs: number) => {
      push(instSubject(id), 'InstanceCancelled', { instanceId: id }, 'cli', atMs);
      return h;
    },
    lost: (id: string, attempt: number, worker: string, atMs: number, by = 's-1') => {
      push(
        instSubject(id),
        'InstanceWorkerLost',
        { instanceId: id, attempt, workerId: worker },
        by,
        atMs,
      );
      push(
        instSubject(id),
        'InstanceRetryScheduled',
        { instanceId: id, attempt: attempt + 1, dueAtMs: atMs, reason: 'worker-lost' },
        by,
        atMs,
      );
      return h;
    },
    /** fire + dispatch + start + succeed of tick k. */
    run(jobId: string, k: number, by = 's-1', worker = 'w-1') {
      const t = A + k * 1000;
      const id = `${jobId}~${t}`;
      return h
        .fire(jobId, k, by)
        .dispatch(id, 1, t + 10, by)
        .start(id, 1, worker, t + 20)
        .succeed(id, 1, worker, t + 220);
    },
    /** Triggers of a manual job fired by one JobFiredBatch (all due at `atMs`), then each run. */
    triggeredBatch(jobId: string, triggerIds: string[], atMs: number, by = 's-1') {
      const fires = triggerIds.map((t, i) => ({
        instanceId: `${jobId}~t-${t}`,
        fireTimeMs: atMs,
        reason: 'manual' as const,
        runNumber: i + 1,
        dispatch: { group: 'default', processor: 'work', priority: 0 },
      }));
      push(jobSubject(jobId), 'JobFiredBatch', { jobId, fires }, by, atMs + 5);
      return h;
    },
    pause(jobId: string, atMs: number) {
      push(jobSubject(jobId), 'JobPaused', { jobId }, 'cli', atMs);
      return h;
    },
  };
  return h;
}

/** Jobs a and b, ticks 1–5 run by s-1 on w-1, paused at A + 5.5 s. */
function clean() {
  const h = history().define('a').define('b');
  for (let k = 1; k <= 5; k++) h.run('a', k).run('b', k);
  return h.pause('a', A + 5500).pause('b', A + 5500);
}

const check = (events: StoredEvent[], o: Partial<Parameters<typeof checkInvariants>[1]> = {}) =>
  checkInvariants(events, { prefix: PREFIX, ...o });

describe('the fault suite’s invariant checker', () => {
  it('passes a clean history and counts it', () => {
    const r = check(clean().events);
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.counts).toMatchObject({
      jobs: 2,
      fires: 10,
      dispatches: 10,
      starts: 10,
      terminal: 10,
    });
    expect(r.ticks).toMatchObject({ jobsChecked: 2, expectedTicks: 8, missingCount: 0 });
    expect(r.lateness.decided).toMatchObject({ n: 10, p50: 5, max: 5 });
    expect(r.lateness.started).toMatchObject({ n: 10, p50: 20, max: 20 }); // started 20 ms after the tick
    expect(r.lateness.ended).toMatchObject({ n: 10, max: 222 }); // succeeded 220 ms after the tick
    expect(formatReport(r)).toContain('ALL INVARIANTS HOLD');
  });

  it('counts an attempt claimed ahead as started when its report says its processor began', () => {
    const h = history().define('c');
    const t = A + 1000;
    const id = `c~${t}`;
    h.fire('c', 1, 's-1', -900)
      .dispatch(id, 1, t - 890)
      .start(id, 1, 'w-1', t - 880, t);
    h.succeed(id, 1, 'w-1', t + 40, t + 7).pause('c', A + 1500);
    const r = check(h.events);
    expect(r.violations).toEqual([]);
    expect(r.lateness.started).toMatchObject({ n: 1, p50: 7, max: 7 });
  });

  it('fails on a duplicate fire of one (job, fire time), naming both writers', () => {
    const h = clean();
    h.fire('a', 3, 's-2');
    const r = check(h.events);
    expect(r.ok).toBe(false);
    expect(r.duplicateFires).toEqual([
      {
        jobId: 'a',
        fireTimeMs: A + 3000,
        seqs: [expect.any(Number), expect.any(Number)],
        actors: ['s-1', 's-2'],
      },
    ]);
    expect(r.violations.join('\n')).toMatch(/duplicate fire of a at/);
  });

  it('takes triggered fires sharing one fire time as distinct, and checks each acknowledged trigger fired', () => {
    const h = clean();
    const at = A + 2500;
    h.triggeredBatch('m', ['x', 'y'], at);
    for (const id of ['m~t-x', 'm~t-y'])
      h.start(id, 1, 'w-1', at + 20).succeed(id, 1, 'w-1', at + 40);
    const events = h.events.flatMap((e) => unbatched(e.event).map((event) => ({ ...e, event })));
    const ok = check(events, { triggered: ['m~t-x', 'm~t-y'] });
    expect(ok.violations).toEqual([]);
    expect(ok.triggers).toEqual({ acked: 2, unfired: [] });

    const missing = check(events, { triggered: ['m~t-x', 'm~t-z'] });
    expect(missing.violations).toEqual(['1 acknowledged trigger(s) never fired, e.g. m~t-z']);
  });

  it('fails on a trigger fired twice', () => {
    const h = clean();
    h.triggeredBatch('m', ['x'], A + 2500).triggeredBatch('m', ['x'], A + 2600, 's-2');
    const events = h.events.flatMap((e) => unbatched(e.event).map((event) => ({ ...e, event })));
    const r = check(events, { settled: false });
    expect(r.duplicateFires).toEqual([
      {
        jobId: 'm',
        fireTimeMs: A + 2500,
        seqs: [expect.any(Number), expect.any(Number)],
        actors: ['s-1', 's-2'],
      },
    ]);
  });

  it('fails on a missing tick of a fire-all job, but not of a fire-once job', () => {
    const h = history().define('a').define('once', 'fire-once');
    for (const k of [1, 2, 4, 5]) h.run('a', k).run('once', k);
    h.pause('a', A + 5500).pause('once', A + 5500);
    const r = check(h.events);
    expect(r.ok).toBe(false);
    expect(r.ticks.missing).toEqual([{ jobId: 'a', fireTimeMs: A + 3000 }]);
    expect(r.ticks.jobsChecked).toBe(1);
  });

  it('counts a tick due a full period before the pause as missing, a later one not', () => {
    const h = history().define('a');
    for (let k = 1; k <= 4; k++) h.run('a', k);
    expect(check([...h.events]).ok).toBe(true); // no pause: checked up to the last fire
    const paused = history().define('a');
    for (let k = 1; k <= 4; k++) paused.run('a', k);
    paused.pause('a', A + 6000); // tick 5 was due a second before the pause
    expect(check(paused.events).ticks.missing).toEqual([{ jobId: 'a', fireTimeMs: A + 5000 }]);
  });

  it('starts the tick check at the first fire, or at the anchor when asked', () => {
    const h = history().define('a');
    for (let k = 2; k <= 5; k++) h.run('a', k);
    h.pause('a', A + 5500);
    expect(check(h.events).ok).toBe(true);
    expect(check(h.events, { ticksFrom: 'anchor' }).ticks.missing).toEqual([
      { jobId: 'a', fireTimeMs: A + 1000 },
    ]);
  });

  it('fails on a fire recorded after its job was paused', () => {
    const h = clean();
    h.run('a', 6, 's-3');
    const r = check(h.events);
    expect(r.ticks.firesAfterPause).toMatchObject([
      { jobId: 'a', fireTimeMs: A + 6000, actor: 's-3' },
    ]);
    expect(r.ok).toBe(false);
  });

  it('fails on an instance with two terminal events', () => {
    const h = clean();
    h.cancel(`a~${A + 2000}`, A + 5000);
    const r = check(h.events);
    expect(r.ok).toBe(false);
    expect(r.terminal.multiple).toEqual([
      {
        instanceId: `a~${A + 2000}`,
        types: ['InstanceSucceeded', 'InstanceCancelled'],
        seqs: expect.any(Array) as unknown,
      },
    ]);
    expect(r.chains).toMatchObject([
      {
        instanceId: `a~${A + 2000}`,
        problem: 'InstanceCancelled appended after the instance ended',
      },
    ]);
  });

  it('fails on a fired instance that never ended, once the system has settled', () => {
    const h = clean();
    h.fire('a', 6).dispatch(`a~${A + 6000}`, 1, A + 6010);
    expect(check(h.events, { untilMs: A + 6500 }).terminal.missing).toEqual([`a~${A + 6000}`]);
    expect(check(h.events).ok).toBe(false);
    expect(check(h.events, { settled: false }).terminal.violations).toEqual([]);
  });

  it('fails when two workers both start one attempt, or a lost attempt reports late', () => {
    const h = history().define('a');
    const id = `a~${A + 1000}`;
    h.fire('a', 1)
      .dispatch(id, 1, A + 1010)
      .start(id, 1, 'w-1', A + 1020)
      .start(id, 1, 'w-2', A + 1030);
    expect(check(h.events, { settled: false }).chains.map((c) => c.problem)).toEqual([
      'attempt 1 started again (by w-2) while started',
    ]);
    const late = history().define('a');
    late
      .fire('a', 1)
      .dispatch(id, 1, A + 1010)
      .start(id, 1, 'w-1', A + 1020)
      .lost(id, 1, 'w-1', A + 4000);
    late.succeed(id, 1, 'w-1', A + 4100);
    expect(check(late.events).chains.map((c) => c.problem)).toEqual([
      'InstanceSucceeded for attempt 1 accepted while ended',
    ]);
  });

  it('takes a report straight after the dispatch as the start and end of a short run, and one more report as a violation', () => {
    const h = history().define('a');
    const id = `a~${A + 1000}`;
    h.fire('a', 1, 's-1', 5, true).succeed(id, 1, 'w-1', A + 1030, A + 1020);
    const r = check(h.events, { settled: false });
    expect(r.chains).toEqual([]);
    expect(r.lateness.started).toMatchObject({ n: 1, p50: 20 });
    h.succeed(id, 1, 'w-2', A + 1040, A + 1021);
    expect(check(h.events, { settled: false }).chains.map((c) => c.problem)).toEqual([
      'InstanceSucceeded appended after the instance ended',
    ]);
  });

  it('takes a fire that dispatched its first attempt as that attempt’s dispatch', () => {
    const h = history().define('a');
    const id = `a~${A + 1000}`;
    h.fire('a', 1, 's-1', 5, true)
      .start(id, 1, 'w-1', A + 1020)
      .succeed(id, 1, 'w-1', A + 1100);
    const r = check(h.events, { settled: false });
    expect(r.chains).toEqual([]);
    expect(r.counts).toMatchObject({ fires: 1, dispatches: 1, starts: 1 });
    const undispatched = history().define('a');
    undispatched.fire('a', 1).start(id, 1, 'w-1', A + 1020);
    expect(check(undispatched.events, { settled: false }).chains.map((c) => c.problem)).toEqual([
      'attempt 1 started without a dispatch',
    ]);
    const twice = history().define('a');
    twice.fire('a', 1, 's-1', 5, true).dispatch(id, 1, A + 1010);
    expect(check(twice.events, { settled: false }).chains.map((c) => c.problem)).toEqual([
      'attempt 1 dispatched twice',
    ]);
  });

  it('flags appends by a fenced replica, except on partitions it took again', () => {
    const h = history().define('a').define('b');
    h.run('a', 1, 's-2').run('b', 1, 's-2');
    h.run('a', 5, 's-2').run('b', 5, 's-2'); // after it "woke" at A + 4000
    const pa = partitionOf('a', 16);
    const pb = partitionOf('b', 16);
    expect(pa).not.toBe(pb);
    const window = { actorId: 's-2', fromMs: A + 3000, reacquiredAtMs: new Map([[pb, A + 4500]]) };
    const r = check(h.events, { fencing: [window], settled: false, ticksFrom: 'first-fire' });
    expect(r.fencing[0]!.offending.map((e) => e.subject)).toEqual([
      subjects.job(N, pa, 'a'),
      subjects.instance(N, pa, `a~${A + 5000}`),
    ]);
    expect(r.violations.join('\n')).toMatch(/s-2 appended 2 event\(s\) without its lease/);
  });

  it('measures takeover per partition from the dead scheduler’s last fire to its successor’s first', () => {
    const h = history().define('a').define('b');
    h.run('a', 1, 's-1').run('a', 2, 's-1').run('b', 1, 's-2').run('b', 2, 's-2');
    h.fire('a', 3, 's-2', 2500).fire('b', 3, 's-2', 5); // s-1 died at A + 2500; s-2 fired tick 3 late
    const r = check(h.events, {
      settled: false,
      deadSchedulers: [{ id: 's-1', deadAtMs: A + 2500 }],
    });
    expect(r.takeovers).toEqual([
      {
        schedulerId: 's-1',
        deadAtMs: A + 2500,
        partition: partitionOf('a', 16),
        lastFireAtMs: A + 2007,
        successor: 's-2',
        successorFireAtMs: A + 5502,
        gapMs: 3495,
        afterDeathMs: 3002,
      },
    ]);
    expect(formatReport(r)).toMatch(/takeover of s-1's 1 partition/);
  });

  it('measures worker-loss re-dispatch from the worker’s last event to the next attempt’s dispatch', () => {
    const h = history().define('a');
    const id = `a~${A + 2000}`;
    h.run('a', 1)
      .fire('a', 2)
      .dispatch(id, 1, A + 2010)
      .start(id, 1, 'w-1', A + 2020);
    h.lost(id, 1, 'w-1', A + 5000)
      .dispatch(id, 2, A + 5100)
      .start(id, 2, 'w-2', A + 5110)
      .succeed(id, 2, 'w-2', A + 5300);
    const r = check(h.events, { lostWorkers: [{ id: 'w-1', deadAtMs: A + 2100 }] });
    expect(r.ok).toBe(true);
    expect(r.workerLoss).toEqual([
      {
        workerId: 'w-1',
        deadAtMs: A + 2100,
        lastEventAtMs: A + 2022,
        running: [
          {
            instanceId: id,
            attempt: 1,
            lostAtMs: A + 5002,
            redispatchedAtMs: A + 5102,
            detectMs: 2980,
            redispatchMs: 3080,
            endedBy: 'InstanceWorkerLost',
          },
        ],
      },
    ]);
  });

  it('fails when an acked append is not in the stream as acked, or sequences are missing', () => {
    const h = clean();
    const succeeded = h.events.find((e) => e.event.type === 'InstanceSucceeded')!;
    const lines = [
      { msg: 'attempt succeeded', seq: succeeded.seq, instanceId: `a~${A + 1000}`, attempt: 1 },
      { msg: 'attempt succeeded', seq: 2, instanceId: `a~${A + 1000}`, attempt: 1 },
      { msg: 'something else', seq: 3 },
    ];
    const acked = ackedFromWorkerLogs(lines, 'w-1');
    expect(acked).toHaveLength(2);
    const r = check(h.events, { acked, seqGaps: [7] });
    expect(r.lostAcks).toMatchObject([
      { seq: 2, found: expect.stringContaining('JobDefined') as unknown },
    ]);
    expect(r.violations).toHaveLength(2);
  });
});
