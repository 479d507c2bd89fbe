import { describe, expect, it } from 'vitest';
import { foldJob, foldState, mailDefined } from './manual-job.js';
import { makeEvent } from '../../src/events/build.js';
import { encodeEvent, decodeEvent } from '../../src/events/codec.js';
import { ValidationError } from '../../src/events/errors.js';
import { firesOf, unbatched } from '../../src/events/batches.js';
import { MAX_FIRES_PER_BATCH } from '../../src/events/job-events.js';
import { evolveJob } from '../../src/projections/job-view.js';

const at = Date.parse('2026-12-05T08:00:00Z');
const client = { actor: { kind: 'client' as const, id: 'cli' }, nowMs: at - 50 };
const scheduler = {
  actor: { kind: 'scheduler' as const, id: 's-1' },
  nowMs: at,
  correlationId: 'c-1',
};
const dispatch = { group: 'default', processor: 'p', priority: 0 };

const defined = mailDefined(at - 5000, client);
const trigger = (triggerId: string) =>
  makeEvent(
    'JobTriggerRequested',
    { jobId: 'mail', triggerId, dueAtMs: at - 50, reason: 'manual', params: { n: triggerId } },
    client,
  );
/** What the scheduler records for trigger `t` as the `runNumber`-th fire of the job. */
const fire = (t: string, runNumber: number, withDispatch = true) => ({
  instanceId: `mail~t-${t}`,
  fireTimeMs: at - 50,
  reason: 'manual' as const,
  runNumber,
  params: { n: t },
  ...(withDispatch && { dispatch: { ...dispatch, params: { n: t } } }),
});
const batch = (fires: ReturnType<typeof fire>[]) =>
  makeEvent('JobFiredBatch', { jobId: 'mail', fires }, scheduler, 'fires:mail~t-a:3');
const singles = (fires: ReturnType<typeof fire>[]) =>
  fires.map((f) => makeEvent('JobFired', { jobId: 'mail', ...f }, scheduler, 'fire:x'));

const triggers = [trigger('a'), trigger('b'), trigger('c'), trigger('d')];
const threeFires = [fire('a', 1), fire('b', 2), fire('c', 3)];

describe('a batch of fires', () => {
  it('reads as one JobFired per fire, in order, each with the batch envelope', () => {
    const fires = firesOf(batch(threeFires));
    expect(fires.map((f) => f.data.instanceId)).toEqual(['mail~t-a', 'mail~t-b', 'mail~t-c']);
    expect(fires[1]).toEqual({
      type: 'JobFired',
      v: 1,
      id: 'fires:mail~t-a:3',
      atMs: at,
      actor: scheduler.actor,
      correlationId: 'c-1',
      data: { jobId: 'mail', ...fire('b', 2) },
    });
    expect(unbatched(triggers[0]!)).toEqual([triggers[0]]);
  });

  it('folds into the job view as its fires one by one do (triggers no longer pending, run count)', () => {
    const viaBatch = foldJob([defined, ...triggers, batch(threeFires)]);
    const viaSingles = foldJob([defined, ...triggers, ...singles(threeFires)]);
    expect(Object.keys(viaBatch!.pendingTriggers)).toEqual(['d']);
    expect(viaBatch).toEqual({ ...viaSingles, lastSeq: viaBatch!.lastSeq });
    expect(viaBatch).toMatchObject({ runs: 3, lastFiredAtMs: at });
  });

  it('leaves the view it folds from as it was', () => {
    const before = foldJob([defined, ...triggers])!;
    const pending = { ...before.pendingTriggers };
    const after = evolveJob(before, batch(threeFires), 99)!;
    expect(before.pendingTriggers).toEqual(pending);
    expect(Object.keys(after.pendingTriggers)).toEqual(['d']);
  });

  it('creates the instances its fires dispatched, and holds back those it did not', () => {
    const mixed = [fire('a', 1), fire('b', 2, false)];
    const viaBatch = foldState([defined, ...triggers, batch(mixed)]);
    const viaSingles = foldState([defined, ...triggers, ...singles(mixed)]);
    expect([...viaBatch.instances.keys()]).toEqual(['mail~t-a']);
    expect(viaBatch.instances.get('mail~t-a')).toMatchObject({
      status: 'dispatched',
      attempt: 1,
      lastSeq: 0,
      params: { n: 'a' },
    });
    expect([...viaBatch.undispatched.keys()]).toEqual(['mail~t-b']);
    expect(viaBatch.instances).toEqual(viaSingles.instances);
    expect(viaBatch.undispatched).toEqual(viaSingles.undispatched);
    expect(viaBatch.active).toEqual(viaSingles.active);
  });

  it('is refused by the codec when it holds no fire or too many, naming the field', () => {
    const tooMany = Array.from({ length: MAX_FIRES_PER_BATCH + 1 }, (_, i) => fire(`t${i}`, i + 1));
    for (const fires of [[], tooMany]) {
      const event = makeEvent('JobFiredBatch', { jobId: 'mail', fires }, scheduler);
      const err = (() => {
        try {
          encodeEvent(event);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['data.fires']);
    }
  });

  it('round-trips through the codec', () => {
    const event = batch(threeFires);
    expect(decodeEvent(encodeEvent(event))).toEqual({ ok: true, event });
  });
});
