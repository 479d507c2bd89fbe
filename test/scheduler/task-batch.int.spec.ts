/**
 * A burst of one job's triggers is fired by JobFiredBatch events; the first attempts they dispatch
 * go to the workers up to MAX_TASKS_PER_MESSAGE in one task message instead of one message each.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { MAX_FIRES_PER_BATCH } from '../../src/events/job-events.js';
import { MAX_TASKS_PER_MESSAGE } from '../../src/events/task.js';
import { useNats, waitFor } from '../support/nats.js';
import {
  allEvents,
  ofType,
  taskMessages,
  triggerBurst,
  useServerThenWorker,
  waitAllSucceeded,
} from './helpers.js';

const nats = useNats();
const TRIGGERS = MAX_FIRES_PER_BATCH + 44;
const REPUBLISH_AFTER_MS = 300;

describe('the first attempts of a burst on one job', () => {
  const env = useServerThenWorker(nats, { taskRepublishAfterMs: REPUBLISH_AFTER_MS });

  it(`go out ${MAX_TASKS_PER_MESSAGE} to a task message, are not published again while they wait, and each runs once`, async () => {
    const { rt } = env;
    const ids = await triggerBurst(rt, TRIGGERS);

    // No worker yet: the tasks wait in the stream. 256 + 44 fires: 8 + 2 messages.
    const expected = [
      ...Array<number>(MAX_FIRES_PER_BATCH / MAX_TASKS_PER_MESSAGE).fill(MAX_TASKS_PER_MESSAGE),
      MAX_TASKS_PER_MESSAGE,
      TRIGGERS - MAX_FIRES_PER_BATCH - MAX_TASKS_PER_MESSAGE,
    ];
    const sizes = async () => (await taskMessages(rt)).map((tasks) => tasks.length);
    await waitFor(async () => (await sizes()).length === expected.length, {
      what: 'the burst’s task messages',
      timeoutMs: 15_000,
    });
    // Waited past the supervisor's republish time on purpose: a task it saw stored in a message of
    // several is not published again on its own (that would be a second copy, not a no-op).
    await sleep(REPUBLISH_AFTER_MS * 4);
    const messages = await taskMessages(rt);
    expect(messages.map((tasks) => tasks.length)).toEqual(expected);
    const tasks = messages.flat();
    expect(tasks.map((t) => t.instanceId).sort()).toEqual([...ids].sort());
    expect(tasks.every((t) => t.attempt === 1 && t.dispatchSeq === 0)).toBe(true);
    expect(tasks.find((t) => t.instanceId === ids[7])).toMatchObject({
      jobId: 'mail',
      processor: 'mail',
      params: { to: 'user-7' },
    });

    const ran: string[] = [];
    const worker = await env.startWorker({ mail: async (ctx) => void ran.push(ctx.instanceId) });
    await waitAllSucceeded(rt, ids);
    expect([...ran].sort()).toEqual([...ids].sort());
    const started = ofType(await allEvents(rt), 'InstanceStarted').map((e) => e.data.instanceId);
    expect(started.sort()).toEqual([...ids].sort());
    // The worker took on twice its concurrency from each message and handed the rest on.
    expect(worker.stats().handedOn).toBeGreaterThan(0);
    await waitFor(async () => (await taskMessages(rt)).length === 0, {
      what: 'every task message acked',
    });
  });
});
