/**
 * Where a server's commands read jobs from: the folds its scheduler keeps for the partitions it
 * holds (so that each job event is folded, and each job held, once per process), and folds of its
 * own for the other partitions, started by the first command that needs one.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { createCommandHandler } from '../../src/services/commands/handler.js';
import { liveJobSource } from '../../src/services/commands/job-index.js';
import { createScheduler } from '../../src/services/scheduler/scheduler.js';
import { ownAllPartitions } from '../../src/services/scheduler/ownership.js';
import { partitionOf } from '../../src/events/subjects.js';
import type { LocalFolds, PartitionFold } from '../../src/projections/partition-folds.js';
import { emptyState } from '../../src/projections/state.js';
import { commandOf as command } from '../support/commands.js';
import { useNats, uniquePrefix, waitFor } from '../support/nats.js';
import { silent } from '../scheduler/helpers.js';

const nats = useNats();
const manual = (name: string) => ({ spec: { name, processor: 'p', schedule: { manual: true } } });

/** Local folds whose partitions a test hands over one by one. */
function handOver() {
  const folds = new Map<number, PartitionFold>();
  const listeners: (() => void)[] = [];
  const local: LocalFolds = {
    foldOf: (p) => folds.get(p),
    onChange: (l) => void listeners.push(l),
  };
  return {
    local,
    give(p: number, fold: PartitionFold) {
      folds.set(p, fold);
      for (const l of listeners) l();
    },
  };
}

describe('the command endpoint of a server', () => {
  let rt: Runtime;
  const stops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });
  afterAll(async () => rt?.close());

  /** A scheduler holding every partition, caught up; stopped after the test unless it stops it. */
  async function startScheduler({ stopAfter }: { stopAfter: boolean }) {
    const scheduler = createScheduler({
      runtime: rt,
      ownership: ownAllPartitions(rt.partitions),
      log: silent,
    });
    await scheduler.start();
    if (stopAfter) stops.push(() => scheduler.stop());
    return scheduler;
  }

  it('reads the jobs of the partitions its scheduler holds from the scheduler, folding none itself', async () => {
    const scheduler = await startScheduler({ stopAfter: true });
    const jobs = await liveJobSource(rt, silent, scheduler.folds);
    stops.push(() => jobs.stop());
    const handler = createCommandHandler(rt, { jobs, log: silent });

    for (const name of ['a', 'b', 'c'])
      expect(await handler.handle(command('RegisterJob', manual(name)))).toMatchObject({
        ok: true,
      });
    const paused = await handler.handle(command('PauseJob', { jobId: 'b' }));
    const again = await handler.handle(command('RegisterJob', manual('a')));

    expect(paused).toMatchObject({ ok: true, appended: [{ type: 'JobPaused' }] });
    expect(again).toMatchObject({ ok: true, appended: [] }); // the same spec: nothing to append
    expect((await jobs.jobIds()).sort()).toEqual(['a', 'b', 'c']);
    const b = await jobs.load('b');
    expect(b.view?.status).toBe('paused');
    // The view is the scheduler's own object: one copy of each job in the process.
    expect(b.view).toBe(scheduler.stateOf(partitionOf('b', rt.partitions))?.jobs.get('b'));
    expect(jobs.ownFolds()).toEqual([]);
  });

  it('folds a partition nobody here holds from the first command on it, and lets go of it once the scheduler holds it', async () => {
    const hand = handOver();
    const jobs = await liveJobSource(rt, silent, hand.local);
    stops.push(() => jobs.stop());
    const handler = createCommandHandler(rt, { jobs, log: silent });
    const p = partitionOf('solo', rt.partitions);

    // Nothing folded yet: the first command reads the job's subject and starts a fold of its partition.
    expect(await handler.handle(command('RegisterJob', manual('solo')))).toMatchObject({
      ok: true,
    });
    expect(jobs.ownFolds()).toEqual([p]);
    // Its fold catches up, then answers optimistic loads itself (no read of the subject).
    const folded = await waitFor(
      async () => {
        const l = await jobs.load('solo', { optimistic: true });
        return !l.checked && l.view !== undefined && l;
      },
      { what: 'the own fold to hold the job', timeoutMs: 10_000 },
    );
    expect(folded.view?.status).toBe('active');

    // The partition's scheduler fold becomes ready in this process: the own fold is dropped.
    const scheduler = await startScheduler({ stopAfter: true });
    hand.give(p, scheduler.folds.foldOf(p)!);
    expect(jobs.ownFolds()).toEqual([]);
    expect(await handler.handle(command('PauseJob', { jobId: 'solo' }))).toMatchObject({
      ok: true,
      appended: [{ type: 'JobPaused' }],
    });
    expect((await jobs.load('solo')).view?.status).toBe('paused');
  });

  it('answers from the stream when the fold it waited on stopped', async () => {
    const scheduler = await startScheduler({ stopAfter: false }); // the test stops it
    const jobs = await liveJobSource(rt, silent, scheduler.folds);
    stops.push(() => jobs.stop());
    const handler = createCommandHandler(rt, { jobs, log: silent });
    await handler.handle(command('RegisterJob', manual('late')));
    const p = partitionOf('late', rt.partitions);
    const fold = scheduler.folds.foldOf(p)!;
    await scheduler.stop(); // releases every partition: their folds stop

    await expect(fold.waitForSeq(Number.MAX_SAFE_INTEGER, 60_000)).rejects.toThrow(/stopped/);
    const t0 = Date.now();
    const loaded = await jobs.load('late');
    expect(loaded).toMatchObject({ checked: true, view: { jobId: 'late', status: 'active' } });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('has a fold that lags a stored event replace its consumer, and reads the stream after 3 s rather than waiting 10', async () => {
    const hand = handOver();
    const jobs = await liveJobSource(rt, silent, hand.local);
    stops.push(() => jobs.stop());
    const handler = createCommandHandler(rt, { jobs, log: silent });
    // A fold that stopped delivering (as after a JetStream leader change): it holds nothing and
    // reaches no sequence; it only records what it is told is stored.
    const expected: number[] = [];
    const stalled: PartitionFold = {
      state: emptyState(),
      waitForSeq: (seq, timeoutMs = 10_000) =>
        new Promise((_resolve, reject) =>
          setTimeout(() => reject(new Error(`still short of ${seq}`)), timeoutMs),
        ),
      expect: (seq) => void expected.push(seq),
    };
    for (let q = 0; q < rt.partitions; q++) hand.give(q, stalled);

    const registered = await handler.handle(command('RegisterJob', manual('stuck')));
    expect(registered).toMatchObject({ ok: true, appended: [{ type: 'JobDefined' }] });
    const definedSeq = (registered as { appended: { seq: number }[] }).appended[0]!.seq;
    const t0 = Date.now();
    const paused = await handler.handle(command('PauseJob', { jobId: 'stuck' }));
    const elapsed = Date.now() - t0;

    expect(paused).toMatchObject({ ok: true, appended: [{ type: 'JobPaused' }] });
    expect(expected).toEqual([definedSeq]);
    // Every job is listed from the stream, so one no fold has seen yet is not left out.
    expect(await jobs.jobIds()).toContain('stuck');
    expect(elapsed).toBeGreaterThanOrEqual(2_900);
    expect(elapsed).toBeLessThan(6_000);
  });
});
