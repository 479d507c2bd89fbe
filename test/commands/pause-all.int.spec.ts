/**
 * Pausing (or resuming) every job: the ids come from the stream's job subjects, and every job
 * that is not deleted is paused once, however many there are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRuntime, type Runtime } from '../../src/services/runtime.js';
import { createCommandHandler } from '../../src/services/commands/handler.js';
import { listJobIds, loadJob } from '../../src/services/commands/load.js';
import { commandOf as command } from '../support/commands.js';
import { useNats, uniquePrefix } from '../support/nats.js';
import { silent } from '../scheduler/helpers.js';

const nats = useNats();

describe('PauseJob --all', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await openRuntime({ nats: { servers: nats.url }, prefix: uniquePrefix(), log: silent });
  });
  afterAll(async () => rt?.close());

  it('pauses every job but the deleted one, once, and lists the jobs without reading their events', async () => {
    // Read straight from the stream (the CLI's path when no server answers).
    const handler = createCommandHandler(rt, { log: silent });
    const ids = Array.from({ length: 300 }, (_, i) => `job-${i}`);
    await Promise.all(
      ids.map(async (name) => {
        const reply = await handler.handle(
          command('RegisterJob', { spec: { name, processor: 'p', schedule: { manual: true } } }),
        );
        expect(reply.ok).toBe(true);
      }),
    );
    // A job with a long history: listing the jobs must not depend on it.
    for (let i = 0; i < 20; i++)
      await handler.handle(command('TriggerJob', { jobId: 'job-7', triggerId: `t${i}` }));
    expect(await handler.handle(command('DeleteJob', { jobId: 'job-3' }))).toMatchObject({
      ok: true,
    });

    expect((await listJobIds(rt.store, rt.names)).sort()).toEqual([...ids].sort());

    const paused = await handler.handle(command('PauseJob', { all: true }));
    expect(paused).toMatchObject({ ok: true, result: { jobs: 299, of: 299 } });
    const types = (paused as { appended: { type: string }[] }).appended.map((a) => a.type);
    expect(types).toEqual(Array.from({ length: 299 }, () => 'JobPaused'));
    for (const jobId of ids) {
      const { view } = await loadJob(rt.store, rt.names, rt.partitions, jobId);
      expect(view?.status, jobId).toBe(jobId === 'job-3' ? 'deleted' : 'paused');
    }

    // Again: nothing left to change, nothing appended.
    const again = await handler.handle(command('PauseJob', { all: true }));
    expect(again).toMatchObject({ ok: true, result: { jobs: 0, of: 299 }, appended: [] });
  });
});
