import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { lazyChild } from '../../src/services/worker/task-log.js';

/** A pino logger at `level` whose lines land in an array, parsed; its `child` calls are counted. */
function capture(level: string) {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level },
    { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  const child = vi.spyOn(log, 'child');
  return { log, lines, child };
}

const ids = { instanceId: 'job-1~t-1', jobId: 'job-1', attempt: 1 };

describe("a task's lazy child logger", () => {
  it('makes no pino child while nothing is logged at a level the parent writes', () => {
    const { log, lines, child } = capture('info');
    const taskLog = lazyChild(log, ids);
    taskLog.debug({ seq: 3 }, 'attempt succeeded');
    taskLog.trace('nothing');
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
  });

  it("writes a line with the task's ids, its own fields and its message", () => {
    const { log, lines } = capture('info');
    lazyChild(log, ids).warn({ seq: 7 }, 'late report refused');
    expect(lines).toEqual([
      expect.objectContaining({ ...ids, seq: 7, level: 40, msg: 'late report refused' }),
    ]);
  });

  it('makes one child for all of its lines', () => {
    const { log, lines, child } = capture('debug');
    const taskLog = lazyChild(log, ids);
    taskLog.info('one');
    taskLog.debug('two');
    taskLog.error('three');
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines.map((l) => [l['msg'], l['instanceId']])).toEqual([
      ['one', ids.instanceId],
      ['two', ids.instanceId],
      ['three', ids.instanceId],
    ]);
  });

  it('serialises an error as the parent would', () => {
    const { log, lines } = capture('info');
    lazyChild(log, ids).error({ err: new Error('boom') }, 'could not record the outcome');
    expect(lines[0]).toMatchObject({
      ...ids,
      err: { type: 'Error', message: 'boom' },
      msg: 'could not record the outcome',
    });
  });
});
