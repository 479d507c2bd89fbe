import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { startServer } from '../../src/services/server.js';
import { createWorker } from '../../src/services/worker/index.js';
import { taskConsumerName } from '../../src/services/worker/index.js';
import type { Processor, Worker } from '../../src/services/worker/types.js';
import { createClient } from '../../src/services/commands/client.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { allEvents, eventually, ofType, silent, watch } from './helpers.js';

const nats = useNats();
const AHEAD_MS = 2000;

describe('ticks fired ahead of their time (fireAheadMs) on a real nats-server', () => {
  let rt: Runtime;
  const stops: (() => Promise<void>)[] = [];
  const ran: string[] = [];
  const processors: Record<string, Processor> = {
    record: async (ctx) => {
      ran.push(ctx.instanceId);
      return 'done';
    },
  };
  const worker = (group: string, workerId: string): Worker =>
    createWorker({ runtime: rt, group, processors, workerId, log: silent, pullExpiresMs: 1000 });

  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
    const server = await startServer({
      runtime: rt,
      schedulerId: 'sched-1',
      fireAheadMs: AHEAD_MS,
      log: silent,
    });
    stops.push(() => server.stop());
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await rt?.close();
  });

  const register = (name: string, group: string, at: number) =>
    createClient(rt).send('RegisterJob', {
      spec: { name, group, processor: 'record', schedule: { at: new Date(at).toISOString() } },
    });

  it('cancels a tick fired ahead when its job is paused before the tick’s time; the worker never runs it', async () => {
    const w = worker('paused', 'w-paused');
    await w.start();
    stops.push(() => w.stop());
    const view = await watch(rt);
    try {
      const at = Date.now() + AHEAD_MS + 1500;
      await register('pause-me', 'paused', at);
      const fired = () =>
        [...view.state.instances.values()].find((i) => i.jobId === 'pause-me' && i.attempt === 1);
      await view.waitUntil(() => fired()?.status === 'dispatched', 10_000);
      expect(Date.now()).toBeLessThan(at);

      await createClient(rt).send('PauseJob', { jobId: 'pause-me' });
      await view.waitUntil(() => fired()?.status === 'cancelled', 10_000);
      // At the tick's time the worker tries to start it; the start is refused (sequence check).
      await eventually(() => (w.stats().skipped >= 1 ? true : undefined), 10_000, 'start refused');

      const instanceId = fired()!.instanceId;
      expect(ran).not.toContain(instanceId);
      const events = await allEvents(rt);
      expect(
        ofType(events, 'InstanceStarted').filter((e) => e.data.instanceId === instanceId),
      ).toHaveLength(0);
      const cancelled = ofType(events, 'InstanceCancelled').filter(
        (e) => e.data.instanceId === instanceId,
      );
      expect(cancelled).toHaveLength(1);
      expect(cancelled[0]!.data.reason).toMatch(/paused before the fire time/);
      expect(cancelled[0]!.atMs).toBeLessThan(at);
    } finally {
      await view.stop();
    }
  });

  it('cancels a tick claimed ahead by a worker when its job is paused before the tick’s time, and tells the worker, which never runs it', async () => {
    const w = createWorker({
      runtime: rt,
      group: 'claimed',
      processors,
      workerId: 'w-claim',
      log: silent,
      pullExpiresMs: 1000,
      claimAheadMs: AHEAD_MS,
    });
    await w.start();
    stops.push(() => w.stop());
    const view = await watch(rt);
    try {
      const at = Date.now() + AHEAD_MS + 1500;
      await register('pause-claimed', 'claimed', at);
      const fired = () =>
        [...view.state.instances.values()].find(
          (i) => i.jobId === 'pause-claimed' && i.attempt === 1,
        );
      // Claimed: the worker recorded its start, to begin at the tick.
      await view.waitUntil(() => fired()?.status === 'running', 10_000);
      expect(Date.now()).toBeLessThan(at);

      await createClient(rt).send('PauseJob', { jobId: 'pause-claimed' });
      await view.waitUntil(() => fired()?.status === 'cancelled', 10_000);
      await eventually(
        () => (w.stats().skipped >= 1 ? true : undefined),
        10_000,
        'claimed attempt dropped by the worker',
      );
      expect(Date.now()).toBeLessThan(at);

      const instanceId = fired()!.instanceId;
      expect(ran).not.toContain(instanceId);
      const events = (await allEvents(rt)).filter(
        (e) => (e.event.data as { instanceId?: string }).instanceId === instanceId,
      );
      expect(events.map((e) => e.event.type)).toEqual([
        'JobFired',
        'InstanceStarted',
        'InstanceCancelled',
      ]);
      expect(ofType(events, 'InstanceStarted')[0]!.data.startsAtMs).toBe(at);
      expect(ofType(events, 'InstanceCancelled')[0]!.data.reason).toMatch(
        /paused before the fire time/,
      );
    } finally {
      await view.stop();
    }
  });

  it('has a draining worker hand back a task held for its time, which another worker starts on time', async () => {
    const a = worker('handback', 'w-a');
    await a.start();
    const view = await watch(rt);
    try {
      const at = Date.now() + AHEAD_MS + 1500;
      await register('hand-back', 'handback', at);
      // The task is out: worker a holds it, un-acked, until the tick's time.
      await eventually(
        async () => {
          const info = await rt.jsm.consumers.info(
            rt.names.taskStream,
            taskConsumerName('handback'),
          );
          return info.num_ack_pending === 1 ? true : undefined;
        },
        10_000,
        'the task handed out ahead',
      );
      const t0 = Date.now();
      await a.drain();
      expect(Date.now() - t0, 'drain does not wait for the tick').toBeLessThan(1000);
      expect(Date.now()).toBeLessThan(at);

      const b = worker('handback', 'w-b');
      await b.start();
      stops.push(() => b.stop());
      const inst = () =>
        [...view.state.instances.values()].find((i) => i.jobId === 'hand-back' && i.attempt === 1);
      await view.waitUntil(() => inst()?.status === 'succeeded', 10_000);
      const starts = ofType(await allEvents(rt), 'InstanceStarted').filter(
        (e) => e.data.instanceId === inst()!.instanceId,
      );
      expect(starts).toHaveLength(1);
      expect(starts[0]!.data.workerId).toBe('w-b');
      expect(starts[0]!.atMs).toBeGreaterThanOrEqual(at);
      expect(a.stats().completed).toBe(0);
    } finally {
      await view.stop();
    }
  });
});
