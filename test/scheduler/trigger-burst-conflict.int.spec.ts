/**
 * Trigger requests are appended without an expected sequence (any command endpoint may take them),
 * so a job triggered all the time moves on under the scheduler's fires, and a fire batch is
 * refused. The burst goes on from the job as it is then, rather than being decided again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { startServer } from '../../src/services/server.js';
import { createWorker, type Worker } from '../../src/services/worker/index.js';
import type { EventStore } from '../../src/events/event-store.js';
import { makeEvent } from '../../src/events/build.js';
import { MAX_FIRES_PER_BATCH } from '../../src/events/job-events.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { allEvents, ofType, silent, triggerBurst, waitAllSucceeded } from './helpers.js';

const nats = useNats();
const TRIGGERS = MAX_FIRES_PER_BATCH + 44;
const actor = { kind: 'client' as const, id: 'spec' };

describe('a burst of triggers fired while more triggers of its job come in', () => {
  let rt: Runtime;
  let server: Awaited<ReturnType<typeof startServer>>;
  let worker: Worker;
  /** The triggers requested right before each of the first two fire batches reached the stream. */
  const late: string[] = [];

  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
    const store: EventStore = {
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
          await rt.store.append(subject, request);
        }
        return rt.store.append(subject, event, opts);
      },
    };
    server = await startServer({
      runtime: { ...rt, store },
      schedulerId: 'burst-1',
      log: silent,
    });
    worker = createWorker({
      runtime: rt,
      group: 'default',
      processors: { mail: async (ctx) => ctx.params },
      log: silent,
    });
    await worker.start();
  });
  afterAll(async () => {
    await worker.stop();
    await server.stop();
    await rt.close();
  });

  it('goes on with the burst after each refused batch, and fires the newcomers after it', async () => {
    const ids = await triggerBurst(rt, TRIGGERS);
    await waitAllSucceeded(rt, [...ids, 'mail~t-late0', 'mail~t-late1']);

    const events = await allEvents(rt);
    const batches = events.flatMap((e) =>
      e.event.type === 'JobFiredBatch' ? [e.event.data.fires.map((f) => f.instanceId)] : [],
    );
    expect(batches.map((b) => b.length)).toEqual([MAX_FIRES_PER_BATCH, 44, 2]);
    expect(batches[2]).toEqual(late);
    expect(server.scheduler.stats().conflicts).toBe(2);

    // Each trigger fired once, run numbers without a gap or a repeat, and each instance ran once.
    const fires = ofType(events, 'JobFired').filter((f) => f.data.jobId === 'mail');
    expect(fires.map((f) => f.data.instanceId).sort()).toEqual([...ids, ...late].sort());
    expect(fires.map((f) => f.data.runNumber)).toEqual(
      Array.from({ length: TRIGGERS + 2 }, (_, i) => i + 1),
    );
    const succeeded = ofType(events, 'InstanceSucceeded').map((e) => e.data.instanceId);
    expect(succeeded.sort()).toEqual([...ids, ...late].sort());
  });
});
