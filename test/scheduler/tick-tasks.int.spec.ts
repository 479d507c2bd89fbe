/**
 * Many jobs on one tick are fired one by one (a JobFired each), but the first attempts fired in one
 * turn of the scheduler go to the workers together: per worker group, up to MAX_TASKS_PER_MESSAGE
 * in one task message instead of one message each.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MAX_TASKS_PER_MESSAGE } from '../../src/events/task.js';
import { createClient } from '../../src/services/commands/client.js';
import { useNats, waitFor } from '../support/nats.js';
import {
  allEvents,
  ofType,
  taskMessages,
  useServerThenWorker,
  waitAllSucceeded,
} from './helpers.js';

const nats = useNats();
const JOBS = 40;
const REPUBLISH_AFTER_MS = 300;

describe('the first attempts of many jobs on one tick', () => {
  const env = useServerThenWorker(nats, { taskRepublishAfterMs: REPUBLISH_AFTER_MS });

  it('go out several to a task message, are not published again while they wait, and each runs once', async () => {
    const { rt } = env;
    const client = createClient(rt);
    const at = new Date(Date.now() + 4000).toISOString();
    const names = Array.from({ length: JOBS }, (_, i) => `tick-${i}`);
    await Promise.all(
      names.map((name) =>
        client.send('RegisterJob', { spec: { name, processor: 'p', schedule: { at } } }),
      ),
    );

    // No worker yet: the tasks wait in the stream.
    const tasks = async () => (await taskMessages(rt)).flat();
    await waitFor(async () => (await tasks()).length >= JOBS, {
      what: 'a task for every job',
      timeoutMs: 15_000,
    });
    // Waited past the supervisor's republish time on purpose: a task it saw stored in a message of
    // several is not published again on its own.
    await sleep(REPUBLISH_AFTER_MS * 4);
    const messages = await taskMessages(rt);
    expect(
      messages
        .flat()
        .map((t) => t.jobId)
        .sort(),
    ).toEqual([...names].sort());
    expect(messages.length).toBeLessThan(JOBS);
    expect(Math.max(...messages.map((m) => m.length))).toBeLessThanOrEqual(MAX_TASKS_PER_MESSAGE);

    const ran: string[] = [];
    await env.startWorker({ p: async (ctx) => void ran.push(ctx.jobId) });
    const ids = messages.flat().map((t) => t.instanceId);
    await waitAllSucceeded(rt, ids);
    expect([...ran].sort()).toEqual([...names].sort());
    const started = ofType(await allEvents(rt), 'InstanceStarted').map((e) => e.data.instanceId);
    expect(started.sort()).toEqual([...ids].sort());
  });
});
