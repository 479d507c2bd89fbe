import { describe, expect, it } from 'vitest';
import { foldJob, foldState, mailDefined } from './manual-job.js';
import { makeEvent } from '../../src/events/build.js';
import { encodeEvent, decodeEvent } from '../../src/events/codec.js';
import { ValidationError } from '../../src/events/errors.js';
import { triggersOf, unbatched } from '../../src/events/batches.js';
import { MAX_TRIGGERS_PER_BATCH } from '../../src/events/job-events.js';
import { evolveJob } from '../../src/projections/job-view.js';

const at = Date.parse('2026-12-06T08:00:00Z');
const client = {
  actor: { kind: 'client' as const, id: 'cli' },
  nowMs: at - 50,
  causationId: 'c-7',
  correlationId: 'c-7',
};

const defined = mailDefined(at - 5000, client);
/** What TriggerJobs records for its trigger `i` (ids from the command `c-7`). */
const trigger = (i: number, extra: Record<string, unknown> = {}) => ({
  triggerId: `c-7-${i}`,
  dueAtMs: at + i,
  reason: 'manual' as const,
  ...extra,
});
const three = [trigger(0, { params: { n: 0 } }), trigger(1), trigger(2, { params: [1, 2] })];
const batch = (triggers: ReturnType<typeof trigger>[]) =>
  makeEvent(
    'JobTriggerRequestedBatch',
    { jobId: 'mail', triggers },
    client,
    `triggers:mail:c-7-0:${triggers.length}`,
  );
const singles = (triggers: ReturnType<typeof trigger>[]) =>
  triggers.map((t) => makeEvent('JobTriggerRequested', { jobId: 'mail', ...t }, client, 'x'));

describe('a batch of triggers', () => {
  it('reads as one JobTriggerRequested per trigger, in order, each with the batch envelope', () => {
    const read = triggersOf(batch(three));
    expect(read.map((t) => t.data.triggerId)).toEqual(['c-7-0', 'c-7-1', 'c-7-2']);
    expect(read[2]).toEqual({
      type: 'JobTriggerRequested',
      v: 1,
      id: 'triggers:mail:c-7-0:3',
      atMs: at - 50,
      actor: client.actor,
      causationId: 'c-7',
      correlationId: 'c-7',
      data: { jobId: 'mail', ...three[2] },
    });
    expect(unbatched(batch(three))).toEqual(read);
  });

  it('folds into the job view as its triggers one by one do', () => {
    const viaBatch = foldJob([defined, batch(three)]);
    const viaSingles = foldJob([defined, ...singles(three)]);
    expect(Object.keys(viaBatch!.pendingTriggers)).toEqual(['c-7-0', 'c-7-1', 'c-7-2']);
    expect(viaBatch!.pendingTriggers['c-7-2']).toEqual(three[2]);
    expect(viaBatch).toEqual({ ...viaSingles, lastSeq: viaBatch!.lastSeq });
  });

  it('leaves the view it folds from as it was', () => {
    const before = foldJob([defined, ...singles([trigger(9)])])!;
    const pending = { ...before.pendingTriggers };
    const after = evolveJob(before, batch(three), 99)!;
    expect(before.pendingTriggers).toEqual(pending);
    expect(Object.keys(after.pendingTriggers)).toEqual(['c-7-9', 'c-7-0', 'c-7-1', 'c-7-2']);
  });

  it("is a job event of the schedule's fold: the job's triggers pend", () => {
    const s = foldState([defined, batch(three)]);
    expect(Object.keys(s.jobs.get('mail')!.pendingTriggers)).toHaveLength(3);
  });

  it('is refused by the codec when it holds no trigger or too many, naming the field', () => {
    const tooMany = Array.from({ length: MAX_TRIGGERS_PER_BATCH + 1 }, (_, i) => trigger(i));
    for (const triggers of [[], tooMany]) {
      let err: unknown;
      try {
        encodeEvent(batch(triggers));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['data.triggers']);
    }
  });

  it('round-trips through the codec', () => {
    const event = batch(three);
    expect(decodeEvent(encodeEvent(event))).toEqual({ ok: true, event });
  });
});
