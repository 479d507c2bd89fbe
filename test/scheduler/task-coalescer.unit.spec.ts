import { describe, expect, it } from 'vitest';
import { MAX_TASKS_PER_MESSAGE, type TaskMessage } from '../../src/events/task.js';
import { createTaskCoalescer } from '../../src/services/scheduler/task-coalescer.js';

const task = (jobId: string, n = 0): TaskMessage => ({
  v: 1,
  instanceId: `${jobId}~${n}`,
  jobId,
  partition: 0,
  attempt: 1,
  processor: 'p',
  fireTimeMs: 1_000,
  priority: 5,
  dispatchSeq: 0,
});

/** A send that records each message's group and instance ids, stored at once. */
function recording(fail?: Error) {
  const sent: { group: string; instanceIds: string[] }[] = [];
  const send = (group: string, tasks: TaskMessage[]) => {
    sent.push({ group, instanceIds: tasks.map((t) => t.instanceId) });
    return fail ? Promise.reject(fail) : Promise.resolve();
  };
  return { sent, send };
}

describe('the first tasks of one turn of the scheduler', () => {
  it('go out as one message per worker group, in the order they came, each told it was shared', async () => {
    const { sent, send } = recording();
    const c = createTaskCoalescer(send);
    const shared = await Promise.all([
      c.publish('g1', task('a')),
      c.publish('g2', task('b')),
      c.publish('g1', task('c')),
    ]);
    expect(sent).toEqual([
      { group: 'g1', instanceIds: ['a~0', 'c~0'] },
      { group: 'g2', instanceIds: ['b~0'] },
    ]);
    expect(shared).toEqual([true, false, true]);
  });

  it('split into messages of at most MAX_TASKS_PER_MESSAGE', async () => {
    const { sent, send } = recording();
    const c = createTaskCoalescer(send);
    const n = MAX_TASKS_PER_MESSAGE + 1;
    const shared = await Promise.all(
      Array.from({ length: n }, (_, i) => c.publish('g', task(`j${i}`))),
    );
    expect(sent.map((m) => m.instanceIds.length)).toEqual([MAX_TASKS_PER_MESSAGE, 1]);
    expect(shared.at(-1)).toBe(false);
  });

  it('of different turns go out apart', async () => {
    const { sent, send } = recording();
    const c = createTaskCoalescer(send);
    await c.publish('g', task('a'));
    await c.publish('g', task('b'));
    expect(sent).toEqual([
      { group: 'g', instanceIds: ['a~0'] },
      { group: 'g', instanceIds: ['b~0'] },
    ]);
  });

  it('each fail with the publish of their message', async () => {
    const refused = new Error('no stream');
    const { send } = recording(refused);
    const c = createTaskCoalescer(send);
    const outcomes = await Promise.allSettled([
      c.publish('g', task('a')),
      c.publish('g', task('b')),
    ]);
    expect(outcomes).toEqual([
      { status: 'rejected', reason: refused },
      { status: 'rejected', reason: refused },
    ]);
  });
});
