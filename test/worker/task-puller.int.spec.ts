import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { subjects } from '../../src/events/subjects.js';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { ensureTaskConsumer } from '../../src/services/worker/task-consumer.js';
import {
  createTaskPuller,
  type TaskDelivery,
  type TaskPuller,
} from '../../src/services/worker/task-puller.js';
import { uniquePrefix, useNats, waitFor } from '../support/nats.js';
import { silent } from './helpers.js';

const nats = useNats();
const group = 'g1';

let rt: Runtime;
let puller: TaskPuller;
let consumer: string;

beforeEach(async () => {
  rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix('tp'), log: silent });
  consumer = (await ensureTaskConsumer(rt.jsm, rt.names, group, 2000, silent)).name;
  puller = createTaskPuller(rt.nc, { stream: rt.names.taskStream, consumer });
});

afterEach(async () => {
  puller.close();
  await rt.close();
});

async function publish(n: number): Promise<void> {
  for (let i = 0; i < n; i++)
    await rt.js.publish(subjects.task(rt.names, group), JSON.stringify({ n: i }));
}

async function take(batch: number, expiresMs = 1000): Promise<TaskDelivery[]> {
  const got: TaskDelivery[] = [];
  for await (const m of puller.pull({ batch, expiresMs })) got.push(m);
  return got;
}

async function consumerState() {
  const info = await rt.jsm.consumers.info(rt.names.taskStream, consumer);
  return { pending: info.num_pending, unacked: info.num_ack_pending };
}

describe('pulling tasks over one subscription', () => {
  it('ends a pull once its batch is delivered, and the next pull takes the rest', async () => {
    await publish(5);
    const first = await take(3, 5000);
    expect(first.map((m) => m.json<{ n: number }>().n)).toEqual([0, 1, 2]);
    const second = await take(3, 500);
    expect(second.map((m) => m.json<{ n: number }>().n)).toEqual([3, 4]);
    expect(second.map((m) => m.seq)).toEqual([4, 5]);
    expect(
      second.every((m) => !m.redelivered && m.subject === subjects.task(rt.names, group)),
    ).toBe(true);
  });

  it('ends a pull that finds nothing when it expires', async () => {
    const t0 = Date.now();
    expect(await take(2, 300)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('acks, hands back and terminates through the message', async () => {
    await publish(3);
    const [a, b, c] = await take(3);
    a!.ack();
    b!.nak();
    c!.term('bad');
    // Settled once: what comes after the first answer is not sent.
    a!.nak();
    await rt.nc.flush();
    const again = await take(1);
    expect(again.map((m) => [m.json<{ n: number }>().n, m.redelivered])).toEqual([[1, true]]);
    again[0]!.ack();
    await rt.nc.flush();
    await waitFor(async () => ((await consumerState()).unacked === 0 ? true : undefined), {
      what: 'nothing left unacked',
    });
    expect(await take(1, 300)).toEqual([]);
  });

  it('hands a message delivered after its pull was closed to the next pull', async () => {
    const open = puller.pull({ batch: 1, expiresMs: 5000 });
    await open.close();
    const ended: TaskDelivery[] = [];
    for await (const m of open) ended.push(m);
    expect(ended).toEqual([]);
    // The request is still waiting on the server: what it delivers comes to the next pull.
    await publish(1);
    const got = await take(1, 1000);
    expect(got.map((m) => m.json<{ n: number }>().n)).toEqual([0]);
  });
});
