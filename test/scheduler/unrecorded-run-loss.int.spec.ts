/**
 * A worker runs a fresh task before recording its start (recordStartAfterMs). If it stops in the
 * middle of such a run, nothing says it held the task: the scheduler, finding it lost, offers the
 * task again, but only once it is old enough that no worker would run a copy of it unrecorded
 * (SECOND_COPY_MIN_AGE_MS). The next worker records its start first and runs it: same attempt,
 * one outcome.
 */
import { describe, expect, it } from 'vitest';
import { SECOND_COPY_MIN_AGE_MS } from '../../src/events/task.js';
import { createWorker } from '../../src/services/worker/index.js';
import { createClient } from '../../src/services/commands/client.js';
import { useNats } from '../support/nats.js';
import { gate } from '../worker/helpers.js';
import { allEvents, ofType, silent, useServerThenWorker, watch } from './helpers.js';

const nats = useNats();
const env = useServerThenWorker(nats);

describe('a worker that stops in the middle of a run it has not recorded', () => {
  it('leaves the task to be offered again once it is old enough, and another worker runs it, recorded once', async () => {
    const rt = env.rt;
    const began = gate();
    const first = createWorker({
      runtime: rt,
      group: 'default',
      processors: {
        job: (ctx) => {
          began.open();
          return new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error)),
          );
        },
      },
      workerId: 'w-first',
      log: silent,
      pullExpiresMs: 1000,
      recordStartAfterMs: 1000,
      maxClockSkewMs: 0,
    });
    await first.start();
    const view = await watch(rt);
    try {
      const client = createClient(rt);
      await client.send('RegisterJob', {
        spec: { name: 'once', processor: 'job', schedule: { manual: true } },
      });
      const { result } = await client.send('TriggerJob', { jobId: 'once', triggerId: 't1' });
      const instanceId = String(result.instanceId);
      await began.promise;
      await first.stop(); // hard: no report, no ack, its heartbeat gone
      const second = createWorker({
        runtime: rt,
        group: 'default',
        processors: { job: async () => 'done' },
        workerId: 'w-second',
        log: silent,
        pullExpiresMs: 1000,
      });
      await second.start();
      try {
        await view.waitUntil((s) => s.instances.get(instanceId)?.status === 'succeeded', 30_000);
      } finally {
        await second.stop();
      }

      const events = (await allEvents(rt)).filter(
        (e) => 'instanceId' in e.event.data && e.event.data.instanceId === instanceId,
      );
      expect(events.map((e) => e.event.type)).toEqual([
        'JobFired',
        'InstanceStarted',
        'InstanceSucceeded',
      ]);
      const fired = ofType(events, 'JobFired')[0]!;
      const [started] = ofType(events, 'InstanceStarted');
      expect(started?.data).toMatchObject({ workerId: 'w-second', attempt: 1 });
      expect(ofType(events, 'InstanceSucceeded')[0]?.data.workerId).toBe('w-second');
      // Not before the second copy's age; well before the 30 s ack wait would have redelivered it.
      const offeredAfterMs = started!.atMs - fired.atMs;
      expect(offeredAfterMs).toBeGreaterThanOrEqual(SECOND_COPY_MIN_AGE_MS - 50);
      expect(offeredAfterMs).toBeLessThan(20_000);
    } finally {
      await view.stop();
    }
  }, 45_000);
});
