/**
 * Trigger requests are appended without an expected sequence (any command endpoint may take them).
 * On the job's trigger subject they leave the sequence its fires are checked against; stored on
 * the job's own subject (as before they had a subject of their own) they move it under the
 * scheduler's fires, a fire batch is refused, and the job is decided again, as on any conflict.
 */
import { describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/services/runtime.js';
import type { EventStore } from '../../src/events/event-store.js';
import { makeEvent } from '../../src/events/build.js';
import { partitionOf, subjects } from '../../src/events/subjects.js';
import { MAX_FIRES_PER_BATCH } from '../../src/events/job-events.js';
import { useNats } from '../support/nats.js';
import {
  allEvents,
  ofType,
  triggerBurst,
  useServerAndWorker,
  waitAllSucceeded,
} from './helpers.js';

const nats = useNats();
const TRIGGERS = MAX_FIRES_PER_BATCH + 44;
const actor = { kind: 'client' as const, id: 'spec' };

/**
 * A server whose event store appends a trigger request of job "mail" right before each of the
 * first two fire batches, on `where` the job keeps them; and a worker. `late`: those triggers'
 * instance ids.
 */
function useBurstWithLateTriggers(where: 'job subject' | 'trigger subject') {
  const late: string[] = [];
  const lateTriggers = (rt: Runtime): EventStore => ({
    ...rt.store,
    append: async (subject, event, opts) => {
      if (event.type === 'JobFiredBatch' && late.length < 2) {
        const triggerId = `late${late.length}`;
        late.push(`mail~t-${triggerId}`);
        const nowMs = Date.now();
        const request = makeEvent(
          'JobTriggerRequested',
          { jobId: 'mail', triggerId, dueAtMs: nowMs, reason: 'manual' },
          { actor, nowMs },
        );
        const p = partitionOf('mail', rt.partitions);
        const to = where === 'job subject' ? subject : subjects.triggers(rt.names, p, 'mail');
        await rt.store.append(to, request);
      }
      return rt.store.append(subject, event, opts);
    },
  });
  const env = useServerAndWorker(nats, { mail: async (ctx) => ctx.params }, {}, lateTriggers);
  return { env, late };
}

/** Each trigger fired once, run numbers without a gap or a repeat, and each instance ran once. */
async function expectEachFiredAndRunOnce(rt: Runtime, triggered: string[]) {
  const events = await allEvents(rt);
  const fires = ofType(events, 'JobFired').filter((f) => f.data.jobId === 'mail');
  expect(fires.map((f) => f.data.instanceId).sort()).toEqual([...triggered].sort());
  expect(fires.map((f) => f.data.runNumber)).toEqual(
    Array.from({ length: triggered.length }, (_, i) => i + 1),
  );
  const succeeded = ofType(events, 'InstanceSucceeded').map((e) => e.data.instanceId);
  expect(succeeded.sort()).toEqual([...triggered].sort());
  return events;
}

describe("a burst of triggers fired while more triggers of its job come in, on the job's trigger subject", () => {
  const { env, late } = useBurstWithLateTriggers('trigger subject');

  it('has no fire batch refused, and fires every trigger once', async () => {
    const ids = await triggerBurst(env.rt, TRIGGERS);
    await waitAllSucceeded(env.rt, [...ids, 'mail~t-late0', 'mail~t-late1']);

    expect(late).toHaveLength(2);
    expect(env.server.scheduler.stats().conflicts).toBe(0);
    const events = await expectEachFiredAndRunOnce(env.rt, [...ids, ...late]);
    const sizes = events.flatMap((e) =>
      e.event.type === 'JobFiredBatch' ? [e.event.data.fires.length] : [],
    );
    expect(sizes[0]).toBe(MAX_FIRES_PER_BATCH);
  });
});

describe("a burst of triggers fired while more triggers of its job come in, on the job's own subject", () => {
  const { env, late } = useBurstWithLateTriggers('job subject');

  it('decides the job again after each refused batch, the newcomers with the rest', async () => {
    const ids = await triggerBurst(env.rt, TRIGGERS);
    await waitAllSucceeded(env.rt, [...ids, 'mail~t-late0', 'mail~t-late1']);

    const events = await expectEachFiredAndRunOnce(env.rt, [...ids, ...late]);
    const batches = events.flatMap((e) =>
      e.event.type === 'JobFiredBatch' ? [e.event.data.fires.map((f) => f.instanceId)] : [],
    );
    // The second batch was refused twice (a request came in before each try), then went in with
    // the 44 left of the burst and both newcomers.
    expect(batches.map((b) => b.length)).toEqual([MAX_FIRES_PER_BATCH, 46]);
    expect(batches[1]).toEqual(expect.arrayContaining(late));
    expect(env.server.scheduler.stats().conflicts).toBe(2);
  });
});
