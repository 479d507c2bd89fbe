/** How the client's trigger coalescer cuts, sends and answers the triggers of one turn. */
import { describe, expect, it } from 'vitest';
import {
  createTriggerCoalescer,
  type TriggerData,
} from '../../src/services/commands/trigger-coalescer.js';
import type { CommandReply } from '../../src/services/commands/handler.js';
import { CommandError } from '../../src/services/commands/client.js';

type OkReply = CommandReply & { ok: true };

/** A fake endpoint that records what it is sent and answers TriggerJobs trigger by trigger. */
function endpoint(fail?: (triggers: TriggerData[]) => Error | undefined) {
  const sent: { type: 'one' | 'many'; jobIds: string[] }[] = [];
  const coalescer = (max?: { maxTriggers?: number; maxChars?: number }) =>
    createTriggerCoalescer({
      ...max,
      sendOne: async (data): Promise<OkReply> => {
        sent.push({ type: 'one', jobIds: [data.jobId] });
        return { ok: true, result: { jobId: data.jobId, triggerId: 'own' }, appended: [] };
      },
      sendMany: async (triggers): Promise<OkReply> => {
        sent.push({ type: 'many', jobIds: triggers.map((t) => t.jobId) });
        const err = fail?.(triggers);
        if (err) throw err;
        return {
          ok: true,
          result: { triggers: triggers.map((t, i) => ({ jobId: t.jobId, triggerId: `t${i}` })) },
          appended: [...new Set(triggers.map((t) => t.jobId))].map((jobId, i) => ({
            seq: i + 1,
            type: 'JobTriggerRequestedBatch',
            jobId,
          })),
        };
      },
    });
  return { sent, coalescer };
}

describe('the trigger coalescer', () => {
  it('answers each call with its own trigger and the events of its job', async () => {
    const { sent, coalescer } = endpoint();
    const c = coalescer();
    const replies = await Promise.all(['a', 'b', 'a'].map((jobId) => c.trigger({ jobId })));
    expect(sent).toEqual([{ type: 'many', jobIds: ['a', 'b', 'a'] }]);
    expect(replies.map((r) => r.result)).toEqual([
      { jobId: 'a', triggerId: 't0' },
      { jobId: 'b', triggerId: 't1' },
      { jobId: 'a', triggerId: 't2' },
    ]);
    expect(replies[1]?.appended).toEqual([
      { seq: 2, type: 'JobTriggerRequestedBatch', jobId: 'b' },
    ]);
  });

  it('cuts a turn into commands of at most maxTriggers triggers and maxChars characters', async () => {
    const { sent, coalescer } = endpoint();
    const byCount = coalescer({ maxTriggers: 2 });
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((jobId) => byCount.trigger({ jobId })));
    expect(sent.map((s) => s.jobIds)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(sent.map((s) => s.type)).toEqual(['many', 'many', 'one']);

    sent.length = 0;
    const bySize = coalescer({ maxChars: 2 * JSON.stringify({ jobId: 'a', pad: 'xxxx' }).length });
    await Promise.all(['a', 'b', 'c'].map((jobId) => bySize.trigger({ jobId, pad: 'xxxx' })));
    expect(sent.map((s) => s.jobIds)).toEqual([['a', 'b'], ['c']]);
  });

  it('sends each trigger alone after a refusal, and fails every call on any other error', async () => {
    const refused = endpoint(() => new CommandError('NOT_FOUND', 'job "x" not found'));
    const c = refused.coalescer();
    await Promise.all(['a', 'x'].map((jobId) => c.trigger({ jobId })));
    expect(refused.sent.map((s) => s.type)).toEqual(['many', 'one', 'one']);

    const timeout = new Error('TIMEOUT');
    const lost = endpoint(() => timeout);
    const d = lost.coalescer();
    const settled = await Promise.allSettled(['a', 'b'].map((jobId) => d.trigger({ jobId })));
    expect(settled).toEqual([
      { status: 'rejected', reason: timeout },
      { status: 'rejected', reason: timeout },
    ]);
    // Not sent again: whether the command was stored is unknown, as a TriggerJob's would be.
    expect(lost.sent.map((s) => s.type)).toEqual(['many']);
  });
});
