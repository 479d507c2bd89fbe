/**
 * TriggerJob under load: the scheduler appends fires to the job's subject while triggers arrive,
 * so a trigger decided on a fold that is a little behind must still go in on the first append
 * (a trigger commutes with fires), and a trigger for a deleted job must still be refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { createCommandHandler } from '../../src/services/commands/handler.js';
import { directJobSource, type JobSource } from '../../src/services/commands/job-index.js';
import { listJobIds } from '../../src/services/commands/load.js';
import { commandOf as command } from '../support/commands.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { silent } from '../scheduler/helpers.js';
import { triggersOf } from '../../src/events/batches.js';

const nats = useNats();

/** The stream's view of each job, except that an optimistic load answers from one event back. */
function laggingSource(rt: Runtime) {
  const direct = directJobSource(rt, () => listJobIds(rt.store, rt.names));
  const loads: boolean[] = [];
  const source: JobSource = {
    async load(jobId, opts) {
      loads.push(opts?.optimistic ?? false);
      const loaded = await direct.load(jobId);
      return opts?.optimistic ? { ...loaded, lastSeq: loaded.lastSeq - 1, checked: false } : loaded;
    },
    jobIds: () => direct.jobIds(),
  };
  return { source, loads };
}

describe('TriggerJob', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
  });
  afterAll(async () => rt?.close());

  it('goes in on the first append although the job moved on since the fold it was decided on', async () => {
    const lagging = laggingSource(rt);
    const handler = createCommandHandler(rt, { jobs: lagging.source, log: silent });
    const registered = await handler.handle(
      command('RegisterJob', {
        spec: { name: 'busy', processor: 'p', schedule: { manual: true } },
      }),
    );
    expect(registered.ok).toBe(true);
    lagging.loads.length = 0;

    const reply = await handler.handle(command('TriggerJob', { jobId: 'busy', triggerId: 'now' }));

    expect(reply).toMatchObject({ ok: true, result: { triggerId: 'now' } });
    expect(lagging.loads).toEqual([true]); // decided once, on the lagging fold: no conflict, no reload
    // On the job's trigger subject: the job's own subject, which fires are checked against, stays.
    const own = await rt.store.readHistory(`${rt.names.prefix}.evt.*.job.busy`);
    const requested = await rt.store.readHistory(`${rt.names.prefix}.evt.*.trig.busy`);
    expect(own.events.map((e) => e.event.type)).toEqual(['JobDefined']);
    expect(requested.events.map((e) => e.event.type)).toEqual(['JobTriggerRequested']);
  });

  it('is stored once when sent twice with the same trigger id', async () => {
    const handler = createCommandHandler(rt, { log: silent });
    await handler.handle(
      command('RegisterJob', {
        spec: { name: 'twice', processor: 'p', schedule: { manual: true } },
      }),
    );
    const first = await handler.handle(command('TriggerJob', { jobId: 'twice', triggerId: 't' }));
    // Sent again, decided on a view that has not folded the first: only its message id can tell.
    const direct = directJobSource(rt, async () => []);
    const unaware: JobSource = {
      async load(jobId) {
        const loaded = await direct.load(jobId);
        return { ...loaded, view: loaded.view && { ...loaded.view, pendingTriggers: {} } };
      },
      jobIds: async () => [],
    };
    const again = await createCommandHandler(rt, { log: silent, jobs: unaware }).handle(
      command('TriggerJob', { jobId: 'twice', triggerId: 't' }),
    );
    expect(first.ok && again.ok).toBe(true);
    expect(again.ok && again.appended).toEqual([
      expect.objectContaining({ type: 'JobTriggerRequested', duplicate: true }),
    ]);
    const { events } = await rt.store.readHistory(`${rt.names.prefix}.evt.*.*.twice`);
    expect(events.filter((e) => e.event.type === 'JobTriggerRequested')).toHaveLength(1);
  });

  it('is refused for a deleted job, and nothing is appended', async () => {
    const handler = createCommandHandler(rt, { log: silent });
    await handler.handle(
      command('RegisterJob', {
        spec: { name: 'gone', processor: 'p', schedule: { manual: true } },
      }),
    );
    await handler.handle(command('DeleteJob', { jobId: 'gone' }));
    const reply = await handler.handle(command('TriggerJob', { jobId: 'gone' }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const { events } = await rt.store.readHistory(`${rt.names.prefix}.evt.*.*.gone`);
    expect(events.map((e) => e.event.type)).toEqual(['JobDefined', 'JobDeleted']);
  });
});

