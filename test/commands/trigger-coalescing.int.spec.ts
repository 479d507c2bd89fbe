/**
 * A client's TriggerJob calls made together go to the command endpoint as one TriggerJobs command;
 * each call is answered as a TriggerJob of its own would have been, and only a call at fault fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Subscription } from '@nats-io/transport-node';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { createCommandHandler } from '../../src/services/commands/handler.js';
import { CommandError, createClient } from '../../src/services/commands/client.js';
import { subjects } from '../../src/events/subjects.js';
import { triggersOf } from '../../src/events/batches.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { silent } from '../scheduler/helpers.js';

const nats = useNats();

describe('TriggerJob calls made together', () => {
  let rt: Runtime;
  let endpoint: { stop(): Promise<void> };
  /** The type of every command the endpoint was sent, in order. */
  const sent: string[] = [];
  let watch: Subscription;

  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
    endpoint = createCommandHandler(rt, { log: silent }).serve();
    const client = createClient(rt);
    for (const name of ['mail', 'sms'])
      await client.send('RegisterJob', {
        spec: { name, processor: 'p', schedule: { manual: true } },
      });
    const prefix = subjects.command(rt.names, '');
    watch = rt.nc.subscribe(subjects.commandsAll(rt.names), {
      callback: (_err, m) => {
        sent.push(m.subject.slice(prefix.length));
      },
    });
    await rt.nc.flush();
  });
  afterAll(async () => {
    watch?.unsubscribe();
    await endpoint?.stop();
    await rt?.close();
  });

  /** The job's stored trigger messages, and the triggers they hold (a batch's one by one). */
  const stored = async (jobId: string) => {
    const { events } = await rt.store.readHistory(`${rt.names.prefix}.evt.*.trig.${jobId}`);
    const messages = events.filter((e) => triggersOf(e.event).length > 0);
    return { messages, triggers: messages.flatMap((e) => triggersOf(e.event)) };
  };
  /** Sends what `run` sends and returns the types of the commands that reached the endpoint. */
  const commandsOf = async <T>(run: () => Promise<T>): Promise<{ result: T; types: string[] }> => {
    sent.length = 0;
    const result = await run();
    await rt.nc.flush();
    return { result, types: [...sent] };
  };

  it("go as one TriggerJobs command; a job's triggers are one event, and each call gets its own trigger", async () => {
    const before = (await stored('mail')).messages.length;
    const client = createClient(rt);
    const { result: replies, types } = await commandsOf(() =>
      Promise.all(
        Array.from({ length: 40 }, (_, n) =>
          client.send('TriggerJob', { jobId: 'mail', params: { n } }),
        ),
      ),
    );

    expect(types).toEqual(['TriggerJobs']);
    const mail = await stored('mail');
    expect(mail.messages.length - before).toBe(1);
    const batch = mail.messages.at(-1);
    expect(batch?.event.type).toBe('JobTriggerRequestedBatch');
    const triggers = batch ? triggersOf(batch.event) : [];
    expect(triggers.map((t) => t.data.params)).toEqual(
      Array.from({ length: 40 }, (_, n) => ({ n })),
    );
    // Call n is answered with trigger n: its id, its instance, the event that holds it.
    replies.forEach((reply, n) => {
      const triggerId = triggers[n]?.data.triggerId;
      expect(reply.result).toMatchObject({
        jobId: 'mail',
        triggerId,
        instanceId: `mail~t-${triggerId}`,
      });
      expect(reply.appended).toEqual([
        expect.objectContaining({ seq: batch?.seq, type: 'JobTriggerRequestedBatch' }),
      ]);
    });
  });

  it('fail only where they are at fault, with the error a TriggerJob of their own gets', async () => {
    const before = (await stored('mail')).triggers.length;
    const client = createClient(rt);
    const { result: settled, types } = await commandsOf(() =>
      Promise.allSettled([
        client.send('TriggerJob', { jobId: 'mail', params: { n: 1 } }),
        client.send('TriggerJob', { jobId: 'nope' }),
        client.send('TriggerJob', { jobId: 'sms', delay: 'soon' }),
        client.send('TriggerJob', { jobId: 'mail', params: { n: 2 } }),
      ]),
    );

    // The command was refused whole, before anything was appended; each call then went alone.
    expect(types).toEqual(['TriggerJobs', 'TriggerJob', 'TriggerJob', 'TriggerJob', 'TriggerJob']);
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    const alone = createClient(rt, { coalesceTriggers: false });
    const [unknownJob, badDelay] = await Promise.allSettled([
      alone.send('TriggerJob', { jobId: 'nope' }),
      alone.send('TriggerJob', { jobId: 'sms', delay: 'soon' }),
    ]);
    expect(settled[1]).toEqual(unknownJob);
    expect(settled[2]).toEqual(badDelay);
    expect(settled[1]?.status === 'rejected' && settled[1].reason).toBeInstanceOf(CommandError);
    expect(settled[2]).toMatchObject({ reason: { code: 'VALIDATION' } });
    // Sent alone, the two valid calls are two requests in flight at once, in either order (as
    // two TriggerJob calls without coalescing are): each is recorded once.
    const mail = await stored('mail');
    const params = mail.triggers.slice(before).map((t) => t.data.params as { n: number });
    expect(params.sort((a, b) => a.n - b.n)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('go as a TriggerJob when alone in their turn, and one by one with coalescing off', async () => {
    const { types: one } = await commandsOf(() =>
      createClient(rt).send('TriggerJob', { jobId: 'sms', triggerId: 'single' }),
    );
    expect(one).toEqual(['TriggerJob']);

    const alone = createClient(rt, { coalesceTriggers: false });
    const { types: many } = await commandsOf(() =>
      Promise.all([0, 1, 2].map((n) => alone.send('TriggerJob', { jobId: 'sms', params: { n } }))),
    );
    expect(many).toEqual(['TriggerJob', 'TriggerJob', 'TriggerJob']);
  });
});
