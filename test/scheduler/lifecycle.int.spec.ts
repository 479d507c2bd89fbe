import { beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/services/runtime.js';
import { DEFAULT_FIRE_AHEAD_MS } from '../../src/services/scheduler/scheduler.js';
import { createWorker } from '../../src/services/worker/index.js';
import type { Processor } from '../../src/services/worker/types.js';
import { createClient } from '../../src/services/commands/client.js';
import { ValidationError } from '../../src/events/errors.js';
import { subjects } from '../../src/events/subjects.js';
import { useNats } from '../support/nats.js';
import type { ScheduleState } from '../../src/projections/state.js';
import { allEvents, eventually, ofType, silent, useServerAndWorker, watch } from './helpers.js';

const nats = useNats();

describe('scheduler and workers on a real nats-server', () => {
  let rt: Runtime;
  const aborted = new Map<string, string>();
  const processors: Record<string, Processor> = {
    ok: async () => 'done',
    boom: async (ctx) => {
      throw new Error(`boom on attempt ${ctx.attempt}`);
    },
    hang: () => new Promise(() => undefined), // ignores its AbortSignal on purpose
    slow: () => new Promise((resolve) => setTimeout(resolve, 400)),
    waitForAbort: (ctx) =>
      new Promise((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          aborted.set(
            ctx.instanceId,
            String((ctx.signal.reason as Error | undefined)?.message ?? ctx.signal.reason),
          );
          reject(new Error('aborted'));
        });
      }),
  };

  const env = useServerAndWorker(nats, processors);
  beforeAll(() => {
    rt = env.rt;
  });

  /** The JobFired that created an instance (its data). */
  async function firedWith(instanceId: string) {
    return ofType(await allEvents(rt), 'JobFired').find((e) => e.data.instanceId === instanceId)
      ?.data;
  }

  it('fires a fixed-delay job again each time its run has ended, never two runs at once', async () => {
    const view = await watch(rt);
    try {
      await createClient(rt).send('RegisterJob', {
        spec: { name: 'delayed', processor: 'slow', schedule: { fixedDelay: '200ms' } },
      });
      const succeeded = (s: ScheduleState) =>
        [...s.instances.values()].filter((i) => i.jobId === 'delayed' && i.status === 'succeeded');
      await view.waitUntil((s) => succeeded(s).length >= 3, 20_000);
      await createClient(rt).send('PauseJob', { jobId: 'delayed' });
      const runs = succeeded(view.state).sort((a, b) => a.fireTimeMs - b.fireTimeMs);
      for (let i = 1; i < runs.length; i++) {
        // Each fire is due 200 ms after the previous run finished.
        expect(runs[i]!.fireTimeMs).toBe(runs[i - 1]!.finishedAtMs! + 200);
      }
    } finally {
      await view.stop();
    }
  });

  it('holds one fire of a buffer-one job while a run is in progress, and starts it when the run ends', async () => {
    const view = await watch(rt);
    try {
      const client = createClient(rt);
      await client.send('RegisterJob', {
        spec: {
          name: 'buffered',
          processor: 'slow',
          schedule: { every: '150ms' },
          overlap: 'buffer-one',
        },
      });
      const done = (s: ScheduleState) =>
        [...s.instances.values()].filter((i) => i.jobId === 'buffered' && i.status === 'succeeded');
      await view.waitUntil((s) => done(s).length >= 3, 20_000);
      await client.send('PauseJob', { jobId: 'buffered' });
      const runs = done(view.state).sort((a, b) => a.startedAtMs! - b.startedAtMs!);
      for (let i = 1; i < runs.length; i++) {
        // Never two at once: each run starts after the previous one finished.
        expect(runs[i]!.startedAtMs!).toBeGreaterThanOrEqual(runs[i - 1]!.finishedAtMs!);
      }
      const skipped = ofType(await allEvents(rt), 'JobFiresSkipped').filter(
        (e) => e.data.jobId === 'buffered',
      );
      expect(skipped.length).toBeGreaterThan(0); // ticks beyond the one buffered were skipped
    } finally {
      await view.stop();
    }
  });

  it('retries a throwing processor per policy and ends Failed with the error recorded', async () => {
    const view = await watch(rt);
    try {
      const client = createClient(rt);
      await client.send('RegisterJob', {
        spec: {
          name: 'thrower',
          processor: 'boom',
          schedule: { manual: true },
          retry: { maxAttempts: 3, backoff: 'fixed', initialDelay: '100ms', jitter: 0 },
        },
      });
      const { result } = await client.send('TriggerJob', { jobId: 'thrower', triggerId: 'once' });
      const instanceId = String(result.instanceId);
      await view.waitUntil((s) => s.instances.get(instanceId)?.status === 'failed', 20_000);
      const history = (
        await rt.store.readHistory(subjects.anyInstance(rt.names, instanceId))
      ).events.map((e) => e.event);
      // The first attempt was dispatched by its JobFired; the retries by InstanceDispatched.
      expect(await firedWith(instanceId)).toMatchObject({ dispatch: { processor: 'boom' } });
      // Each attempt failed at once: its report records its start too (when it began, on whom).
      expect(history.map((e) => e.type)).toEqual([
        'InstanceAttemptFailed',
        'InstanceRetryScheduled',
        'InstanceDispatched',
        'InstanceAttemptFailed',
        'InstanceRetryScheduled',
        'InstanceDispatched',
        'InstanceAttemptFailed',
        'InstanceFailed',
      ]);
      for (const e of history)
        if (e.type === 'InstanceAttemptFailed') {
          expect(e.data.startedAtMs).toBeGreaterThan(0);
          expect(e.data.workerId).not.toBe('');
        }
      const failed = history.at(-1);
      expect(failed).toMatchObject({
        type: 'InstanceFailed',
        data: { attempt: 3, reason: 'error', error: { message: 'boom on attempt 3' } },
      });
    } finally {
      await view.stop();
    }
  });

  it('aborts a hanging processor at its timeout, records TimedOut, and refuses its late report', async () => {
    const view = await watch(rt);
    try {
      const client = createClient(rt);
      await client.send('RegisterJob', {
        spec: { name: 'hanger', processor: 'hang', schedule: { manual: true }, timeout: '500ms' },
      });
      const { result } = await client.send('TriggerJob', { jobId: 'hanger', triggerId: 'once' });
      const instanceId = String(result.instanceId);
      await view.waitUntil((s) => s.instances.get(instanceId)?.status === 'timed-out', 20_000);
      const types = (
        await rt.store.readHistory(subjects.anyInstance(rt.names, instanceId))
      ).events.map((e) => e.event.type);
      expect(types).toEqual(['InstanceStarted', 'InstanceTimedOut', 'InstanceFailed']);
      expect(types.filter((t) => t === 'InstanceTimedOut')).toHaveLength(1);
    } finally {
      await view.stop();
    }
  });

  it('cancel stops a running processor through its AbortSignal, and the cancel sticks', async () => {
    const view = await watch(rt);
    try {
      const client = createClient(rt);
      await client.send('RegisterJob', {
        spec: { name: 'cancellable', processor: 'waitForAbort', schedule: { manual: true } },
      });
      const { result } = await client.send('TriggerJob', {
        jobId: 'cancellable',
        triggerId: 'once',
      });
      const instanceId = String(result.instanceId);
      await view.waitUntil((s) => s.instances.get(instanceId)?.status === 'running', 20_000);
      await client.send('CancelInstance', { instanceId, reason: 'test' });
      await view.waitUntil(() => aborted.has(instanceId), 10_000);
      const types = (
        await rt.store.readHistory(subjects.anyInstance(rt.names, instanceId))
      ).events.map((e) => e.event.type);
      expect(types).toEqual(['InstanceStarted', 'InstanceCancelled']);
      await expect(client.send('CancelInstance', { instanceId })).rejects.toMatchObject({
        code: 'REJECTED',
      });
    } finally {
      await view.stop();
    }
  });

  it('cancels an instance dispatched by its fire but not started yet, and no worker then starts it', async () => {
    const view = await watch(rt);
    try {
      const client = createClient(rt);
      // Group "later" has no worker yet: the task waits in the work queue.
      await client.send('RegisterJob', {
        spec: { name: 'queued', group: 'later', processor: 'ok', schedule: { manual: true } },
      });
      const { result } = await client.send('TriggerJob', { jobId: 'queued', triggerId: 'once' });
      const instanceId = String(result.instanceId);
      await view.waitUntil((s) => s.instances.get(instanceId)?.status === 'dispatched', 20_000);
      expect(await firedWith(instanceId)).toMatchObject({ dispatch: { group: 'later' } });
      const subject = subjects.anyInstance(rt.names, instanceId);
      expect((await rt.store.readHistory(subject)).events).toEqual([]); // nothing on its own subject
      await client.send('CancelInstance', { instanceId, reason: 'not needed' });
      await view.waitUntil((s) => s.instances.get(instanceId)?.status === 'cancelled', 10_000);

      const ran: string[] = [];
      const late = createWorker({
        runtime: rt,
        group: 'later',
        processors: { ok: async (ctx) => void ran.push(ctx.instanceId) },
        workerId: 'w-later',
        log: silent,
        pullExpiresMs: 1000,
      });
      await late.start();
      try {
        // The queued task is delivered, its start refused, and the task acked without a run.
        await eventually(
          () => (late.stats().skipped >= 1 ? true : undefined),
          10_000,
          'the late worker to skip the cancelled task',
        );
      } finally {
        await late.stop();
      }
      expect(ran).toEqual([]);
      const types = (await rt.store.readHistory(subject)).events.map((e) => e.event.type);
      expect(types).toEqual(['InstanceCancelled']);
    } finally {
      await view.stop();
    }
  });

  it.each([
    [
      'an invalid cron string',
      { name: 'bad1', processor: 'ok', schedule: { cron: '99 * * * *' } },
      'data.spec.schedule.cron',
    ],
    [
      'an unknown time zone',
      { name: 'bad2', processor: 'ok', schedule: { cron: '* * * * *', tz: 'Moon/Base' } },
      'data.spec.schedule.tz',
    ],
    [
      'a negative interval',
      { name: 'bad3', processor: 'ok', schedule: { every: -1000 } },
      'data.spec.schedule.every',
    ],
    [
      'an unknown field',
      { name: 'bad4', processor: 'ok', schedule: { every: '1s' }, retires: 2 },
      'data.spec.retires',
    ],
    [
      'a processor no live worker of the group offers',
      { name: 'bad5', processor: 'nope', schedule: { every: '1s' } },
      'data.spec.processor',
    ],
  ])(
    'refuses %s over the command subject, naming the field, and appends nothing',
    async (_what, spec, field) => {
      const before = (await rt.jsm.streams.info(rt.names.eventStream)).state.last_seq;
      const err = await createClient(rt)
        .send('RegisterJob', { spec })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).issues.map((i) => i.path)).toContain(field);
      const after = (await rt.jsm.streams.info(rt.names.eventStream)).state.last_seq;
      expect(after).toBe(before);
    },
  );

  it('fires a one-shot job once, ahead of its time, and starts it no earlier than that time', async () => {
    const view = await watch(rt);
    try {
      const at = Date.now() + 2500;
      await createClient(rt).send('RegisterJob', {
        spec: { name: 'oneshot', processor: 'ok', schedule: { at: new Date(at).toISOString() } },
      });
      await view.waitUntil(
        (s) =>
          [...s.instances.values()].some((i) => i.jobId === 'oneshot' && i.status === 'succeeded'),
        15_000,
      );
      const events = await allEvents(rt);
      const fires = ofType(events, 'JobFired').filter((e) => e.data.jobId === 'oneshot');
      expect(fires).toHaveLength(1);
      expect(fires[0]!.data.fireTimeMs).toBe(at);
      // Recorded and handed out up to fireAheadMs early, started by the worker at its time.
      expect(fires[0]!.atMs).toBeGreaterThanOrEqual(at - DEFAULT_FIRE_AHEAD_MS);
      expect(fires[0]!.atMs).toBeLessThan(at);
      // A short run's report records its start: when the processor began.
      const reports = ofType(events, 'InstanceSucceeded').filter(
        (e) => e.data.instanceId === fires[0]!.data.instanceId,
      );
      expect(reports).toHaveLength(1);
      expect(reports[0]!.data.startedAtMs).toBeGreaterThanOrEqual(at);
    } finally {
      await view.stop();
    }
  });
});
