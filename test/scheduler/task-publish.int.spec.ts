/**
 * A dispatch is two writes: the event (the JobFired that dispatches a first attempt, or an
 * InstanceDispatched), then the task message for the workers.
 * When the second fails (a timeout while a NATS node dies, say), the instance is recorded as
 * dispatched but no worker holds it. The scheduler must still supervise it and publish its task
 * again, or the instance waits forever.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsPublisher } from '../../src/events/publisher.js';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { startServer } from '../../src/services/server.js';
import { createWorker } from '../../src/services/worker/index.js';
import { createClient } from '../../src/services/commands/client.js';
import { subjects } from '../../src/events/subjects.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { allEvents, ofType, silent, watch } from './helpers.js';

const nats = useNats();

/**
 * The scheduler's publisher, on the real server, except that its first task publish fails the way
 * a timed-out one does: the caller gets an error. (The dispatch event before it is stored.)
 */
function refusingFirstTaskPublish(publisher: JsPublisher, taskSubject: string) {
  const refused: string[] = [];
  const client: JsPublisher = {
    publish(subject, payload, options) {
      if (subject === taskSubject && refused.length === 0) {
        refused.push(subject);
        return Promise.reject(new Error('injected: task publish timed out'));
      }
      return publisher.publish(subject, payload, options);
    },
  };
  return { client, refused };
}

describe('a task whose publish failed after its dispatch was recorded', () => {
  let rt: Runtime;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await rt?.close();
  });

  it('is published again and run exactly once', async () => {
    const flaky = refusingFirstTaskPublish(rt.publisher, subjects.task(rt.names, 'default'));
    const server = await startServer({
      runtime: { ...rt, publisher: flaky.client },
      schedulerId: 'sched-flaky',
      taskRepublishAfterMs: 300,
      log: silent,
    });
    stops.push(() => server.stop());
    const worker = createWorker({
      runtime: rt,
      group: 'default',
      processors: { ok: async () => 'done' },
      workerId: 'w-1',
      log: silent,
      pullExpiresMs: 1000,
    });
    await worker.start();
    stops.push(() => worker.stop());
    const view = await watch(rt);
    try {
      const client = createClient(rt);
      await client.send('RegisterJob', {
        spec: { name: 'once', processor: 'ok', schedule: { manual: true } },
      });
      const { result } = await client.send('TriggerJob', { jobId: 'once', triggerId: 't1' });
      const instanceId = String(result.instanceId);
      await view.waitUntil((s) => s.instances.get(instanceId)?.status === 'succeeded', 15_000);
    } finally {
      await view.stop();
    }
    expect(flaky.refused).toHaveLength(1);
    const events = await allEvents(rt);
    const fires = ofType(events, 'JobFired');
    expect(fires).toHaveLength(1);
    expect(fires[0]!.data.dispatch).toBeDefined();
    expect(ofType(events, 'InstanceDispatched')).toHaveLength(0);
    expect(ofType(events, 'InstanceStarted')).toHaveLength(1);
    expect(ofType(events, 'InstanceSucceeded')).toHaveLength(1);
  });
});