describe('TriggerJobs', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
    const handler = createCommandHandler(rt, { log: silent });
    for (const name of ['mail', 'sms'])
      await handler.handle(
        command('RegisterJob', { spec: { name, processor: 'p', schedule: { manual: true } } }),
      );
  });
  afterAll(async () => rt?.close());

  /** The job's stored trigger messages, and the triggers they hold (a batch's one by one). */
  const stored = async (jobId: string) => {
    const { events } = await rt.store.readHistory(`${rt.names.prefix}.evt.*.trig.${jobId}`);
    const messages = events.filter((e) => triggersOf(e.event).length > 0);
    return { messages, triggers: messages.flatMap((e) => triggersOf(e.event)) };
  };

  it("appends each job's triggers as one JobTriggerRequestedBatch, over several jobs, each trigger with its params", async () => {
    const handler = createCommandHandler(rt, { log: silent });
    const triggers = Array.from({ length: 30 }, (_, i) => ({
      jobId: i % 3 === 0 ? 'sms' : 'mail',
      params: { n: i },
    }));
    const cmd = command('TriggerJobs', { triggers });
    const reply = await handler.handle(cmd);
    expect(reply).toMatchObject({ ok: true, result: { triggered: 30 } });
    const replied = (reply.ok ? reply.result.triggers : []) as { instanceId: string }[];
    expect(replied[4]).toMatchObject({ jobId: 'mail', triggerId: `${cmd.id}-4` });
    expect(replied[4]?.instanceId).toBe(`mail~t-${cmd.id}-4`);
    const mail = await stored('mail');
    const sms = await stored('sms');
    expect([mail.messages.length, sms.messages.length]).toEqual([1, 1]);
    expect(sms.messages[0]?.event.type).toBe('JobTriggerRequestedBatch');
    expect([mail.triggers.length, sms.triggers.length]).toEqual([20, 10]);
    expect(sms.triggers.map((e) => e.data.params)).toEqual(
      [0, 3, 6, 9, 12, 15, 18, 21, 24, 27].map((n) => ({ n })),
    );
    expect(sms.triggers.map((e) => e.data.triggerId)).toEqual(
      [0, 3, 6, 9, 12, 15, 18, 21, 24, 27].map((i) => `${cmd.id}-${i}`),
    );
  });

  it('is stored once when the same command is sent again (its trigger ids are the command id and the index)', async () => {
    const handler = createCommandHandler(rt, { log: silent });
    const before = await stored('sms');
    const cmd = command('TriggerJobs', {
      triggers: [{ jobId: 'sms' }, { jobId: 'sms' }, { jobId: 'sms', triggerId: 'own-1' }],
    });
    const first = await handler.handle(cmd);
    const again = await handler.handle(cmd);
    expect(first.ok && again.ok).toBe(true);
    const after = await stored('sms');
    expect(after.messages.length).toBe(before.messages.length + 2);
    expect(after.triggers.length).toBe(before.triggers.length + 3);
  });

  it('is refused whole when one trigger names a job that does not exist, naming it, and nothing is appended', async () => {
    const handler = createCommandHandler(rt, { log: silent });
    const before = (await stored('mail')).messages.length;
    const reply = await handler.handle(
      command('TriggerJobs', {
        triggers: [{ jobId: 'mail' }, { jobId: 'mail' }, { jobId: 'nope' }],
      }),
    );
    expect(reply).toMatchObject({
      ok: false,
      error: {
        code: 'VALIDATION',
        issues: [{ path: 'data.triggers.2.jobId', message: 'job "nope" not found' }],
      },
    });
    expect((await stored('mail')).messages.length).toBe(before);
  });

  it('is refused for more than 1,000 triggers, or none, naming the field', async () => {
    const handler = createCommandHandler(rt, { log: silent });
    for (const n of [0, 1001]) {
      const reply = await handler.handle(
        command('TriggerJobs', { triggers: Array.from({ length: n }, () => ({ jobId: 'mail' })) }),
      );
      expect(reply).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION', issues: [{ path: 'data.triggers' }] },
      });
    }
  });
});
