import { describe, expect, it } from 'vitest';
import { inNextTurn } from '../../src/services/worker/next-turn.js';

const turnEnded = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('inNextTurn', () => {
  it('resumes everything asked for in one turn in the next, in order, after the microtasks', async () => {
    const calls: string[] = [];
    inNextTurn({ resume: () => calls.push('a') });
    void Promise.resolve().then(() => calls.push('microtask'));
    inNextTurn({ resume: () => calls.push('b') });
    expect(calls).toEqual([]);
    await turnEnded();
    expect(calls).toEqual(['microtask', 'a', 'b']);
  });

  it('resumes what is asked for while resuming in the turn after', async () => {
    const calls: string[] = [];
    inNextTurn({
      resume: () => {
        calls.push('first');
        inNextTurn({ resume: () => calls.push('second') });
      },
    });
    await turnEnded();
    expect(calls).toEqual(['first']);
    await turnEnded();
    expect(calls).toEqual(['first', 'second']);
  });

  it('still resumes the others when one throws, and rethrows that error on its own', async () => {
    const thrown = new Promise<unknown>((resolve) => process.once('uncaughtException', resolve));
    const calls: string[] = [];
    const boom = new Error('boom');
    inNextTurn({
      resume: () => {
        throw boom;
      },
    });
    inNextTurn({ resume: () => calls.push('after') });
    await turnEnded();
    expect(calls).toEqual(['after']);
    await expect(thrown).resolves.toBe(boom);
  });
});
